"""Content-addressed blobs: ingest, resume, commit, read, delete (the containerd model, formats.md §7.4).

A blob is written to ``content/ingest/<sha256(key)>/data`` under an exclusive per-key lock, then committed:
fsync → check size, then digest → rename to ``content/blobs/<alg>/<hex>`` → fsync the directory. The file is
made read-only (0444) before the rename, so no writable blob is ever visible under a digest name. A crash at
any point leaves either no blob or the whole blob; a partial ingest survives and is resumed by re-hashing it.
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..digest import CHUNK, Digest, Readable, VerifyingReader, new_hasher
from ..errors import DigestMismatch, InvalidArgument, NotFound, SizeMismatch, TooLarge, Unavailable
from .locks import FileLock, LockHolder
from .paths import StorePaths, fsync_dir, remove_tree

DOCUMENT_LIMIT = 4 * 1024 * 1024
_UPDATED_EVERY = 1.0  # seconds between refreshes of an ingest's updatedat file
_TRASH_PREFIX = ".trash-"

# Called as hook(kind, key) before an ingest starts ("ingest", key) and before a commit becomes visible
# ("blob", digest); the Store uses it to name both in the caller's lease (see gc.py for the protocol).
LeaseHook = Callable[[str, str], None]


@dataclass(frozen=True)
class IngestInfo:
    key: str
    offset: int
    started: float | None
    updated: float | None
    holder_pid: int | None  # None when nobody holds the ingest's lock
    expected: Digest | None
    total: int | None

    @property
    def locked(self) -> bool:
        return self.holder_pid is not None


class VerifiedBlob(VerifyingReader):
    """A committed blob opened for reading; raises DigestMismatch/SizeMismatch at EOF if it was altered."""

    def __init__(self, file: BinaryIO, digest: Digest, size: int | None) -> None:
        super().__init__(file, digest, size)
        self._file = file

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> VerifiedBlob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Ingest:
    """One in-progress write, holding its key's lock until it is committed, aborted or closed."""

    def __init__(
        self,
        store: ContentStore,
        key: str,
        directory: Path,
        lock: FileLock,
        expected: Digest | None,
        expected_size: int | None,
    ) -> None:
        self.key = key
        self._store = store
        self._dir = directory
        self._lock = lock
        self._expected = expected
        self._expected_size = expected_size
        self._algorithm = expected.algorithm if expected else "sha256"
        self._closed = False
        self._last_touch = 0.0
        self._file: BinaryIO = open(directory / "data", "ab+")
        self._hasher = new_hasher(self._algorithm)
        self.offset = 0
        self._rehash()

    @property
    def _data(self) -> Path:
        return self._dir / "data"

    def _rehash(self) -> None:
        """Find the resume offset by hashing what an earlier attempt left behind."""
        self._hasher = new_hasher(self._algorithm)
        self._file.seek(0)
        count = 0
        while chunk := self._file.read(CHUNK):
            self._hasher.update(chunk)
            count += len(chunk)
        self.offset = count

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidArgument(f'ingest "{self.key}" is closed')

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._check_open()
        if self._expected_size is not None and self.offset + len(data) > self._expected_size:
            actual = self.offset + len(data)
            self._discard()
            raise SizeMismatch(self._what(), self._expected_size, actual)
        try:
            with _disk_errors(self._what()):
                self._file.write(data)
        except OSError:
            # Part of the chunk may be on disk; a resume re-hashes the file, so stop here and let it.
            self.close()
            raise
        self._hasher.update(data)
        self.offset += len(data)
        now = time.time()
        if now - self._last_touch >= _UPDATED_EVERY:
            self._last_touch = now
            _write_text(self._dir / "updatedat", f"{now:.3f}")
        return len(data)

    def truncate(self, offset: int = 0) -> None:
        """Drop everything after ``offset`` (0 restarts), e.g. when a server ignores a Range request."""
        self._check_open()
        if offset < 0 or offset > self.offset:
            raise InvalidArgument(f"cannot truncate ingest at {self.offset} bytes to {offset}")
        self._file.flush()
        self._file.truncate(offset)
        self._rehash()

    # --- sharing the running hash ---------------------------------------------------------------------
    # A caller that streams a whole blob through ``write`` and needs the same digest for itself (a layer
    # scan computing the diff ID while it stores the layer) would hash every byte twice. Instead it may
    # use the ingest's own hash: it checks ``shares_hash()`` before its first write and, once done, takes
    # ``written_digest()`` after checking ``offset`` equals its own byte count. Nothing is weakened: the
    # digest is still of exactly the bytes written to disk, and commit still checks size and digest.

    def shares_hash(self) -> bool:
        """True when the running hash covers only what is written from now on (an empty, open ingest)."""
        return not self._closed and self.offset == 0 and self._algorithm == "sha256"

    def written_digest(self) -> Digest:
        """The digest of every byte in the ingest so far (``offset`` bytes)."""
        self._check_open()
        return Digest.from_hasher(self._hasher.copy())

    def _what(self) -> str:
        return str(self._expected) if self._expected else f'ingest "{self.key}"'

    def commit(self, *, expected: Digest | None = None, expected_size: int | None = None) -> Digest:
        self._check_open()
        expected = expected or self._expected
        if expected_size is None:
            expected_size = self._expected_size
        with _disk_errors(self._what()):
            self._file.flush()
            os.fsync(self._file.fileno())
        size = self.offset
        if expected_size is not None and size != expected_size:
            self._discard()
            raise SizeMismatch(str(expected) if expected else f'ingest "{self.key}"', expected_size, size)
        if expected is not None and expected.algorithm != self._algorithm:
            self._algorithm = expected.algorithm
            self._rehash()
        actual = Digest.from_hasher(self._hasher.copy())
        if expected is not None and actual != expected:
            self._discard()
            raise DigestMismatch(str(expected), str(actual), size)
        # Name the blob in the caller's lease *before* it becomes visible or is found to exist: a GC that
        # marks after this point keeps it, one that marked before has finished sweeping (gc.py).
        self._store._announce("blob", str(actual))
        target = self._store.paths.blob(actual)
        try:
            existing_size = target.stat().st_size
        except FileNotFoundError:
            existing_size = None
        if existing_size == size:
            self._discard()  # committed by someone else: same bytes, so this counts as success
            return actual
        target.parent.mkdir(parents=True, exist_ok=True)
        os.fchmod(self._file.fileno(), 0o444)
        # A present blob of the wrong size is damage (hazard 24); the verified bytes replace it.
        os.rename(self._data, target)
        fsync_dir(target.parent)
        self._discard()
        return actual

    def abort(self) -> None:
        """Throw the ingest away (an explicit abort; leaving the context keeps it for a resume)."""
        if not self._closed:
            self._discard()

    def _discard(self) -> None:
        self._file.close()
        self._store._remove_ingest_dir(self._dir)
        self._close_lock()

    def close(self) -> None:
        """Stop writing but keep the partial data for a later resume."""
        if self._closed:
            return
        try:
            self._file.close()
            _write_text(self._dir / "updatedat", f"{time.time():.3f}")
        except OSError:
            pass  # e.g. a full disk; the data file is what a resume relies on
        finally:
            self._close_lock()

    def _close_lock(self) -> None:
        self._closed = True
        self._lock.release()

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ContentStore:
    def __init__(self, paths: StorePaths, lease_hook: LeaseHook | None = None) -> None:
        self.paths = paths
        self._lease_hook = lease_hook

    def _announce(self, kind: str, key: str) -> None:
        if self._lease_hook is not None:
            self._lease_hook(kind, key)

    # --- reading -----------------------------------------------------------------------------------

    def path(self, d: Digest) -> Path:
        return self.paths.blob(d)

    def has(self, d: Digest) -> bool:
        return self.paths.blob(d).is_file()

    def size(self, d: Digest) -> int:
        try:
            return self.paths.blob(d).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"content {d}: not found") from None

    def open(self, d: Digest) -> BinaryIO:
        """The raw file; callers that hand bytes onwards should prefer ``open_verified``."""
        try:
            return open(self.paths.blob(d), "rb")
        except FileNotFoundError:
            raise NotFound(f"content {d}: not found") from None

    def open_verified(self, d: Digest, expected_size: int | None = None) -> VerifiedBlob:
        """Re-verify the digest (and size, if given) while reading: existence is not trusted (hazard 24)."""
        return VerifiedBlob(self.open(d), d, expected_size)

    def read_bytes(self, d: Digest, limit: int = DOCUMENT_LIMIT) -> bytes:
        with self.open_verified(d) as reader:
            if os.fstat(reader._file.fileno()).st_size > limit:
                raise TooLarge(f"content {d}", limit)
            data = reader.read(limit + 1)
            if len(data) > limit:
                raise TooLarge(f"content {d}", limit)
            reader.verify_to_end()
            return data

    def iter_blobs(self) -> Iterator[tuple[Digest, int]]:
        try:
            algorithms = sorted(p for p in self.paths.blobs.iterdir() if p.is_dir())
        except FileNotFoundError:
            return
        for alg_dir in algorithms:
            for entry in sorted(os.scandir(alg_dir), key=lambda e: e.name):
                try:
                    d = Digest.parse(f"{alg_dir.name}:{entry.name}")
                    size = entry.stat(follow_symlinks=False).st_size
                except Exception:  # noqa: BLE001 - strays are check()'s business, not the listing's
                    continue
                yield d, size

    def delete(self, d: Digest) -> None:
        """Remove a committed blob. Only GC calls this; everything else relies on blobs staying put."""
        try:
            self.paths.blob(d).unlink()
        except FileNotFoundError:
            pass

    # --- writing -----------------------------------------------------------------------------------

    def writer(
        self,
        key: str,
        *,
        expected: Digest | None = None,
        expected_size: int | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Ingest:
        if not key:
            raise InvalidArgument("ingest key must not be empty")
        if expected_size is not None and expected_size < 0:
            raise InvalidArgument(f"invalid expected size {expected_size}")
        self._announce("ingest", key)
        directory = self.paths.ingest_dir(key)
        lock = FileLock(directory / "lock", what=f'ingest "{key}"')
        lock.acquire(wait=wait, timeout=timeout)
        try:
            return self._open_ingest(key, directory, lock, expected, expected_size)
        except BaseException:
            lock.release()
            raise

    def _open_ingest(
        self, key: str, directory: Path, lock: FileLock, expected: Digest | None, expected_size: int | None
    ) -> Ingest:
        now = f"{time.time():.3f}"
        recorded_key = _read_text(directory / "key")
        recorded_expected = _read_text(directory / "expected")
        restart = recorded_key is not None and recorded_key != key  # a sha256 collision; never expected
        if expected is not None and recorded_expected not in (None, str(expected)):
            restart = True  # the key now names other content: the partial data is worthless
        if restart:
            for name in ("data", "startedat", "expected", "total"):
                (directory / name).unlink(missing_ok=True)
        if restart or recorded_key is None:
            _write_text(directory / "key", key)
        if not (directory / "startedat").exists():
            _write_text(directory / "startedat", now)
        _write_text(directory / "updatedat", now)
        if expected is not None:
            _write_text(directory / "expected", str(expected))
        if expected_size is not None:
            _write_text(directory / "total", str(expected_size))
        ingest = Ingest(self, key, directory, lock, expected, expected_size)
        if expected_size is not None and ingest.offset > expected_size:
            ingest.truncate(0)
        return ingest

    def _remove_ingest_dir(self, directory: Path) -> None:
        """Move the ingest aside in one rename (waiters then see a new inode), then delete it."""
        trash = directory.with_name(f"{_TRASH_PREFIX}{directory.name}-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(directory, trash)
        except FileNotFoundError:
            return
        remove_tree(trash)

    def put_stream(
        self,
        stream: Readable,
        *,
        key: str | None = None,
        expected: Digest | None = None,
        expected_size: int | None = None,
    ) -> tuple[Digest, int]:
        """Copy a stream into the store in 1 MiB chunks. A keyed ingest resumes if the stream can seek."""
        throwaway = key is None
        if key is None:
            key = f"put/{expected}" if expected is not None else f"put/{uuid.uuid4().hex}"
        ingest = self.writer(key, expected=expected, expected_size=expected_size)
        with ingest:
            try:
                if ingest.offset:
                    if not _seek_to(stream, ingest.offset):
                        ingest.truncate(0)
                while chunk := stream.read(CHUNK):
                    ingest.write(chunk)
                size = ingest.offset
                return ingest.commit(expected=expected, expected_size=expected_size), size
            except BaseException:
                if throwaway and expected is None:
                    ingest.abort()  # nobody could ever find this ingest again to resume it
                raise

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest:
        actual = Digest.of(data, expected.algorithm if expected else "sha256")
        if expected is not None and actual != expected:
            raise DigestMismatch(str(expected), str(actual), len(data))
        with self.writer(f"put/{actual}", expected=actual, expected_size=len(data)) as ingest:
            ingest.truncate(0)
            ingest.write(data)
            return ingest.commit()

    def put_file(self, path: Path) -> tuple[Digest, int]:
        with open(path, "rb") as f:
            return self.put_stream(f)

    # --- ingests -----------------------------------------------------------------------------------

    def ingests(self) -> list[IngestInfo]:
        infos = []
        try:
            entries = sorted(os.scandir(self.paths.ingest), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        for entry in entries:
            if entry.name.startswith(_TRASH_PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            info = self._ingest_info(Path(entry.path))
            if info is not None:
                infos.append(info)
        return infos

    def _ingest_info(self, directory: Path) -> IngestInfo | None:
        key = _read_text(directory / "key")
        if key is None:
            return None
        holder = LockHolder.of(directory / "lock")
        try:
            offset = (directory / "data").stat().st_size
        except FileNotFoundError:
            offset = 0
        expected_text = _read_text(directory / "expected")
        total_text = _read_text(directory / "total")
        try:
            expected = Digest.parse(expected_text) if expected_text else None
        except InvalidArgument:
            expected = None
        return IngestInfo(
            key=key,
            offset=offset,
            started=_float(_read_text(directory / "startedat")),
            updated=_float(_read_text(directory / "updatedat")),
            holder_pid=(holder.pid or -1) if holder else None,
            expected=expected,
            total=int(total_text) if total_text and total_text.isdigit() else None,
        )

    def remove_ingest(self, key: str) -> bool:
        """Remove one ingest if nobody holds it; False when it is locked or absent."""
        directory = self.paths.ingest_dir(key)
        if not directory.exists():
            return False
        lock = FileLock(directory / "lock", what=f'ingest "{key}"')
        try:
            lock.acquire(wait=False)
        except Exception:  # noqa: BLE001 - Locked: someone is writing; leave it
            return False
        try:
            self._remove_ingest_dir(directory)
        finally:
            lock.release()
        return True

    def collect_stale_ingests(self, older_than: float, *, keep: frozenset[str] = frozenset()) -> int:
        """Remove unlocked ingests untouched for ``older_than`` seconds (and leftovers of removals)."""
        cutoff = time.time() - older_than
        removed = 0
        for info in self.ingests():
            if info.locked or info.key in keep:
                continue
            last = info.updated or info.started or 0.0
            if last <= cutoff and self.remove_ingest(info.key):
                removed += 1
        self._collect_trash()
        return removed

    def _collect_trash(self) -> None:
        try:
            entries = list(os.scandir(self.paths.ingest))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith(_TRASH_PREFIX):
                remove_tree(Path(entry.path))


@contextmanager
def _disk_errors(what: str) -> Iterator[None]:
    """A full disk keeps the partial ingest (it resumes later) and says so plainly (hazard 21)."""
    try:
        yield
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise Unavailable(f"no space left on device while writing {what}; the partial write is kept") from e
        raise


def _seek_to(stream: Readable, offset: int) -> bool:
    seekable = getattr(stream, "seekable", None)
    if seekable is None or not seekable():
        return False
    stream.seek(offset, os.SEEK_CUR)  # type: ignore[attr-defined]
    return True


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
