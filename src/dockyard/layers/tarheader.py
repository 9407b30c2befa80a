"""Tar headers: 512-byte blocks (plus PAX and GNU long-name entries) decoded into one typed record.

The one header parser behind the layer scanner (``layers.scan``) and the image-archive reader
(``archive.tarstream``). It knows what real layers and archives contain: ustar with a name prefix, GNU
(long names ``L``/``K``, base-256 numbers) and PAX (``path``, ``linkpath``, ``size``, ``uid``, ``gid``,
``mtime``, ``SCHILY.xattr.*``; global headers ignored, as Docker does). Where tar readers differ we follow
Go's ``archive/tar``, the reader Docker applies layers with, so we accept and refuse what it does:

- base-256 numbers are two's complement with the sign in bit 6 of the first byte (GNU tar, Go);
- octal fields hold only octal digits between optional NUL/space padding (no sign, no ``_``);
- header-only types (links, devices, directories, FIFOs) carry no body whatever their size says;
- a PAX record is ``"%d %s=%s\\n"`` with an exact decimal length and a non-empty key without NUL.
  The one leniency, shared with Python's ``tarfile``: NUL padding after the last record is ignored
  (some writers pad the body to its block), though only if nothing but NULs follows.

Errors are ``HeaderError`` with a short ``reason``; each reader reports it under its own prefix
("invalid layer tar: …", "invalid tar archive: …"). Reading bytes, skipping bodies and capping entry
counts stay with the readers, which differ in what they do with the bytes (hash, copy, verify).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import errors

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
# Go's archive/tar refuses PAX and GNU long-name bodies over 1 MiB; so do we (bounded memory).
MAX_META_SIZE = 1 << 20

REGULAR = "0"
HARDLINK = "1"
SYMLINK = "2"
CHARDEV = "3"
BLOCKDEV = "4"
DIRECTORY = "5"
FIFO = "6"
CONTIGUOUS = "7"
GNU_SPARSE = "S"
PAX_HEADER = "x"
PAX_GLOBAL = "g"
GNU_LONGNAME = "L"
GNU_LONGLINK = "K"
HEADER_ONLY = frozenset({HARDLINK, SYMLINK, CHARDEV, BLOCKDEV, DIRECTORY, FIFO})
META_TYPES = frozenset({PAX_HEADER, PAX_GLOBAL, GNU_LONGNAME, GNU_LONGLINK})
_XATTR = "SCHILY.xattr."


class HeaderError(errors.DataCorrupt):
    """A malformed tar header or extended header; ``reason`` is the detail a reader reports."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid tar header: {reason}")
        self.reason = reason


@dataclass(slots=True)
class TarHeader:
    name: str  # as stored (after PAX/GNU overrides), not cleaned
    type: str  # one-character typeflag; REGULAR for "\0" and "7" once extensions are applied
    size: int  # body size in the archive (0 for header-only types once extensions are applied)
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


# --- fields -------------------------------------------------------------------------------------------


def parse_number(field_bytes: bytes) -> int:
    """A numeric field: octal text, or GNU base-256 when the first byte's high bit is set."""
    first = field_bytes[0] if field_bytes else 0
    if first & 0x80:
        # Two's complement over the bits after the marker bit; bit 6 of the first byte is the sign.
        value = int.from_bytes(field_bytes, "big") & ((1 << (len(field_bytes) * 8 - 1)) - 1)
        if first & 0x40:
            value -= 1 << (len(field_bytes) * 8 - 1)
        return value
    text = field_bytes.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    # int() would also take a sign, "_" separators and other whitespace; tar fields hold none of them.
    if not text.isdigit():
        raise HeaderError(f"bad numeric field {field_bytes!r}")
    try:
        return int(text, 8)
    except ValueError:  # an 8 or a 9
        raise HeaderError(f"bad numeric field {field_bytes!r}") from None


def parse_text(field_bytes: bytes) -> str:
    """A string field: up to the first NUL; bytes that are not UTF-8 survive as surrogates."""
    return field_bytes.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _byte_sum(block: bytes) -> int:
    # adler32's low half is 1 + the byte sum mod 65521; 256 bytes sum to at most 65280, so each half
    # of the block gives its exact sum at C speed (sum() over 512 ints was most of a header's cost).
    return (zlib.adler32(block[:256]) & 0xFFFF) + (zlib.adler32(block[256:]) & 0xFFFF) - 2


def checksum_ok(block: bytes) -> bool:
    """The stored checksum matches the header summed as unsigned bytes or, as some old tars did, signed
    bytes; the checksum field itself counts as eight spaces."""
    try:
        stored = parse_number(block[148:156])
    except HeaderError:
        return False
    return _checksum_matches(block, stored)


def _checksum_matches(block: bytes, stored: int) -> bool:
    unsigned = _byte_sum(block) - sum(block[148:156]) + 8 * 0x20
    if stored == unsigned:
        return True
    high = sum(1 for b in block[:148] + block[156:] if b > 127)
    return stored == unsigned - 256 * high


def is_end_block(block: bytes) -> bool:
    """An all-zero block: the end-of-archive marker (the first of its two blocks is enough, as in
    Python's tarfile; what follows is the reader's business)."""
    return block == ZERO_BLOCK


# --- PAX ----------------------------------------------------------------------------------------------


def parse_pax(body: bytes) -> dict[str, bytes]:
    """The records of a PAX extended header body; later records for a key replace earlier ones."""
    records: dict[str, bytes] = {}
    pos = 0
    end_of_body = len(body)
    while pos < end_of_body:
        if body[pos] == 0:
            if body.count(0, pos) != end_of_body - pos:
                raise HeaderError("bad PAX record")
            break  # NUL padding to the block
        space = body.find(b" ", pos, pos + 21)  # a decimal length fits in 20 digits
        if space < 0:
            raise HeaderError("bad PAX record")
        digits = body[pos:space]
        if not digits.isdigit():
            raise HeaderError("bad PAX record length")
        end = pos + int(digits)
        if end <= space + 1 or end > end_of_body or body[end - 1] != 0x0A:
            raise HeaderError("bad PAX record length")
        key, eq, value = body[space + 1 : end - 1].partition(b"=")
        if not eq or not key or b"\0" in key:
            raise HeaderError("bad PAX record")
        records[key.decode("utf-8", "surrogateescape")] = value
        pos = end
    return records


def pax_time_ns(value: bytes) -> int:
    """A PAX time (``[+-]digits[.digits]`` seconds, as Go parses it) in nanoseconds; digits past
    nanoseconds are dropped."""
    whole, _, frac = value.partition(b".")
    digits = whole[1:] if whole[:1] in (b"-", b"+") else whole
    if not digits.isdigit() or (frac and not frac.isdigit()):
        raise HeaderError(f"bad PAX time {value.decode('ascii', 'replace')!r}")
    ns = int(digits) * 1_000_000_000 + (int((frac + b"00000000")[:9]) if frac else 0)
    return -ns if whole.startswith(b"-") else ns


def _pax_integer(pax: dict[str, bytes], key: str) -> int:
    value = pax[key]
    digits = value[1:] if value[:1] in (b"-", b"+") else value
    if not digits.isdigit():
        raise HeaderError(f"bad PAX {key}")
    return int(value)


def apply_pax(header: TarHeader, pax: dict[str, bytes]) -> None:
    """Override a header's fields with the PAX records that precede it."""
    if "path" in pax:
        header.name = pax["path"].decode("utf-8", "surrogateescape")
    if "linkpath" in pax:
        header.linkname = pax["linkpath"].decode("utf-8", "surrogateescape")
    if "size" in pax:
        header.size = _pax_integer(pax, "size")
    if "uid" in pax:
        header.uid = _pax_integer(pax, "uid")
    if "gid" in pax:
        header.gid = _pax_integer(pax, "gid")
    if "mtime" in pax:
        header.mtime_ns = pax_time_ns(pax["mtime"])
    for key, value in pax.items():
        if key.startswith(_XATTR):
            header.xattrs[key[len(_XATTR) :]] = value


# --- one block ----------------------------------------------------------------------------------------


# What Go, GNU tar and Python write in the numeric fields from mode to checksum: zero-padded octal
# digits ending in NUL (the checksum in six digits, NUL, space). Matching them at once is about twice
# as fast as six parse_number calls, and headers are most of the cost of a layer of small files.
_USUAL_NUMBERS = re.compile(rb"([0-7]{7})\0([0-7]{7})\0([0-7]{7})\0([0-7]{11})\0([0-7]{11})\0([0-7]{6})\0 ")


def decode(block: bytes) -> TarHeader:
    """One 512-byte header block as stored: checksum checked, no extensions applied, type not normalised."""
    usual = _USUAL_NUMBERS.match(block, 100, 156)
    if usual is not None:
        stored = int(usual[6], 8)
    else:
        try:
            stored = parse_number(block[148:156])
        except HeaderError:
            raise HeaderError("header checksum mismatch") from None
    # Checked before any other field, so a block of garbage is reported as such.
    if not _checksum_matches(block, stored):
        raise HeaderError("header checksum mismatch")
    if usual is not None:
        mode, uid, gid = int(usual[1], 8), int(usual[2], 8), int(usual[3], 8)
        size, mtime = int(usual[4], 8), int(usual[5], 8)
    else:
        mode, uid, gid = parse_number(block[100:108]), parse_number(block[108:116]), parse_number(block[116:124])
        size, mtime = parse_number(block[124:136]), parse_number(block[136:148])
    typeflag = chr(block[156]) if block[156] else "\0"
    name = parse_text(block[0:100])
    if block[257:263] == b"ustar\0":  # POSIX ustar: a name prefix may precede the name (GNU has none)
        prefix = parse_text(block[345:500])
        if prefix:
            name = f"{prefix}/{name}"
    device = typeflag == CHARDEV or typeflag == BLOCKDEV
    return TarHeader(
        name=name,
        type=typeflag,
        size=size,
        mode=mode & 0o7777,
        uid=uid,
        gid=gid,
        mtime_ns=mtime * 1_000_000_000,
        linkname=parse_text(block[157:257]),
        devmajor=parse_number(block[329:337]) if device else 0,
        devminor=parse_number(block[337:345]) if device else 0,
    )


# --- one entry ----------------------------------------------------------------------------------------


def read_header(take: Callable[[int], bytes], skip: Callable[[int], None]) -> TarHeader | None:
    """The next entry's header with any PAX/GNU extended headers before it applied; None at the
    end-of-archive marker or at EOF on a header boundary (accepted, like Go's reader).

    ``take(n)`` returns ``n`` bytes, or fewer at EOF; ``skip(n)`` passes over ``n`` bytes (the padding
    after an extended header's body). On return the stream is at the entry's body, ``size`` bytes long
    and padded to the block; the type is normalised (REGULAR for ``"\\0"``/``"7"``, DIRECTORY for an old
    ``"\\0"`` entry named with a trailing slash) and header-only types have size 0.
    """
    pax: dict[str, bytes] | None = None
    long_name: str | None = None
    long_link: str | None = None
    while True:
        block = take(BLOCK)
        if len(block) < BLOCK:
            if block:
                raise HeaderError("unexpected EOF inside a header")
            if pax is not None or long_name is not None or long_link is not None:
                raise HeaderError("unexpected EOF after an extended header")
            return None
        if is_end_block(block):
            return None
        header = decode(block)
        if header.size < 0:
            raise HeaderError("negative size")
        if header.type not in META_TYPES:
            break
        size = header.size
        if size > MAX_META_SIZE:
            raise errors.TooLarge("tar metadata entry", MAX_META_SIZE)
        body = take(size)
        if len(body) < size:
            raise HeaderError("unexpected EOF inside a metadata entry")
        skip(-size % BLOCK)
        if header.type == PAX_HEADER:
            if pax is None:
                pax = parse_pax(body)
            else:
                pax.update(parse_pax(body))
        elif header.type == GNU_LONGNAME:
            long_name = parse_text(body)
        elif header.type == GNU_LONGLINK:
            long_link = parse_text(body)
        # PAX_GLOBAL is ignored, as Docker does
    if long_name is not None:
        header.name = long_name
    if long_link is not None:
        header.linkname = long_link
    if pax:
        apply_pax(header, pax)
        if header.size < 0:
            raise HeaderError("negative size")
    if header.type == "\0" or header.type == CONTIGUOUS:
        # Old (v7) tars mark directories only by a trailing slash.
        header.type = DIRECTORY if header.type == "\0" and header.name.endswith("/") else REGULAR
    if header.type in HEADER_ONLY:
        header.size = 0
    return header
