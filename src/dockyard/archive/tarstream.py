"""Streaming tar for image archives: a sequential reader for ``load`` and a writer for ``save``.

Neither goes through ``tarfile``'s stream mode, whose 10 KiB records cost a Python call per record on a
multi-gigabyte archive: the reader pulls headers 512 bytes at a time but hands entry bodies through in
reads as large as the caller asks (1 MiB), and the writer copies blobs with ``readinto`` into one reused
buffer, hashing as it goes (hazard 24: a blob in the store is re-verified whenever it leaves it).

The reader understands what archive writers produce (Go's ``archive/tar``, GNU tar, skopeo, containerd):
headers are decoded by ``layers.tarheader`` (ustar, GNU long names and base-256 numbers, PAX), the same
parser that reads layers. It refuses names that are absolute or climb out of the archive, and caps
entry count and metadata sizes.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from .. import errors
from ..digest import CHUNK, Digest, copy_verified
from ..layers import tarheader
from ..layers.tarheader import BLOCK, DIRECTORY, HARDLINK, REGULAR, SYMLINK, ZERO_BLOCK, HeaderError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..digest import Readable

DEFAULT_MAX_ENTRIES = 1_000_000

OTHER = "?"  # devices, FIFOs and the like: never part of an image archive
_KNOWN = frozenset({REGULAR, HARDLINK, SYMLINK, DIRECTORY})

__all__ = [
    "DEFAULT_MAX_ENTRIES", "DIRECTORY", "HARDLINK", "OTHER", "REGULAR", "SYMLINK",
    "Entry", "TarReader", "TarWriter", "clean_name",
]


class Writable(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...


@dataclass(frozen=True)
class Entry:
    name: str  # cleaned: relative, no ".", no "..", no trailing slash
    type: str  # REGULAR, HARDLINK, SYMLINK, DIRECTORY or OTHER
    size: int
    linkname: str = ""


def _corrupt(reason: str) -> errors.DataCorrupt:
    return errors.DataCorrupt(f"invalid tar archive: {reason}")


def clean_name(name: str) -> str:
    """The archive-relative form of an entry name; raises BreakoutError for absolute or climbing names.

    ``./a//b/`` becomes ``a/b``. The archive root itself is ``""``.
    """
    if "\x00" in name:
        raise errors.BreakoutError(f"invalid archive entry name {name!r}")
    if name.startswith("/"):
        raise errors.BreakoutError(f"archive entry {name!r} has an absolute path")
    parts = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise errors.BreakoutError(f"archive entry {name!r} points outside the archive")
        parts.append(part)
    return "/".join(parts)


class TarReader:
    """Reads a tar stream once, front to back.

    Iterate ``entries()``; while on an entry, ``read(n)`` returns its body (empty at its end). What is
    left unread is skipped when the next entry is asked for. ``entries()`` ends at the end-of-archive
    marker; ``finish()`` then reads to EOF and refuses anything but zero padding after it.
    """

    def __init__(self, stream: Readable, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._stream = stream
        self._left = 0  # unread body bytes of the current entry
        self._pad = 0
        self._max_entries = max_entries
        self.entry_count = 0
        self.bytes_read = 0

    def _read_exact(self, n: int) -> bytes:
        data = self._stream.read(n)
        if len(data) == n or not data:
            self.bytes_read += len(data)
            return data
        parts = [data]
        have = len(data)
        while have < n:
            chunk = self._stream.read(n - have)
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self.bytes_read += have
        return b"".join(parts)

    def _skip(self, n: int) -> None:
        while n > 0:
            chunk = self._stream.read(min(n, CHUNK))
            if not chunk:
                raise _corrupt("unexpected EOF inside an entry")
            self.bytes_read += len(chunk)
            n -= len(chunk)

    def read(self, size: int = CHUNK, /) -> bytes:
        if self._left <= 0:
            return b""
        if size is None or size < 0:
            size = self._left
        chunk = self._stream.read(min(size, self._left))
        if not chunk:
            raise _corrupt("unexpected EOF inside an entry")
        self._left -= len(chunk)
        self.bytes_read += len(chunk)
        return chunk

    def entries(self) -> Iterator[Entry]:
        while True:
            self._skip(self._left + self._pad)
            self._left = self._pad = 0
            try:
                header = tarheader.read_header(self._read_exact, self._skip)
            except HeaderError as e:
                raise _corrupt(e.reason) from None
            if header is None:
                return
            typeflag, size = header.type, header.size
            if typeflag == tarheader.GNU_SPARSE:
                raise errors.Unsupported(f"sparse archive entry {header.name!r} is not supported")
            if typeflag not in _KNOWN:
                typeflag = OTHER
            self.entry_count += 1
            if self.entry_count > self._max_entries:
                raise errors.TooLarge("archive entry count", self._max_entries, "entries")
            self._left = size
            self._pad = -size % BLOCK
            yield Entry(clean_name(header.name), typeflag, size, header.linkname)

    def finish(self) -> None:
        """Read to EOF after the end-of-archive marker; only zero padding may follow it."""
        while chunk := self._stream.read(CHUNK):
            self.bytes_read += len(chunk)
            if chunk.strip(b"\0"):
                raise _corrupt("unexpected data after the end of the archive")


# --- writing -------------------------------------------------------------------------------------------


def _header(name: str, size: int, type_: bytes, mode: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = type_
    info.mode = mode
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    # ustar where it fits (every name a save writes does); PAX records only for longer names.
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


class TarWriter:
    """Writes a tar stream: uid/gid 0, fixed mtime, ``close()`` writes the end-of-archive marker.

    It never closes the sink. Entries are written in the order given; callers sort them.
    """

    def __init__(self, sink: Writable, *, mtime: int = 0) -> None:
        self._sink = sink
        self._mtime = mtime
        self._buffer = bytearray(CHUNK)
        self.bytes_written = 0

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._sink.write(data)
        self.bytes_written += len(data)

    def add_directory(self, name: str) -> None:
        self._write(_header(name.rstrip("/") + "/", 0, tarfile.DIRTYPE, 0o755, self._mtime))

    def add_bytes(self, name: str, data: bytes, *, mode: int = 0o644) -> None:
        self._write(_header(name, len(data), tarfile.REGTYPE, mode, self._mtime))
        self._write(data)
        self._pad(len(data))

    def add_symlink(self, name: str, target: str) -> None:
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        info.mode = 0o777
        info.mtime = self._mtime
        info.uname = info.gname = ""
        self._write(info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape"))

    def add_verified_file(self, name: str, file: BinaryIO, digest: Digest, size: int, *, mode: int = 0o644) -> None:
        """Copy ``size`` bytes of an open blob file, checking them against ``digest`` on the way.

        The header (which declares the size) is written first, so a blob found to be damaged fails the
        whole archive with DataCorrupt rather than yielding a valid-looking one.
        """
        self._write(_header(name, size, tarfile.REGTYPE, mode, self._mtime))
        copy_verified(file, self._write, digest, size, buffer=self._buffer)
        self._pad(size)

    def _pad(self, size: int) -> None:
        pad = -size % BLOCK
        if pad:
            self._write(ZERO_BLOCK[:pad])

    def close(self) -> None:
        self._write(ZERO_BLOCK * 2)
