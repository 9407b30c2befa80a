"""The one tar header parser: ustar, GNU and PAX headers decoded as Go's archive/tar (Docker's reader) does."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockyard import errors
from dockyard.archive.tarstream import OTHER, TarReader
from dockyard.layers import tarheader as th
from dockyard.layers.scan import TarStream

pytestmark = pytest.mark.unit


def header(name: str = "f", *, fmt: int = tarfile.USTAR_FORMAT, size: int = 0, type: bytes = tarfile.REGTYPE,
           **attrs: object) -> bytes:
    """The header bytes (extended headers included) tarfile writes for one entry."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = type
    info.mode = 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info.tobuf(fmt, "utf-8", "surrogateescape")


def with_checksum(block: bytearray | bytes) -> bytes:
    block = bytearray(block)
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def read_all(data: bytes) -> list[th.TarHeader]:
    """Every entry of a tar via read_header, skipping bodies as a reader would."""
    stream = io.BytesIO(data)

    def skip(n: int) -> None:
        stream.seek(n, io.SEEK_CUR)

    out = []
    while (h := th.read_header(stream.read, skip)) is not None:
        out.append(h)
        skip(h.size + (-h.size % th.BLOCK))
    return out


def tar_bytes(fmt: int, *entries: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for member, data in entries:
            if member.type == tarfile.REGTYPE:
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return buf.getvalue()


def pax(records: bytes, *, type: bytes = tarfile.XHDTYPE) -> bytes:
    """A PAX extended header with exactly this body (padded to the block)."""
    return header("PaxHeader", type=type, size=len(records)) + records + bytes(-len(records) % th.BLOCK)


def info(name: str, type: bytes = tarfile.REGTYPE, **attrs: object) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = type
    for key, value in attrs.items():
        setattr(ti, key, value)
    return ti


# --- numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    (b"0000644\0", 0o644),
    (b"644 \0\0\0\0", 0o644),  # space-terminated, as old tars write
    (b"   644 \0", 0o644),  # leading spaces
    (b"00000001234\0", 0o1234),
    (b"\0" * 8, 0),
    (b" " * 8, 0),
    (b"", 0),
    (b"0000007\0garbage", 7),  # everything after the first NUL is padding
    (b"77777777777\0", 8**11 - 1),
])
def test_octal_numbers(field: bytes, value: int) -> None:
    assert th.parse_number(field) == value


@pytest.mark.parametrize("field", [b"-000007\0", b"+000007\0", b"0000_07\0", b"0000089\0", b"00 0644\0", b"abc\0",
                                   b"\t644\0"])
def test_octal_numbers_hold_only_octal_digits(field: bytes) -> None:
    with pytest.raises(th.HeaderError):
        th.parse_number(field)


@pytest.mark.parametrize(("field", "value"), [
    (b"\x80" + bytes(6) + b"\x05", 5),
    (b"\x80\x00\x00\x00\x3b\x9a\xca\x00", 10**9),
    (b"\x80" + (2**80).to_bytes(11, "big"), 2**80),  # a 12-byte size or mtime field
    (b"\xff" * 8, -1),
    (b"\xff" * 7 + b"\xfe", -2),
    (b"\xff" + bytes(7), -(256**7)),
    # Bit 6 of the first byte is the sign (Go, GNU tar): 0xc0.. is negative, not a huge positive number.
    (b"\xc0" + bytes(7), -(2**62)),
    (b"\xbf" + b"\xff" * 7, 2**62 - 1),
])
def test_base256_numbers(field: bytes, value: int) -> None:
    assert th.parse_number(field) == value


@pytest.mark.parametrize("value", [0, 1, 2**21, 10**9, 2**33, 256**7 - 1, -1, -12345, -(256**7)])
def test_base256_round_trips_pythons_writer(value: int) -> None:
    field = tarfile.itn(value, 8, tarfile.GNU_FORMAT)
    assert th.parse_number(field) == value == tarfile.nti(field)


def test_text_fields_end_at_the_first_nul() -> None:
    assert th.parse_text(b"a/b\0c\0\0") == "a/b"
    assert th.parse_text(b"x" * 100) == "x" * 100
    assert th.parse_text(b"caf\xe9\0") == "caf\udce9"  # not UTF-8: kept byte for byte as a surrogate


# --- checksums --------------------------------------------------------------------------------------------


def test_checksum_of_a_written_header() -> None:
    block = header("some/file", size=5)
    assert th.checksum_ok(block)
    assert th.decode(block).name == "some/file"


def test_checksum_summed_as_signed_bytes_is_accepted() -> None:
    block = bytearray(header("caf\u00e9-\u00fc"))  # non-ASCII name: bytes over 127
    block[148:156] = b" " * 8
    signed = sum(b - 256 if b > 127 else b for b in block)
    assert 0 < signed < sum(block)
    block[148:156] = b"%06o\0 " % signed
    assert th.checksum_ok(bytes(block))
    assert th.decode(bytes(block)).name == "caf\u00e9-\u00fc"


def test_checksum_mismatch() -> None:
    block = bytearray(header("some/file"))
    block[3] ^= 0x01
    assert not th.checksum_ok(bytes(block))
    with pytest.raises(th.HeaderError) as info:
        th.decode(bytes(block))
    assert info.value.reason == "header checksum mismatch"
    assert isinstance(info.value, errors.DataCorrupt)


def test_garbage_is_a_checksum_mismatch() -> None:
    with pytest.raises(th.HeaderError) as info:
        th.decode(b"hello world" * 46 + b"he")
    assert info.value.reason == "header checksum mismatch"


def test_uncommon_number_forms_are_decoded_too() -> None:
    block = bytearray(header("f", size=10))
    block[100:108] = b"  644 \0\0"  # not what the fast path expects
    block[124:136] = b"\x80" + (10).to_bytes(11, "big")
    block = with_checksum(block)
    decoded = th.decode(block)
    assert (decoded.mode, decoded.size) == (0o644, 10)


# --- one block --------------------------------------------------------------------------------------------


def test_ustar_fields_and_name_prefix() -> None:
    name = "p" * 120 + "/" + "n" * 90
    block = header(name, size=7, uid=1000, gid=100, mtime=1_700_000_000, mode=0o4755)
    assert len(block) == th.BLOCK  # fits ustar with a prefix: no extended header
    decoded = th.decode(block)
    assert decoded == th.TarHeader(name=name, type=th.REGULAR, size=7, mode=0o4755, uid=1000, gid=100,
                                   mtime_ns=1_700_000_000 * 10**9)


def test_mode_drops_the_file_type_bits() -> None:
    block = bytearray(header("f"))
    block[100:108] = b"0100644\0"
    assert th.decode(with_checksum(block)).mode == 0o644


def test_devices_carry_numbers() -> None:
    (dev,) = read_all(header("dev/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3) + th.ZERO_BLOCK)
    assert (dev.type, dev.devmajor, dev.devminor) == (th.CHARDEV, 1, 3)


def test_gnu_headers_have_no_name_prefix() -> None:
    block = bytearray(header("f", fmt=tarfile.GNU_FORMAT))
    assert block[257:265] == b"ustar  \0"
    block[345:357] = b"00000000001\0"  # GNU's atime lives where ustar keeps the prefix
    assert th.decode(with_checksum(block)).name == "f"


def test_end_of_archive() -> None:
    assert th.is_end_block(th.ZERO_BLOCK)
    assert not th.is_end_block(header())
    assert read_all(b"") == []
    assert read_all(th.ZERO_BLOCK * 2 + b"anything") == []


def test_truncated_header() -> None:
    with pytest.raises(th.HeaderError, match="unexpected EOF inside a header"):
        read_all(header()[:300])


# --- entries: extensions and normalisation ----------------------------------------------------------------


def test_pax_overrides() -> None:
    data = tar_bytes(tarfile.PAX_FORMAT, (info("n" * 150, uid=3_000_000, gid=7, mtime=1.5, pax_headers={
        "SCHILY.xattr.user.k": "v\u00e9", "mtime": "1700000000.123456789", "comment": "ignored"}), b"hello"),
        (info("next"), b""))
    entry, nxt = read_all(data)
    assert entry.name == "n" * 150
    assert (entry.size, entry.uid, entry.gid) == (5, 3_000_000, 7)
    assert entry.mtime_ns == 1_700_000_000_123_456_789
    assert entry.xattrs == {"user.k": "v\u00e9".encode()}
    # Extended headers belong to the one entry after them.
    assert (nxt.name, nxt.uid, nxt.xattrs) == ("next", 0, {})


def test_pax_linkpath_and_size() -> None:
    body = b"x" * 700
    data = (pax(b"14 linkpath=t\n") + header("l", type=tarfile.SYMTYPE, linkname="short")
            + pax(b"12 size=700\n") + header("big", size=0) + body + bytes(-len(body) % th.BLOCK)
            + header("after", size=1) + b"z" + bytes(511))
    got = [(e.name, e.type, e.linkname, e.size) for e in read_all(data)]
    assert got == [("l", th.SYMLINK, "t", 0), ("big", th.REGULAR, "", 700), ("after", th.REGULAR, "", 1)]


def test_pax_global_headers_are_ignored() -> None:
    (entry,) = read_all(pax(b"20 path=from-global\n", type=tarfile.XGLTYPE) + header("a"))
    assert entry.name == "a"


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_names_and_links(fmt: int) -> None:
    name, target = "d/" + "n" * 300, "t/" + "l" * 300
    data = tar_bytes(fmt, (info(name + "-file"), b"abc"), (info(name + "-hard", tarfile.LNKTYPE, linkname=target),
                     b""), (info(name + "-sym", tarfile.SYMTYPE, linkname=target), b""), (info("short"), b""))
    got = [(e.name, e.type, e.linkname, e.size) for e in read_all(data)]
    assert got == [(name + "-file", th.REGULAR, "", 3), (name + "-hard", th.HARDLINK, target, 0),
                   (name + "-sym", th.SYMLINK, target, 0), ("short", th.REGULAR, "", 0)]


def test_gnu_long_name_block_layout() -> None:
    data = tar_bytes(tarfile.GNU_FORMAT, (info("x" * 200), b""))
    assert data[156:157] == b"L"  # really a GNU long-name entry
    (entry,) = read_all(data)
    assert entry.name == "x" * 200


def test_type_normalisation_and_header_only_types() -> None:
    v7_dir = bytearray(header("old-dir/"))
    v7_dir[156] = 0
    v7_file = bytearray(header("old-file", size=1))
    v7_file[156] = 0
    contiguous = bytearray(header("contig", size=1))
    contiguous[156] = ord("7")
    data = (with_checksum(v7_dir) + with_checksum(v7_file) + b"x" + bytes(511)
            + with_checksum(contiguous) + b"y" + bytes(511))
    # The header-only types ignore their size fields: no body follows them (Go's and Python's readers).
    for type_ in (tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE,
                  tarfile.FIFOTYPE):
        data += header("h" + type_.decode(), type=type_, size=1000)
    data += header("last")
    got = [(e.name, e.type, e.size) for e in read_all(data)]
    assert got == [("old-dir/", th.DIRECTORY, 0), ("old-file", th.REGULAR, 1), ("contig", th.REGULAR, 1),
                   ("h2", th.SYMLINK, 0), ("h1", th.HARDLINK, 0), ("h5/", th.DIRECTORY, 0),
                   ("h3", th.CHARDEV, 0), ("h4", th.BLOCKDEV, 0), ("h6", th.FIFO, 0), ("last", th.REGULAR, 0)]


def test_negative_sizes() -> None:
    block = bytearray(header("neg"))
    block[124:136] = b"\xff" * 12
    with pytest.raises(th.HeaderError, match="negative size"):
        read_all(with_checksum(block))
    data = tar_bytes(tarfile.PAX_FORMAT, (info("f", pax_headers={"size": "-1"}), b""))
    with pytest.raises(th.HeaderError, match="negative size"):
        read_all(data)


def test_eof_after_an_extended_header() -> None:
    data = tar_bytes(tarfile.GNU_FORMAT, (info("x" * 200), b""))
    with pytest.raises(th.HeaderError, match="unexpected EOF after an extended header"):
        read_all(data[:1024])
    with pytest.raises(th.HeaderError, match="unexpected EOF inside a metadata entry"):
        read_all(data[:600])


def test_metadata_bodies_are_capped() -> None:
    block = header("././@LongLink", type=b"L", size=th.MAX_META_SIZE + 1)
    with pytest.raises(errors.TooLarge):
        read_all(block + bytes(th.MAX_META_SIZE + 512))


# --- PAX records ------------------------------------------------------------------------------------------


def test_pax_records() -> None:
    assert th.parse_pax(b"") == {}
    assert th.parse_pax(b"10 path=a\n12 path=b=c\n") == {"path": b"b=c"}  # later wins; value keeps its "="
    assert th.parse_pax(b"9 empty=\n") == {"empty": b""}
    assert th.parse_pax(b"13 k=line\nnl\n") == {"k": b"line\nnl"}  # the length, not a newline, ends a record
    value = "é" * 50
    record = f"path={value}\n".encode()
    length = len(record) + 4
    assert th.parse_pax(b"%d %s" % (length, record)) == {"path": value.encode()}


def test_pax_nul_padding_is_ignored() -> None:
    assert th.parse_pax(b"10 path=a\n" + bytes(502)) == {"path": b"a"}
    assert th.parse_pax(bytes(10)) == {}


@pytest.mark.parametrize("body", [
    b"10 path=a\n\0junk",  # data hidden after NUL padding
    b"10 path=a\n\0\0\0\0\0\0\x01",
    b"3 \n",  # an empty record
    b"nospace",
    b"10 path=a",  # the length runs to the end but no newline ends the record
    b"9 pathab\n",  # no "="
    b"6 =ab\n",  # empty key
    b"9 p\0th=a\n",  # NUL in the key
])
def test_malformed_pax_records(body: bytes) -> None:
    with pytest.raises(th.HeaderError, match="bad PAX record"):
        th.parse_pax(body)


@pytest.mark.parametrize("body", [
    b"12 path=a\n",  # longer than the body
    b"10 path=ab\n",  # too short: the record would not end in a newline
    b"2 path=a\n",
    b"0 path=a\n",
    b"-10 path=a\n",
    b"+10 path=a\n",
    b"1_0 path=a\n",
    b"x1 path=a\n",
    b" 10 path=a\n",
])
def test_malformed_pax_lengths(body: bytes) -> None:
    with pytest.raises(th.HeaderError, match="bad PAX record length"):
        th.parse_pax(body)


def test_a_minimal_pax_record() -> None:
    assert th.parse_pax(b"5 a=\n") == {"a": b""}


@pytest.mark.parametrize(("value", "ns"), [
    (b"1700000000", 1_700_000_000 * 10**9),
    (b"1700000000.5", 1_700_000_000_500_000_000),
    (b"1.1234567899", 1_123_456_789),  # beyond nanoseconds: dropped
    (b"1.", 10**9),
    (b"+2", 2 * 10**9),
    (b"-1.5", -1_500_000_000),
    (b"-0.25", -250_000_000),
])
def test_pax_times(value: bytes, ns: int) -> None:
    assert th.pax_time_ns(value) == ns


@pytest.mark.parametrize("value", [b"", b"abc", b"1.x", b"1.-5", b"1_0", b" 1", b"1.5.5", b"--1"])
def test_bad_pax_times(value: bytes) -> None:
    with pytest.raises(th.HeaderError, match="bad PAX time"):
        th.pax_time_ns(value)


@pytest.mark.parametrize("key", ["size", "uid", "gid"])
def test_bad_pax_integers(key: str) -> None:
    data = tar_bytes(tarfile.PAX_FORMAT, (info("f", pax_headers={key: "12x"}), b""))
    with pytest.raises(th.HeaderError, match=f"bad PAX {key}"):
        read_all(data)


def test_a_pax_body_padded_with_nuls_inside_its_size() -> None:
    body = b"15 path=padded\n"
    (entry,) = read_all(pax(body + bytes(512 - len(body))) + header("short"))
    assert entry.name == "padded"


# --- the two readers built on it ---------------------------------------------------------------------------


def test_readers_report_header_errors_under_their_own_prefix() -> None:
    bad = bytearray(header("f"))
    bad[0] ^= 1
    with pytest.raises(errors.DataCorrupt, match="^invalid layer tar: header checksum mismatch$"):
        list(TarStream(io.BytesIO(bytes(bad))).entries())
    with pytest.raises(errors.DataCorrupt, match="^invalid tar archive: header checksum mismatch$"):
        list(TarReader(io.BytesIO(bytes(bad))).entries())


def test_archive_reader_treats_devices_as_header_only() -> None:
    data = header("dev", type=tarfile.CHRTYPE, size=512) + header("manifest.json", size=2) + b"[]" + bytes(510)
    reader = TarReader(io.BytesIO(data + bytes(1024)))
    got = []
    for entry in reader.entries():
        got.append((entry.name, entry.type, reader.read(100)))
    reader.finish()
    assert got == [("dev", OTHER, b""), ("manifest.json", th.REGULAR, b"[]")]


def test_archive_reader_accepts_nul_padded_pax_bodies() -> None:
    body = b"22 path=manifest.json\n"
    data = pax(body + bytes(512 - len(body))) + header("m")
    (entry,) = list(TarReader(io.BytesIO(data + bytes(1024))).entries())
    assert entry.name == "manifest.json"
