"""Real root filesystems made from Debian's busybox-static, for tests and the demo."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")


def busybox_applets() -> list[str]:
    out = subprocess.run([str(BUSYBOX), "--list"], check=True, capture_output=True, text=True).stdout
    return sorted(a for a in out.split() if a and "/" not in a)


def make_busybox_rootfs(root: Path) -> Path:
    """Lay out a minimal runnable busybox root filesystem under ``root``."""
    for d in ("bin", "etc", "tmp", "root", "proc", "sys", "dev", "usr/bin", "var"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for applet in busybox_applets():
        link = root / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return root


def tar_directory(root: Path, dest: Path, *, mtime: int | None = 0) -> Path:
    """Tar ``root``'s contents (sorted, numeric owners) into ``dest``, as `tar -C root -c .` would."""

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if mtime is not None:
            info.mtime = mtime
        return info

    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                full = Path(dirpath) / name
                tar.add(full, arcname=str(full.relative_to(root)), recursive=False, filter=normalise)
    return dest


def make_busybox_tar(dest: Path, workdir: Path) -> Path:
    rootfs = make_busybox_rootfs(workdir / "rootfs")
    return tar_directory(rootfs, dest)


def tar_of_files(dest: Path, files: dict[str, bytes | str], *, symlinks: dict[str, str] | None = None) -> Path:
    """A small tar with the given regular files (and symlinks), for precise size and content checks."""
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, target in sorted((symlinks or {}).items()):
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return dest


def unique_busybox_tar(tmp_path: Path, token: str) -> Path:
    """busybox plus a file unique to this run, so no other image on the engine shares the base layer."""
    root = make_busybox_rootfs(tmp_path / "rootfs")
    (root / "etc" / "dyr-token").write_text(token + "\n")
    return tar_directory(root, tmp_path / "rootfs.tar")
