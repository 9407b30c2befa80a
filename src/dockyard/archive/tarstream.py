"""Streaming tar for image archives: a sequential reader for ``load`` and a writer for ``save``.

Neither goes through ``tarfile``'s stream mode, whose 10 KiB records cost a Python call per record on a
multi-gigabyte archive: the reader pulls headers 512 bytes at a time but hands entry bodies through in
reads as large as the caller asks (1 MiB), and the writer copies blobs with ``readinto`` into one reused
buffer, hashing as it goes (hazard 24: a blob in the store is re-verified whenever it leaves it).

The reader understands what archive writers produce (Go's ``archive/tar``, GNU tar, skopeo, containerd):
ustar with a name prefix, GNU long names (``L``/``K``) and PAX ``path``/``linkpath``/``size``. It refuses
names that are absolute or climb out of the archive, and caps entry count and metadata sizes.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from .. import errors
from ..digest import CHUNK, Digest, Readable, new_hasher

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
MAX_META_SIZE = 1 << 20  # PAX / GNU long-name bodies, as Go's archive/tar
DEFAULT_MAX_ENTRIES = 1_000_000

REGULAR = "0"
HARDLINK = "1"
SYMLINK = "2"
DIRECTORY = "5"
OTHER = "?"  # devices, FIFOs and the like: never part of an image archive


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


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        value = field[0] & 0x7F
        for byte in field[1:]:
            value = (value << 8) | byte
        if field[0] & 0x40:
            value -= 1 << (8 * len(field) - 1)
        return value
    text = field.split(b"\0", 1)[0].strip(b" \0")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise _corrupt(f"invalid number field {field!r}") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _checksum_ok(header: bytes) -> bool:
    stored = _number(header[148:156])
    unsigned = sum(header[:148]) + 8 * 0x20 + sum(header[156:])
    if stored == unsigned:
        return True
    signed = sum(b - 256 if b > 127 else b for b in header[:148] + header[156:]) + 8 * 0x20
    return stored == signed


def _pax_records(body: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        space = body.find(b" ", pos)
        if space < 0:
            raise _corrupt("malformed PAX record")
        try:
            length = int(body[pos:space])
        except ValueError:
            raise _corrupt("malformed PAX record length") from None
        if length <= space - pos or pos + length > len(body):
            raise _corrupt("malformed PAX record length")
        record = body[space + 1 : pos + length]
        if not record.endswith(b"\n") or b"=" not in record:
            raise _corrupt("malformed PAX record")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


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

    def _meta_body(self, size: int) -> bytes:
        if size > MAX_META_SIZE:
            raise errors.TooLarge("tar metadata entry", MAX_META_SIZE)
        body = self._read_exact(size)
        if len(body) < size:
            raise _corrupt("unexpected EOF inside a metadata entry")
        self._skip(-size % BLOCK)
        return body

    def entries(self) -> Iterator[Entry]:
        pax: dict[str, str] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            self._skip(self._left + self._pad)
            self._left = self._pad = 0
            header = self._read_exact(BLOCK)
            if len(header) < BLOCK:
                if header or pax or long_name is not None or long_link is not None:
                    raise _corrupt("unexpected EOF inside a header")
                return
            if header == _ZERO_BLOCK:
                return
            if not _checksum_ok(header):
                raise _corrupt("header checksum mismatch")
            typeflag = chr(header[156]) if header[156] else "\0"
            size = _number(header[124:136])
            if size < 0:
                raise _corrupt("negative size")
            if typeflag in ("x", "g", "L", "K"):
                body = self._meta_body(size)
                if typeflag == "x":
                    pax.update(_pax_records(body))
                elif typeflag == "L":
                    long_name = _text(body)
                elif typeflag == "K":
                    long_link = _text(body)
                continue
            name = _text(header[0:100])
            if header[257:263] == b"ustar\0":
                prefix = _text(header[345:500])
                if prefix:
                    name = f"{prefix}/{name}"
            if long_name is not None:
                name = long_name
            linkname = long_link if long_link is not None else _text(header[157:257])
            if "path" in pax:
                name = pax["path"]
            if "linkpath" in pax:
                linkname = pax["linkpath"]
            if "size" in pax:
                try:
                    size = int(pax["size"])
                except ValueError:
                    raise _corrupt("invalid PAX size") from None
            pax, long_name, long_link = {}, None, None
            if typeflag in ("\0", "7"):
                typeflag = DIRECTORY if typeflag == "\0" and name.endswith("/") else REGULAR
            elif typeflag == "S":
                raise errors.Unsupported(f"sparse archive entry {name!r} is not supported")
            elif typeflag not in (REGULAR, HARDLINK, SYMLINK, DIRECTORY):
                typeflag = OTHER
            if typeflag in (HARDLINK, SYMLINK, DIRECTORY):
                size = 0  # header-only types carry no body whatever the size field says (Go's reader)
            self.entry_count += 1
            if self.entry_count > self._max_entries:
                raise errors.TooLarge("archive entry count", self._max_entries, "entries")
            self._left = size
            self._pad = -size % BLOCK
            yield Entry(clean_name(name), typeflag, size, linkname)

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
        hasher = new_hasher(digest.algorithm)
        view = memoryview(self._buffer)
        left = size
        while left > 0:
            n = file.readinto(view[: min(len(view), left)])  # type: ignore[attr-defined]
            if not n:
                raise errors.SizeMismatch(str(digest), size, size - left)
            hasher.update(view[:n])
            self._write(view[:n])
            left -= n
        if file.read(1):
            raise errors.SizeMismatch(str(digest), size, size + 1)
        actual = Digest.from_hasher(hasher)
        if actual != digest:
            raise errors.DigestMismatch(str(digest), str(actual), size, what="stored blob")
        self._pad(size)

    def _pad(self, size: int) -> None:
        pad = -size % BLOCK
        if pad:
            self._write(_ZERO_BLOCK[:pad])

    def close(self) -> None:
        self._write(_ZERO_BLOCK * 2)
