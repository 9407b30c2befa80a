"""The change set between two trees, written as a layer tar with whiteouts (formats.md §9.4).

Both trees are walked together in sorted order (moby ``ChangesDirs``, containerd ``fs.Changes``):
- a path only in ``upper`` is added (a directory with its whole subtree);
- a path in both is changed when its type, mode, owner or device differ, or, for non-directories, its
  size, mtime or link target (directory sizes and times say nothing; file contents are not compared,
  as in moby);
- a path only in ``lower`` becomes ``<dir>/.wh.<name>``; a deleted directory needs only its own whiteout;
- a directory replaced by a non-directory is just the new entry (applying removes the old one first).
Every emitted entry is preceded by its parent directories, each once. Hardlinks are mapped inode → first
path within the layer. Both trees are read through directory fds without following symlinks.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .tarwrite import BLOCK, Writable, _DIR_FLAGS, _TreeWriter

_NS = 1_000_000_000


def _same_time(a: os.stat_result, b: os.stat_result) -> bool:
    # moby's sameFsTimeSpec: equal seconds, and equal nanoseconds unless either side lost them.
    a_sec, a_ns = divmod(a.st_mtime_ns, _NS)
    b_sec, b_ns = divmod(b.st_mtime_ns, _NS)
    return a_sec == b_sec and (a_ns == b_ns or a_ns == 0 or b_ns == 0)


def _changed(lower: os.stat_result, upper: os.stat_result, lower_fd: int, upper_fd: int, name: str) -> bool:
    if (lower.st_mode, lower.st_uid, lower.st_gid, lower.st_rdev) != (
        upper.st_mode, upper.st_uid, upper.st_gid, upper.st_rdev
    ):
        return True
    if stat.S_ISDIR(upper.st_mode):
        return False
    if lower.st_size != upper.st_size or not _same_time(lower, upper):
        return True
    if stat.S_ISLNK(upper.st_mode):
        return os.readlink(name, dir_fd=lower_fd) != os.readlink(name, dir_fd=upper_fd)
    return False


class _Differ:
    def __init__(self, writer: _TreeWriter) -> None:
        self.writer = writer
        # Unchanged ancestors of the current position, emitted only once something below them changes.
        self.pending: list[tuple[int, str, str]] = []

    def flush_parents(self) -> None:
        for dir_fd, name, path in self.pending:
            self.writer.emit_path(dir_fd, name, path, recurse=False)
        self.pending.clear()

    def compare(self, lower_fd: int, upper_fd: int, prefix: str) -> None:
        lower_names = set(os.listdir(lower_fd))
        upper_names = set(os.listdir(upper_fd))
        for name in sorted(lower_names | upper_names, key=os.fsencode):
            path = prefix + name
            if name not in upper_names:
                self.flush_parents()
                self.writer.whiteout(path)
                continue
            upper = os.stat(name, dir_fd=upper_fd, follow_symlinks=False)
            if name not in lower_names:
                self.flush_parents()
                self.writer.emit_path(upper_fd, name, path, recurse=True)
                continue
            lower = os.stat(name, dir_fd=lower_fd, follow_symlinks=False)
            changed = _changed(lower, upper, lower_fd, upper_fd, name)
            if not (stat.S_ISDIR(lower.st_mode) and stat.S_ISDIR(upper.st_mode)):
                if changed:
                    self.flush_parents()
                    # A directory in place of something else brings its whole tree.
                    self.writer.emit_path(upper_fd, name, path, recurse=True)
                continue
            if changed:
                self.flush_parents()
                self.writer.emit_path(upper_fd, name, path, recurse=False)
            else:
                self.pending.append((upper_fd, name, path))
            lower_child = os.open(name, _DIR_FLAGS, dir_fd=lower_fd)
            try:
                upper_child = os.open(name, _DIR_FLAGS, dir_fd=upper_fd)
                try:
                    self.compare(lower_child, upper_child, path + "/")
                finally:
                    os.close(upper_child)
            finally:
                os.close(lower_child)
            if self.pending and self.pending[-1][2] == path:
                self.pending.pop()  # nothing below changed: the directory is not part of the layer


def write_changes(lower: Path, upper: Path, sink: Writable, *, mtime_clamp: int | None = None) -> int:
    """Write the changes that turn ``lower`` into ``upper`` as a layer tar; returns the entry count."""
    lower_fd = os.open(lower, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        upper_fd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            writer = _TreeWriter(sink, mtime_clamp)
            _Differ(writer).compare(lower_fd, upper_fd, "")
        finally:
            os.close(upper_fd)
    finally:
        os.close(lower_fd)
    sink.write(bytes(2 * BLOCK))
    return writer.entries
