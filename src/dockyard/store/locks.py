"""Advisory file locks (``flock``) that say who holds them.

``flock`` belongs to an open file description, so the kernel drops it when its process dies, even by
SIGKILL: no lock ever outlives its holder. The holder writes ``<pid> <unix time>`` into the file so that
a refused caller can be told who is in the way and for how long.

A lock file may be removed (an ingest committed, a lease released) only by its holder. Whoever then wins
the lock on the unlinked inode sees that the path no longer names the file it locked and starts over.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import Locked

# A probe (``LockHolder.of``) takes a shared lock for an instant; a non-waiting acquirer retries for this
# long so that a probe never makes it fail.
_NOWAIT_GRACE = 0.1


@dataclass(frozen=True)
class LockHolder:
    pid: int | None
    since: float | None

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid is not None else "another process"
        if self.since is None:
            return who
        age = max(0, int(time.time() - self.since))
        return f"{who} (for {age}s)"

    @classmethod
    def of(cls, path: Path) -> LockHolder | None:
        """Who holds the lock at ``path`` now, or None if nobody does (or the file is gone)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return cls._parse(os.pread(fd, 64, 0))
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    @classmethod
    def _parse(cls, raw: bytes) -> LockHolder:
        parts = raw.decode("ascii", "replace").split()
        try:
            return cls(int(parts[0]), float(parts[1]))
        except (IndexError, ValueError):
            return cls(None, None)


def is_locked(path: Path) -> bool:
    return LockHolder.of(path) is not None


class FileLock:
    """An exclusive lock on ``path`` across processes; the parent directory is created on demand."""

    def __init__(self, path: Path, *, what: str) -> None:
        self.path = path
        self.what = what  # e.g. 'ingest "pull/sha256:…"', used in the Locked message
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, wait: bool = True, timeout: float | None = None) -> None:
        if self._fd is not None:
            raise RuntimeError(f"{self.what}: lock already held by this object")
        start = time.monotonic()
        delay = 0.002
        while True:
            fd = self._try_once()
            if fd is not None:
                self._fd = fd
                return
            waited = time.monotonic() - start
            if (not wait and waited >= _NOWAIT_GRACE) or (timeout is not None and waited >= timeout):
                holder = LockHolder.of(self.path)
                who = holder.describe() if holder else "another process"
                raise Locked(f"{self.what} is locked by {who}")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _try_once(self) -> int | None:
        """The locked fd, or None when someone else holds the lock (or the file was swapped meanwhile)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except (FileNotFoundError, FileExistsError):
            # Another process removed the directory between mkdir's create and its is-dir check, or
            # between mkdir and open; try again.
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same_file = os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same_file = False
        if not same_file:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {time.time():.3f}\n".encode("ascii"), 0)
        return fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
