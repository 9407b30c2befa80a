"""Writing a directory tree as a deterministic tar (docker export, images built from directories).

The output follows what Docker's Go writer produces: POSIX ustar headers with PAX extended headers only
where a field does not fit, Go-style modes that include the file type bits (``0o100644``, ``0o40755``,
``0o120777``; moby's ``fillGo18FileTypeBits``), directories named with a trailing ``/``, hardlinks as
type ``1`` entries naming the first path of the inode, and an end marker of exactly two zero blocks (no
padding to a 10 KiB record). Unlike Docker: owners are numeric only (empty uname/gname), entries are
sorted by name bytes at every level, and mtimes are whole seconds, optionally clamped.

The tree is walked through directory file descriptors with ``O_NOFOLLOW``: a symlink in the tree is
written as a symlink and never followed, so a hostile tree cannot make us read files outside it.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from pathlib import Path
from typing import Protocol

from .. import errors
from ..digest import CHUNK

BLOCK = 512
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# Producers keep file capabilities (formats.md §9.4); other xattrs are not part of an image.
_KEPT_XATTRS = ("security.capability",)


class Writable(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int | None: ...


def _header(info: tarfile.TarInfo, full_mode: int) -> bytes:
    """PAX-format header bytes with Go's mode field (type bits included) and a fixed checksum."""
    buf = bytearray(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
    header = len(buf) - BLOCK  # the ustar block comes after any PAX extended header
    buf[header + 100 : header + 108] = b"%07o\0" % full_mode
    buf[header + 148 : header + 156] = b" " * 8
    checksum = sum(buf[header : header + BLOCK])
    buf[header + 148 : header + 156] = b"%06o\0 " % checksum
    return bytes(buf)


def _xattrs(fd_path: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for key in _KEPT_XATTRS:
        try:
            value = os.getxattr(fd_path, key)
        except OSError as exc:
            if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES):
                continue
            raise
        found[f"SCHILY.xattr.{key}"] = value.decode("utf-8", "surrogateescape")
    return found


class _TreeWriter:
    def __init__(self, sink: Writable, mtime_clamp: int | None) -> None:
        self.sink = sink
        self.mtime_clamp = mtime_clamp
        self.first_path: dict[tuple[int, int], str] = {}  # inode -> first archive path
        self.entries = 0

    def mtime(self, st: os.stat_result) -> int:
        seconds = int(st.st_mtime_ns // 1_000_000_000)
        if self.mtime_clamp is not None and seconds > self.mtime_clamp:
            return self.mtime_clamp
        return seconds

    def info(self, name: str, st: os.stat_result) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        info.mtime = self.mtime(st)
        return info

    def walk(self, dir_fd: int, prefix: str) -> None:
        """Emit every entry below ``dir_fd`` (whose archive path is ``prefix``), sorted by name bytes."""
        for name in sorted(os.listdir(dir_fd), key=os.fsencode):
            self.emit_path(dir_fd, name, prefix + name, recurse=True)

    def emit_path(self, dir_fd: int, name: str, path: str, *, recurse: bool) -> None:
        """Emit the entry ``name`` in ``dir_fd`` as ``path`` (and, for a directory, its tree if ``recurse``)."""
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                st = os.fstat(fd)
                info = self.info(path + "/", st)
                info.type = tarfile.DIRTYPE
                info.pax_headers = _xattrs(f"/proc/self/fd/{fd}")
                self.emit(info, st.st_mode)
                if recurse:
                    self.walk(fd, path + "/")
            finally:
                os.close(fd)
            return
        if stat.S_ISSOCK(mode):
            return  # sockets cannot be archived (Go's archive/tar refuses them; moby skips)
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.first_path:
            info = self.info(path, st)
            info.type = tarfile.LNKTYPE
            info.linkname = self.first_path[key]
            self.emit(info, st.st_mode)
            return
        if st.st_nlink > 1:
            self.first_path[key] = path
        if stat.S_ISREG(mode):
            self.regular(dir_fd, name, path)
        elif stat.S_ISLNK(mode):
            info = self.info(path, st)
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(name, dir_fd=dir_fd)
            self.emit(info, mode)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            info = self.info(path, st)
            info.type = (
                tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE if stat.S_ISBLK(mode) else tarfile.FIFOTYPE
            )
            if not stat.S_ISFIFO(mode):
                info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.emit(info, mode)

    def whiteout(self, path: str) -> None:
        """An empty ``.wh.`` file for ``path`` (mode 0600, owner 0, mtime 0: reproducible)."""
        parent, _, base = path.rpartition("/")
        info = tarfile.TarInfo(f"{parent}/.wh.{base}" if parent else f".wh.{base}")
        info.mode, info.mtime, info.uname, info.gname = 0o600, 0, "", ""
        self.sink.write(_header(info, 0o600))
        self.entries += 1

    def regular(self, dir_fd: int, name: str, path: str) -> None:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise errors.Conflict(f"{path!r} changed while it was being archived")
            info = self.info(path, st)
            info.size = st.st_size
            info.pax_headers = _xattrs(f"/proc/self/fd/{fd}")
            self.emit(info, st.st_mode)
            left = st.st_size
            while left > 0:
                chunk = os.read(fd, min(CHUNK, left))
                if not chunk:
                    raise errors.Conflict(f"{path!r} shrank while it was being archived")
                self.sink.write(chunk)
                left -= len(chunk)
            if st.st_size % BLOCK:
                self.sink.write(bytes(BLOCK - st.st_size % BLOCK))
        finally:
            os.close(fd)

    def emit(self, info: tarfile.TarInfo, st_mode: int) -> None:
        self.sink.write(_header(info, stat.S_IFMT(st_mode) | stat.S_IMODE(st_mode)))
        self.entries += 1


def write_tree_tar(root: Path, sink: Writable, *, mtime_clamp: int | None = None) -> int:
    """Write the contents of ``root`` (not ``root`` itself) to ``sink`` as a tar; returns the entry count.

    ``mtime_clamp`` (e.g. ``SOURCE_DATE_EPOCH``) caps every mtime, for reproducible output.
    """
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        writer = _TreeWriter(sink, mtime_clamp)
        writer.walk(root_fd, "")
    finally:
        os.close(root_fd)
    sink.write(bytes(2 * BLOCK))
    return writer.entries
