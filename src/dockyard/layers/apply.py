"""Applying a layer tar to a directory, safely (formats.md §9.3, hazards 1–8 and 12).

Every filesystem call is relative to a directory file descriptor and never follows a symlink in the
last component; parents are walked one component at a time from the root, following symlinks *as if
the root were ``/``* (absolute targets restart at the root, ``..`` stops there). So no entry, link or
whiteout can touch anything outside the root, whatever symlinks earlier entries or layers planted.
Metadata is set through file descriptors of the exact inode (``O_PATH | O_NOFOLLOW``), never by path,
so a chmod can never land on a symlink's target (CVE-2021-32760).

``tarfile`` is not used: its ``data`` filter refuses what real layers contain (absolute symlinks,
links leaving a directory) and has had bypasses; the stream is read by ``scan.TarStream``.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import errors
from ..digest import CHUNK, Digest, Readable
from .scan import (
    BLOCKDEV,
    CHARDEV,
    DIRECTORY,
    FIFO,
    HARDLINK,
    OPAQUE_WHITEOUT,
    REGULAR,
    SYMLINK,
    WHITEOUT_PREFIX,
    TarEntry,
    TarStream,
    content_size_of,
)

_MAX_SYMLINK_HOPS = 40  # Linux's MAXSYMLINKS
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_XATTR_TOLERATED = (errno.ENOTSUP, errno.EPERM, errno.EACCES, errno.EOPNOTSUPP)

RealPath = tuple[str, ...]  # a path inside the root after resolution, as components


@dataclass
class ApplyStats:
    diff_id: Digest  # sha256 of every byte read, so callers can check it against the config
    size: int  # bytes of the uncompressed stream
    entries: int = 0
    content_size: int = 0  # Docker's layer size for this tar (see scan.content_size_of)
    whiteouts: int = 0
    skipped: int = 0  # device nodes (rootless), AUFS metadata, the root entry
    warnings: list[str] = field(default_factory=list)


def clean_name(name: str) -> RealPath:
    """Components of a tar name made root-relative; ``()`` for the root itself.

    Like Go's ``filepath.Clean`` then moby's breakout check: ``/x``, ``./x`` and ``/../x`` become ``x``;
    a name that still climbs out (``../x``, ``a/../../x``) raises ``BreakoutError``.
    """
    cleaned = posixpath.normpath(name) if name else "."
    if cleaned.startswith("/"):
        # A rooted path: normpath already stopped ".." at "/", and "//x" is just "/x" here.
        cleaned = cleaned.lstrip("/") or "."
    if cleaned == ".":
        return ()
    if cleaned == ".." or cleaned.startswith("../"):
        raise errors.BreakoutError(f"invalid path: {name!r} points outside the root")
    return tuple(cleaned.split("/"))


def _display(parts: RealPath) -> str:
    return "/".join(parts) or "."


class _Resolver:
    """Walks paths inside the root one component at a time, with chroot semantics."""

    def __init__(self, root_fd: int, on_created_dir) -> None:
        self._root_fd = root_fd
        self._on_created_dir = on_created_dir

    @contextmanager
    def directory(self, parts: RealPath, *, create: bool) -> Iterator[tuple[int, RealPath] | None]:
        """An fd of the directory ``parts`` names (and its resolved path), or ``None`` if it is missing
        and ``create`` is false. Missing components are created as 0755 directories when ``create``."""
        fds: list[int] = []  # open fds for the resolved components below the root
        names: list[str] = []
        pending = list(reversed(parts))
        hops = 0
        try:
            while pending:
                component = pending.pop()
                if component in ("", "."):
                    continue
                if component == "..":
                    if fds:  # clamp at the root
                        os.close(fds.pop())
                        names.pop()
                    continue
                current = fds[-1] if fds else self._root_fd
                try:
                    st = os.stat(component, dir_fd=current, follow_symlinks=False)
                except FileNotFoundError:
                    if not create:
                        yield None
                        return
                    os.mkdir(component, 0o755, dir_fd=current)
                    self._on_created_dir((*names, component))
                    st = os.stat(component, dir_fd=current, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    hops += 1
                    if hops > _MAX_SYMLINK_HOPS:
                        raise errors.DataCorrupt(
                            f"too many levels of symbolic links resolving {_display(parts)!r}"
                        )
                    target = os.readlink(component, dir_fd=current)
                    if target.startswith("/"):
                        while fds:
                            os.close(fds.pop())
                        names.clear()
                    pending.extend(reversed(target.split("/")))
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    raise errors.DataCorrupt(
                        f"cannot apply layer: {_display((*names, component))!r} is not a directory"
                    )
                fds.append(os.open(component, _DIR_FLAGS, dir_fd=current))
                names.append(component)
            yield (fds[-1] if fds else self._root_fd), tuple(names)
        finally:
            for fd in fds:
                os.close(fd)


def _lstat(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _remove(parent_fd: int, name: str) -> None:
    """Remove ``name`` (recursively for a directory) without following any symlink."""
    st = _lstat(name, parent_fd)
    if st is None:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent_fd)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    try:
        if os.geteuid() != 0 and st.st_mode & 0o700 != 0o700:
            os.fchmod(fd, 0o700)  # without privilege a read-only directory cannot be emptied
        for child in os.listdir(fd):
            _remove(fd, child)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)


@contextmanager
def _inode(parent_fd: int, name: str) -> Iterator[tuple[int, os.stat_result]]:
    """An ``O_PATH`` fd for exactly the inode at ``name`` (a symlink itself, never its target)."""
    fd = os.open(name, _PATH_FLAGS, dir_fd=parent_fd)
    try:
        yield fd, os.fstat(fd)
    finally:
        os.close(fd)


def _proc_fd(fd: int) -> str:
    # /proc/self/fd/N names the inode the fd holds; the kernel does not re-resolve any path through it.
    return f"/proc/self/fd/{fd}"


class _Applier:
    def __init__(self, root_fd: int, rootless: bool, stats: ApplyStats) -> None:
        self.root_fd = root_fd
        self.rootless = rootless
        self.stats = stats
        self.unpacked: set[RealPath] = set()  # paths this layer created: opaque markers keep them
        self.dir_metadata: dict[RealPath, TarEntry] = {}  # mode and times applied after the layer
        self.resolver = _Resolver(root_fd, self.unpacked.add)
        self._warned: set[str] = set()

    def warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.stats.warnings.append(message)

    # --- entries -----------------------------------------------------------------------------------

    def apply(self, entry: TarEntry, tar: TarStream) -> None:
        parts = clean_name(entry.name)
        if not parts:
            self.stats.skipped += 1  # the root itself (also a "." symlink, CVE-2021-29136)
            return
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            self.whiteout(parts)
            return
        with self.resolver.directory(parts[:-1], create=True) as found:
            assert found is not None
            parent_fd, parent_parts = found
            real = (*parent_parts, base)
            if entry.type == DIRECTORY:
                self.directory(parent_fd, base, real, entry)
                return
            if entry.type in (CHARDEV, BLOCKDEV) and self.rootless:
                self.stats.skipped += 1
                self.warn("devices", "device nodes skipped: they need root privileges to create")
                return
            if entry.type not in (REGULAR, SYMLINK, HARDLINK, CHARDEV, BLOCKDEV, FIFO):
                raise errors.Unsupported(f"unhandled tar entry type {entry.type!r} for {entry.name!r}")
            existing = _lstat(base, parent_fd)
            if existing is not None:
                _remove(parent_fd, base)
            self.unpacked.add(real)
            if entry.type == REGULAR:
                self.regular(parent_fd, base, entry, tar)
            elif entry.type == SYMLINK:
                os.symlink(entry.linkname, base, dir_fd=parent_fd)  # verbatim, never followed here
                self.metadata(parent_fd, base, entry)
            elif entry.type == HARDLINK:
                self.hardlink(parent_fd, base, entry)
            elif entry.type == FIFO:
                os.mkfifo(base, 0o600, dir_fd=parent_fd)
                self.metadata(parent_fd, base, entry)
            else:
                kind = stat.S_IFCHR if entry.type == CHARDEV else stat.S_IFBLK
                os.mknod(base, kind | 0o600, os.makedev(entry.devmajor, entry.devminor), dir_fd=parent_fd)
                self.metadata(parent_fd, base, entry)

    def directory(self, parent_fd: int, base: str, real: RealPath, entry: TarEntry) -> None:
        existing = _lstat(base, parent_fd)
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            _remove(parent_fd, base)
            existing = None
        if existing is None:
            os.mkdir(base, 0o700, dir_fd=parent_fd)
        self.unpacked.add(real)
        fd = os.open(base, _DIR_FLAGS, dir_fd=parent_fd)
        try:
            self.chown(fd, entry)
            self.xattrs(fd, entry)
        finally:
            os.close(fd)
        # Mode and times wait until the layer is done: a read-only directory must still take entries,
        # and adding entries would change its mtime again.
        self.dir_metadata[real] = entry

    def regular(self, parent_fd: int, base: str, entry: TarEntry, tar: TarStream) -> None:
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=parent_fd)
        try:
            while chunk := tar.read(CHUNK):
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            self.chown(fd, entry)
            os.fchmod(fd, entry.mode)  # after chown, which clears setuid/setgid
            self.xattrs(fd, entry)
            os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
        finally:
            os.close(fd)

    def hardlink(self, parent_fd: int, base: str, entry: TarEntry) -> None:
        target = clean_name(entry.linkname)
        if not target:
            raise errors.BreakoutError(f"invalid hardlink {entry.name!r} -> {entry.linkname!r}")
        with self.resolver.directory(target[:-1], create=False) as found:
            if found is None or _lstat(target[-1], found[0]) is None:
                raise errors.DataCorrupt(
                    f"hardlink {entry.name!r} -> {entry.linkname!r}: target does not exist"
                )
            target_fd, _ = found
            st = _lstat(target[-1], target_fd)
            assert st is not None
            if stat.S_ISDIR(st.st_mode):
                raise errors.DataCorrupt(f"hardlink {entry.name!r} -> {entry.linkname!r}: target is a directory")
            # linkat without AT_SYMLINK_FOLLOW: a symlink target is linked itself, never what it points at.
            os.link(target[-1], base, src_dir_fd=target_fd, dst_dir_fd=parent_fd, follow_symlinks=False)
        self.metadata(parent_fd, base, entry)

    def metadata(self, parent_fd: int, name: str, entry: TarEntry) -> None:
        """Owner, then mode, then times, on the inode at ``name`` itself (lchown/lchmod/lutimes)."""
        with _inode(parent_fd, name) as (fd, st):
            is_link = stat.S_ISLNK(st.st_mode)
            if not self.rootless:
                os.chown(name, entry.uid, entry.gid, dir_fd=parent_fd, follow_symlinks=False)
            elif (entry.uid, entry.gid) != (os.geteuid(), os.getegid()):
                self.warn("chown", "file ownership not applied: not running as root")
            if not is_link:
                # The O_PATH fd pins this inode; chmod through /proc reaches it and nothing else.
                os.chmod(_proc_fd(fd), entry.mode)
                self.xattrs(fd, entry, via_proc=True)
            os.utime(name, ns=(entry.mtime_ns, entry.mtime_ns), dir_fd=parent_fd, follow_symlinks=False)

    def chown(self, fd: int, entry: TarEntry) -> None:
        if not self.rootless:
            os.fchown(fd, entry.uid, entry.gid)
        elif (entry.uid, entry.gid) != (os.geteuid(), os.getegid()):
            self.warn("chown", "file ownership not applied: not running as root")

    def xattrs(self, fd: int, entry: TarEntry, *, via_proc: bool = False) -> None:
        for key, value in entry.xattrs.items():
            if self.rootless and key.startswith(("trusted.", "security.")):
                self.warn(f"xattr:{key.split('.')[0]}", f"extended attributes {key.split('.')[0]}.* skipped: not running as root")
                continue
            try:
                os.setxattr(_proc_fd(fd) if via_proc else fd, key, value)
            except OSError as exc:
                if exc.errno not in _XATTR_TOLERATED:
                    raise
                self.warn(f"xattr-failed:{key}", f"extended attribute {key} not applied: {exc.strerror}")

    # --- whiteouts ---------------------------------------------------------------------------------

    def whiteout(self, parts: RealPath) -> None:
        base = parts[-1]
        if base == OPAQUE_WHITEOUT:
            self.stats.whiteouts += 1
            with self.resolver.directory(parts[:-1], create=False) as found:
                if found is not None:
                    self.hide_lower(found[0], found[1])
            return
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            self.stats.skipped += 1  # AUFS metadata such as .wh..wh.plnk
            return
        hidden = base[len(WHITEOUT_PREFIX):]
        if not hidden:
            raise errors.DataCorrupt(f"invalid whiteout {_display(parts)!r}: no name")
        if hidden in (".", ".."):
            raise errors.BreakoutError(f"invalid whiteout {_display(parts)!r}")
        self.stats.whiteouts += 1
        with self.resolver.directory(parts[:-1], create=False) as found:
            if found is None:
                return
            parent_fd, parent_parts = found
            if (*parent_parts, hidden) in self.unpacked:
                return  # whiteouts hide lower layers only
            _remove(parent_fd, hidden)

    def hide_lower(self, dir_fd: int, dir_parts: RealPath) -> None:
        """Remove everything under a directory that this layer did not unpack (at any depth)."""
        for child in os.listdir(dir_fd):
            real = (*dir_parts, child)
            if real not in self.unpacked:
                _remove(dir_fd, child)
                continue
            st = _lstat(child, dir_fd)
            if st is not None and stat.S_ISDIR(st.st_mode):
                fd = os.open(child, _DIR_FLAGS, dir_fd=dir_fd)
                try:
                    self.hide_lower(fd, real)
                finally:
                    os.close(fd)

    # --- after the layer ---------------------------------------------------------------------------

    def finish_directories(self) -> None:
        # Deepest first, so setting a child's times does not disturb its parent's afterwards.
        for real, entry in sorted(self.dir_metadata.items(), key=lambda item: -len(item[0])):
            with self.resolver.directory(real[:-1], create=False) as found:
                if found is None:
                    continue  # removed again later in the layer
                parent_fd, _ = found
                st = _lstat(real[-1], parent_fd)
                if st is None or not stat.S_ISDIR(st.st_mode):
                    continue
                fd = os.open(real[-1], _DIR_FLAGS, dir_fd=parent_fd)
                try:
                    os.fchmod(fd, entry.mode)
                    os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
                finally:
                    os.close(fd)


def apply_layer(
    stream: Readable,
    root: Path,
    *,
    rootless: bool | None = None,
    max_entries: int | None = None,
) -> ApplyStats:
    """Apply an uncompressed layer tar to the directory ``root`` (which must exist).

    ``rootless`` (default: not running as root) skips device nodes, ownership and trusted/security
    xattrs, recording warnings instead. Raises ``BreakoutError`` for any entry or link that would leave
    the root (nothing outside is touched), ``DataCorrupt`` for a malformed tar or impossible entry. The
    stream is read to EOF, and ``diff_id`` in the result covers every byte.
    """
    if rootless is None:
        rootless = os.geteuid() != 0
    tar = TarStream(stream, max_entries=max_entries)
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        stats = ApplyStats(diff_id=tar.digest, size=0)
        applier = _Applier(root_fd, rootless, stats)
        for entry in tar.entries():
            stats.entries += 1
            stats.content_size += content_size_of(entry)
            applier.apply(entry, tar)
        applier.finish_directories()
        tar.finish()
    finally:
        os.close(root_fd)
    stats.diff_id = tar.digest
    stats.size = tar.size
    return stats
