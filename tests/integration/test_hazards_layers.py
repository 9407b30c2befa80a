"""Layer hazards the unit tables do not reach (hazards.md 7 and 8).

7: special files applied by a real unprivileged process (uid/gid 65534, dropped in a subprocess), not a
   root process told to pretend. 8: the per-layer entry cap through every way a layer comes in — load,
   pull from a real docker-registry, import — each refused with a clear error, the store consistent and
   what it held before still there.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.cli.main import run
from dockyard.layers import scan
from dockyard.store import Store
from tests.helpers.archives import Img, layer_tar, legacy_archive
from tests.helpers.hazards import seed, state
from tests.helpers.registry import RegistryServer
from tests.helpers.registry_images import put_image

pytestmark = pytest.mark.integration

NOBODY = 65534
# -- 7: special files as a real non-root user -------------------------------------------------------
# The interpreter lives under root's home (0700), so the child starts as root, imports what it needs,
# and only then drops to 65534 for good before touching the layer.
APPLY = """
import json, os, sys
from pathlib import Path
from dockyard.layers.apply import apply_layer
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
with open(sys.argv[1], "rb") as f:
    stats = apply_layer(f, Path(sys.argv[2]))
print(json.dumps({"warnings": stats.warnings, "skipped": stats.skipped, "entries": stats.entries}))
"""


def _special_layer() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name: str, type: bytes = tarfile.REGTYPE, data: bytes = b"", **attrs: object) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mode = type, len(data), 0o644
            for key, value in attrs.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data) if data else None)

        add("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
        add("dev/loop0", tarfile.BLKTYPE, mode=0o660, devmajor=7, devminor=0)
        add("run/fifo", tarfile.FIFOTYPE, mode=0o640)
        add("bin/suid", data=b"#!suid", mode=0o4755, uid=NOBODY, gid=NOBODY)
        add("bin/sgid", data=b"#!sgid", mode=0o2755, uid=0, gid=0)
        add("etc/owned", data=b"owned", uid=4321, gid=4321)
        add("etc/user-xattr", data=b"u", uid=NOBODY, gid=NOBODY, pax_headers={"SCHILY.xattr.user.dy": "1"})
        add("etc/trusted-xattr", data=b"t", uid=NOBODY, gid=NOBODY,
            pax_headers={"SCHILY.xattr.trusted.dy": "1", "SCHILY.xattr.security.capability": "x"})
        add("after", data=b"still extracted")
    return buf.getvalue()


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("dropping to uid 65534 needs root")
    # pytest's tmp_path sits under a 0700 root directory: the unprivileged child could not reach it.
    path = Path(tempfile.mkdtemp(prefix="dyhz-nobody-"))
    path.chmod(0o755)
    os.chown(path, NOBODY, NOBODY)
    yield path
    shutil.rmtree(path)


def test_special_files_as_non_root_are_skipped_or_stripped_with_warnings(nobody_dir: Path) -> None:
    blob = nobody_dir / "layer.tar"
    blob.write_bytes(_special_layer())
    root = nobody_dir / "rootfs"
    root.mkdir()
    os.chown(root, NOBODY, NOBODY)
    done = subprocess.run([sys.executable, "-c", APPLY, str(blob), str(root)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr  # never aborts the whole extraction
    result = json.loads(done.stdout)
    warnings = "\n".join(result["warnings"])
    assert "device nodes skipped" in warnings
    assert "ownership not applied" in warnings
    assert "trusted.* skipped" in warnings and "security.* skipped" in warnings
    assert result["skipped"] == 2 and result["entries"] == 9
    assert not (root / "dev" / "null").exists() and not (root / "dev" / "loop0").exists()
    assert stat.S_ISFIFO((root / "run" / "fifo").lstat().st_mode)
    assert (root / "after").read_bytes() == b"still extracted"
    for name in ("bin/suid", "bin/sgid", "etc/owned"):
        st = (root / name).lstat()
        # Set-ID bits may stay (as rootless containerd keeps them), but they can only ever name the
        # unprivileged user itself: the ownership the layer asked for (0, 4321) was not applied.
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    assert (root / "bin" / "suid").read_bytes() == b"#!suid"


# -- 8: entry-count cap at every way in -------------------------------------------------------------
CAP = 40


def _many_entries(n: int) -> bytes:
    return layer_tar({f"e/{i:05d}": b"" for i in range(n)})


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(scan, "MAX_LAYER_ENTRIES", CAP)
    return CAP


def test_default_entry_cap_is_on() -> None:
    tar = scan.TarStream(io.BytesIO(b""))
    assert tar._max_entries == scan.MAX_LAYER_ENTRIES and 100_000 <= scan.MAX_LAYER_ENTRIES <= 10_000_000


def _via_load(tmp_path: Path, layer: bytes, reg: RegistryServer) -> list[str]:
    path = tmp_path / "many.tar"
    path.write_bytes(legacy_archive([Img([layer], ["dyhz/many:1"], layer_compression="gzip")]).build())
    return ["load", "-i", str(path)]


def _via_pull(tmp_path: Path, layer: bytes, reg: RegistryServer) -> list[str]:
    put_image(reg, "dyhz/many", "1", [layer])
    return ["pull", "-q", f"{reg.host}/dyhz/many:1"]


def _via_import(tmp_path: Path, layer: bytes, reg: RegistryServer) -> list[str]:
    path = tmp_path / "many-rootfs.tar"
    path.write_bytes(layer)
    return ["import", str(path), "dyhz/many:1"]


WAYS: list[tuple[str, Callable[[Path, bytes, RegistryServer], list[str]]]] = [
    ("load", _via_load), ("pull", _via_pull), ("import", _via_import)]


@pytest.mark.parametrize("way", [w for _, w in WAYS], ids=[n for n, _ in WAYS])
def test_layer_with_too_many_entries_is_refused(
    way: Callable[[Path, bytes, RegistryServer], list[str]], small_cap: int, store_root: Path, tmp_path: Path,
    registry: RegistryServer, capsys: pytest.CaptureFixture[str],
) -> None:
    seed(store_root, tmp_path)
    before = state(store_root)
    argv = way(tmp_path, _many_entries(small_cap + 5), registry)
    capsys.readouterr()
    code = run("dockyard", argv)
    out, err = capsys.readouterr()
    assert code == 1
    assert f"layer entry count exceeds the limit of {small_cap} entries" in err, err
    assert state(store_root) == before
    with Store.open(store_root) as store:
        store.gc()  # whatever the refused run left is unreferenced and collectable
        assert [i.key for i in store.content.ingests() if not i.locked] == []
    assert state(store_root) == before
    # Within the cap, the same way in works.
    argv = way(tmp_path, _many_entries(small_cap - 5), registry)
    assert run("dockyard", argv) == 0
