"""Reading layer tars as a stream: one header parser for scanning (diff ID, sizes) and for applying.

The parser is our own rather than ``tarfile``'s: it hashes every byte of the stream exactly once in
1 MiB chunks (the diff ID covers padding and anything after the end-of-archive marker, hazard 12),
optionally copies those bytes to a sink in the same pass, skips file bodies without copying them, and
understands what real layers contain: ustar, GNU (long names ``L``/``K``, base-256 numbers) and PAX
(``path``, ``linkpath``, ``size``, ``uid``, ``gid``, ``mtime``, ``SCHILY.xattr.*``; global headers ignored).
Header-only types (links, devices, directories, FIFOs) carry no body whatever their size field says,
as in Go's ``archive/tar``.

Measured on this machine (200 MB tar of /usr, ~11k entries): scan_layer ~1.4 GB/s, sha256 alone ~1.8 GB/s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from .. import errors
from ..digest import CHUNK, Digest, Readable
from .compression import DEFAULT_CAP, Compression, open_decompressed

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
# Go's archive/tar refuses PAX and GNU long-name bodies over 1 MiB; so do we (bounded memory).
MAX_META_SIZE = 1 << 20
# Hazard 8: entries per layer. The byte cap cannot stop a bomb of empty files (a few KB of gzip can
# declare millions of them, each an inode on apply); real layers stay well below this (~100k).
# Read when a TarStream is made, so every caller (load, pull, import, apply) gets it by default.
MAX_LAYER_ENTRIES = 1_000_000

REGULAR = "0"
HARDLINK = "1"
SYMLINK = "2"
CHARDEV = "3"
BLOCKDEV = "4"
DIRECTORY = "5"
FIFO = "6"
CONTIGUOUS = "7"
GNU_SPARSE = "S"
_HEADER_ONLY = frozenset({HARDLINK, SYMLINK, CHARDEV, BLOCKDEV, DIRECTORY, FIFO})
_META_TYPES = frozenset({"x", "g", "L", "K"})

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


@dataclass
class TarEntry:
    name: str  # as stored (after PAX/GNU overrides), not cleaned
    type: str  # one-character typeflag; REGULAR for "\0" and "7"
    size: int  # body size in the archive (0 for header-only types)
    mode: int  # permission bits with setuid/setgid/sticky (file type bits stripped)
    uid: int
    gid: int
    mtime_ns: int
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)

    @property
    def is_regular(self) -> bool:
        return self.type == REGULAR

    @property
    def basename(self) -> str:
        return self.name.rstrip("/").rpartition("/")[2]


def _corrupt(reason: str) -> errors.DataCorrupt:
    return errors.DataCorrupt(f"invalid layer tar: {reason}")


def _number(field_bytes: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit is set."""
    if field_bytes and field_bytes[0] & 0x80:
        value = int.from_bytes(field_bytes, "big", signed=False)
        # Clear the marker bit; a set sign bit (0xff) means a negative number, kept as two's complement.
        bits = len(field_bytes) * 8
        if field_bytes[0] == 0xFF:
            return value - (1 << bits)
        return value & ((1 << (bits - 1)) - 1)
    text = field_bytes.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise _corrupt(f"bad numeric field {field_bytes!r}") from None


def _text(field_bytes: bytes) -> str:
    return field_bytes.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _checksum_ok(header: bytes) -> bool:
    stored = _number(header[148:156])
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    if stored == unsigned:
        return True
    # Some old tars summed signed bytes.
    signed = sum(b - 256 if b > 127 else b for b in header[:148] + header[156:]) + 8 * 32
    return stored == signed


def _pax_records(body: bytes) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(body):
        if body[pos] == 0:
            break  # NUL padding
        space = body.find(b" ", pos)
        if space < 0:
            raise _corrupt("bad PAX record")
        try:
            length = int(body[pos:space])
        except ValueError:
            raise _corrupt("bad PAX record length") from None
        end = pos + length
        if length <= 0 or end > len(body) or body[end - 1 : end] != b"\n":
            raise _corrupt("bad PAX record length")
        key, eq, value = body[space + 1 : end - 1].partition(b"=")
        if not eq:
            raise _corrupt("bad PAX record")
        records[key.decode("utf-8", "surrogateescape")] = value
        pos = end
    return records


def _pax_time_ns(value: bytes) -> int:
    text = value.decode("ascii", "replace")
    whole, _, frac = text.partition(".")
    try:
        seconds = int(whole)
        nanos = int((frac + "000000000")[:9]) if frac else 0
    except ValueError:
        raise _corrupt(f"bad PAX time {text!r}") from None
    return seconds * 1_000_000_000 + (-nanos if text.startswith("-") else nanos)


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

    def _meta_body(self, size: int) -> bytes:
        if size > MAX_META_SIZE:
            raise errors.TooLarge("tar metadata entry", MAX_META_SIZE)
        body = self._take(size)
        if len(body) < size:
            raise _corrupt("unexpected EOF inside a metadata entry")
        self._skip(-size % BLOCK)
        return body

    def entries(self) -> Iterator[TarEntry]:
        pax: dict[str, bytes] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            self._skip(self._body_left + self._pad_left)
            self._body_left = self._pad_left = 0
            header = self._take(BLOCK)
            if len(header) < BLOCK:
                if header:
                    raise _corrupt("unexpected EOF inside a header")
                if pax or long_name is not None or long_link is not None:
                    raise _corrupt("unexpected EOF after an extended header")
                return  # EOF at a header boundary: accepted, like Go's reader
            if header == _ZERO_BLOCK:
                return  # end-of-archive marker; finish() drains the rest
            if not _checksum_ok(header):
                raise _corrupt("header checksum mismatch")
            typeflag = chr(header[156]) if header[156] else "\0"
            size = _number(header[124:136])
            if size < 0:
                raise _corrupt("negative size")
            if typeflag in _META_TYPES:
                body = self._meta_body(size)
                if typeflag == "x":
                    pax.update(_pax_records(body))
                elif typeflag == "L":
                    long_name = _text(body)
                elif typeflag == "K":
                    long_link = _text(body)
                # "g" (PAX global) is ignored, as Docker does
                continue

            name = _text(header[0:100])
            magic = header[257:265]
            if magic[:6] == b"ustar\0":  # POSIX ustar: a name prefix may precede the name
                prefix = _text(header[345:500])
                if prefix:
                    name = f"{prefix}/{name}"
            if long_name is not None:
                name = long_name
            linkname = long_link if long_link is not None else _text(header[157:257])
            entry = TarEntry(
                name=name,
                type=typeflag,
                size=size,
                mode=_number(header[100:108]) & 0o7777,
                uid=_number(header[108:116]),
                gid=_number(header[116:124]),
                mtime_ns=_number(header[136:148]) * 1_000_000_000,
                linkname=linkname,
                devmajor=_number(header[329:337]) if typeflag in (CHARDEV, BLOCKDEV) else 0,
                devminor=_number(header[337:345]) if typeflag in (CHARDEV, BLOCKDEV) else 0,
            )
            if pax:
                _apply_pax(entry, pax)
            pax, long_name, long_link = {}, None, None
            if entry.type in ("\0", CONTIGUOUS):
                # Old (v7) tars mark directories only by a trailing slash.
                entry.type = DIRECTORY if entry.type == "\0" and entry.name.endswith("/") else REGULAR
            if entry.type in _HEADER_ONLY:
                entry.size = 0
            self._body_left = entry.size
            self._pad_left = -entry.size % BLOCK
            self.entry_count += 1
            if self._max_entries is not None and self.entry_count > self._max_entries:
                raise errors.TooLarge("layer entry count", self._max_entries, "entries")
            yield entry


def _apply_pax(entry: TarEntry, pax: dict[str, bytes]) -> None:
    def text(key: str) -> str:
        return pax[key].decode("utf-8", "surrogateescape")

    def integer(key: str) -> int:
        try:
            return int(pax[key])
        except ValueError:
            raise _corrupt(f"bad PAX {key}") from None

    if "path" in pax:
        entry.name = text("path")
    if "linkpath" in pax:
        entry.linkname = text("linkpath")
    if "size" in pax:
        entry.size = integer("size")
        if entry.size < 0:
            raise _corrupt("negative size")
    if "uid" in pax:
        entry.uid = integer("uid")
    if "gid" in pax:
        entry.gid = integer("gid")
    if "mtime" in pax:
        entry.mtime_ns = _pax_time_ns(pax["mtime"])
    for key, value in pax.items():
        if key.startswith("SCHILY.xattr."):
            entry.xattrs[key[len("SCHILY.xattr.") :]] = value


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
