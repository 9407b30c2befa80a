"""Reading layer tars as a stream: one reader for scanning (diff ID, sizes) and for applying.

The reader is our own rather than ``tarfile``'s: it hashes every byte of the stream exactly once in
1 MiB chunks (the diff ID covers padding and anything after the end-of-archive marker, hazard 12),
optionally copies those bytes to a sink in the same pass, and skips file bodies without copying them.
Headers are decoded by ``tarheader`` (ustar, GNU, PAX; Go's ``archive/tar`` semantics), shared with the
image-archive reader.

Measured on this machine (200 MB tar of /usr, ~11k entries): scan_layer ~1.4 GB/s, sha256 alone ~1.8 GB/s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from .. import errors
from ..digest import CHUNK, Digest
from .compression import DEFAULT_CAP, Compression, open_decompressed
from .tarheader import (
    BLOCK,
    BLOCKDEV,
    CHARDEV,
    CONTIGUOUS,
    DIRECTORY,
    FIFO,
    GNU_SPARSE,
    HARDLINK,
    MAX_META_SIZE,
    REGULAR,
    SYMLINK,
    HeaderError,
    TarHeader,
    read_header,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..digest import Readable

# Hazard 8: entries per layer. The byte cap cannot stop a bomb of empty files (a few KB of gzip can
# declare millions of them, each an inode on apply); real layers stay well below this (~100k).
# Read when a TarStream is made, so every caller (load, pull, import, apply) gets it by default.
MAX_LAYER_ENTRIES = 1_000_000

# An entry of a layer is its decoded header: name as stored (not cleaned), normalised type, body size.
TarEntry = TarHeader

__all__ = [
    "BLOCK", "BLOCKDEV", "CHARDEV", "CONTIGUOUS", "DIRECTORY", "FIFO", "GNU_SPARSE", "HARDLINK",
    "MAX_LAYER_ENTRIES", "MAX_META_SIZE", "OPAQUE_WHITEOUT", "REGULAR", "SYMLINK", "WHITEOUT_PREFIX",
    "CompressedScan", "LayerScan", "TarEntry", "TarStream", "content_size_of", "scan_compressed", "scan_layer",
]

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"


class Writable(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int | None: ...


def _hash_owner(sink: Writable | None) -> Any:
    """A sink that hashes what it is given and lets us use that hash (a content-store ingest starting
    empty, ``Ingest.shares_hash``), so each byte is hashed once; None when we must hash ourselves."""
    shares = getattr(sink, "shares_hash", None)
    return sink if shares is not None and shares() else None


def _shared_digest(owner: Any, count: int) -> Digest:
    # The owner saw every byte we passed it and nothing else, so the counts must agree.
    if owner.offset != count:
        raise errors.DataCorrupt(f"layer sink holds {owner.offset} bytes, {count} were written to it")
    return owner.written_digest()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class LayerScan:
    diff_id: Digest
    size: int  # bytes in the uncompressed stream, trailing bytes included
    content_size: int  # Docker's layer size: regular file bytes + symlink target lengths
    entries: int


def _corrupt(reason: str) -> errors.DataCorrupt:
    return errors.DataCorrupt(f"invalid layer tar: {reason}")


class TarStream:
    """Reads a tar stream once: hashes (and optionally copies to ``sink``) every byte it pulls in.

    Iterate ``entries()``; while positioned on an entry, ``read(n)`` returns its body. Whatever body is
    left unread is skipped when the next entry is requested. After the last entry call ``finish()`` to
    drain the stream to EOF, so the digest covers everything.
    """

    def __init__(self, stream: Readable, sink: Writable | None = None, *, max_entries: int | None = None) -> None:
        self._stream = stream
        self._sink = sink
        self._owner = _hash_owner(sink)
        self._hasher = None if self._owner is not None else hashlib.sha256()
        self.size = 0
        self._buf: bytes = b""
        self._pos = 0
        self._eof = False
        self._body_left = 0  # unread body bytes of the current entry
        self._pad_left = 0  # padding after it
        self._max_entries = MAX_LAYER_ENTRIES if max_entries is None else max_entries
        self.entry_count = 0

    # --- the byte source ---------------------------------------------------------------------------

    def _pull(self) -> bytes:
        if self._eof:
            return b""
        chunk = self._stream.read(CHUNK)
        if not chunk:
            self._eof = True
            return b""
        if self._hasher is not None:
            self._hasher.update(chunk)
        self.size += len(chunk)
        if self._sink is not None:
            self._sink.write(chunk)
        return chunk

    def _take(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or fewer at EOF."""
        avail = len(self._buf) - self._pos
        if avail >= n:
            out = self._buf[self._pos : self._pos + n]
            self._pos += n
            return out
        parts = [self._buf[self._pos :]]
        have = avail
        self._buf, self._pos = b"", 0
        while have < n:
            chunk = self._pull()
            if not chunk:
                break
            need = n - have
            if len(chunk) > need:
                parts.append(chunk[:need])
                self._buf, self._pos = chunk, need
                have = n
            else:
                parts.append(chunk)
                have += len(chunk)
        return b"".join(parts)

    def _skip(self, n: int) -> None:
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return
        n -= avail
        self._buf, self._pos = b"", 0
        while n > 0:
            chunk = self._pull()
            if not chunk:
                raise _corrupt("unexpected EOF inside an entry")
            if len(chunk) > n:
                self._buf, self._pos = chunk, n
                return
            n -= len(chunk)

    def read(self, size: int = CHUNK) -> bytes | memoryview:
        """Up to ``size`` bytes of the current entry's body; empty at its end."""
        if self._body_left <= 0:
            return b""
        size = min(size, self._body_left)
        if self._pos >= len(self._buf):
            self._buf, self._pos = self._pull(), 0
            if not self._buf:
                raise _corrupt("unexpected EOF inside an entry")
        end = min(self._pos + size, len(self._buf))
        out = memoryview(self._buf)[self._pos : end]
        self._body_left -= end - self._pos
        self._pos = end
        return out

    def finish(self) -> None:
        """Read to EOF (trailing bytes after the end-of-archive marker count towards the digest)."""
        self._buf, self._pos = b"", 0
        while self._pull():
            pass

    @property
    def digest(self) -> Digest:
        if self._hasher is None:
            return _shared_digest(self._owner, self.size)
        return Digest.from_hasher(self._hasher.copy())

    # --- headers -----------------------------------------------------------------------------------

    def entries(self) -> Iterator[TarEntry]:
        while True:
            self._skip(self._body_left + self._pad_left)
            self._body_left = self._pad_left = 0
            try:
                entry = read_header(self._take, self._skip)
            except HeaderError as e:
                raise _corrupt(e.reason) from None
            if entry is None:
                return  # end-of-archive marker or EOF; finish() drains the rest
            self._body_left = entry.size
            self._pad_left = -entry.size % BLOCK
            self.entry_count += 1
            if self._max_entries is not None and self.entry_count > self._max_entries:
                raise errors.TooLarge("layer entry count", self._max_entries, "entries")
            yield entry


def content_size_of(entry: TarEntry) -> int:
    """What an entry adds to Docker's layer size (overlay2 sums lstat sizes of the unpacked tree:
    regular files once per inode, symlinks by target length; whiteouts, links and the rest add 0)."""
    if entry.type == REGULAR or entry.type == GNU_SPARSE:
        return 0 if entry.basename.startswith(WHITEOUT_PREFIX) else entry.size
    if entry.type == SYMLINK:
        return len(entry.linkname.encode("utf-8", "surrogateescape"))
    return 0


def scan_layer(
    stream: Readable, sink: Writable | None = None, *, max_entries: int | None = None
) -> LayerScan:
    """Read an uncompressed layer tar once: its diff ID, byte size, Docker content size and entry count.

    Every byte read is also written to ``sink`` when given (e.g. a content-store ingest), so a layer
    can be stored and scanned in one pass. Bytes after the end-of-archive marker are read and hashed.
    """
    tar = TarStream(stream, sink, max_entries=max_entries)
    content = 0
    for entry in tar.entries():
        content += content_size_of(entry)
    tar.finish()
    return LayerScan(diff_id=tar.digest, size=tar.size, content_size=content, entries=tar.entry_count)


class _HashingReader:
    def __init__(self, source: Readable, sink: Writable | None) -> None:
        self._source = source
        self._sink = sink
        self._owner = _hash_owner(sink)
        self._hasher = None if self._owner is not None else hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._source.read(size)
        if chunk:
            if self._hasher is not None:
                self._hasher.update(chunk)
            self.count += len(chunk)
            if self._sink is not None:
                self._sink.write(chunk)
        return chunk

    @property
    def digest(self) -> Digest:
        if self._hasher is None:
            return _shared_digest(self._owner, self.count)
        return Digest.from_hasher(self._hasher)


class CompressedScan(NamedTuple):
    compression: Compression
    compressed_digest: Digest  # of the bytes as given (equal to diff_id when uncompressed)
    compressed_size: int
    layer: LayerScan


def scan_compressed(
    stream: Readable,
    max_output: int | None = DEFAULT_CAP,
    *,
    sink: Writable | None = None,
    compressed_sink: Writable | None = None,
    max_entries: int | None = None,
) -> CompressedScan:
    """Decompress (whatever the magic says) and scan in one pass.

    ``sink`` receives the decompressed tar, ``compressed_sink`` the bytes as read; both optional.
    """
    source = _HashingReader(stream, compressed_sink)
    compression, plain = open_decompressed(source, max_output=max_output)
    layer = scan_layer(plain, sink, max_entries=max_entries)
    while source.read(CHUNK):  # anything the decoder left unread still belongs to the blob
        pass
    return CompressedScan(
        compression=compression,
        compressed_digest=source.digest,
        compressed_size=source.count,
        layer=layer,
    )
