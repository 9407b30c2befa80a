"""Digests and the verifying stream wrappers every blob passes through (DESIGN principle 3)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from dockyard.digest import (
    Digest,
    HashingWriter,
    VerifyingReader,
    copy_verified,
    digest_file,
    is_hex_id,
    short_id,
)
from dockyard.errors import DigestMismatch, InvalidDigest, SizeMismatch

pytestmark = pytest.mark.unit

HELLO = hashlib.sha256(b"hello").hexdigest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sha256", "invalid checksum digest format"),
        ("sha256:" + HELLO.upper(), "invalid checksum digest format"),
        ("sha256:" + HELLO[:-1], "invalid checksum digest length"),
        ("sha256:" + HELLO + "0", "invalid checksum digest length"),
        ("md5:" + "a" * 32, "unsupported digest algorithm"),
        ("sha256:../../etc/passwd" + "a" * 50, "invalid checksum digest format"),
        ("SHA256:" + HELLO, "invalid checksum digest format"),
        (":" + HELLO, "invalid checksum digest format"),
    ],
)
def test_bad_digests_are_refused_in_go_digests_words(text: str, message: str) -> None:
    with pytest.raises(InvalidDigest) as info:
        Digest.parse(text)
    assert str(info.value) == message


def test_parse_and_print_round_trip_for_sha256_and_sha512() -> None:
    for data, algorithm in ((b"hello", "sha256"), (b"hello", "sha512")):
        digest = Digest.of(data, algorithm)
        assert Digest.parse(str(digest)) == digest
        assert str(digest) == f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
    assert Digest.of(b"hello").short == HELLO[:12]


def test_ids_and_short_ids() -> None:
    assert is_hex_id(HELLO) and not is_hex_id(HELLO.upper()) and not is_hex_id(HELLO[:-1])
    assert short_id(f"sha256:{HELLO}") == HELLO[:12]
    assert short_id("<missing>") == "<missing>"


def test_verifying_reader_passes_matching_content_in_any_read_size() -> None:
    data = bytes(range(256)) * 5000
    for size in (-1, 1, 4096, 1 << 20):
        reader = VerifyingReader(io.BytesIO(data), Digest.of(data), len(data))
        out = bytearray()
        while chunk := reader.read(size):
            out += chunk
        assert bytes(out) == data and reader.count == len(data)


@pytest.mark.parametrize(
    ("served", "error"),
    [(b"hellx", DigestMismatch), (b"hell", SizeMismatch), (b"hello!", SizeMismatch)],
)
def test_verifying_reader_fails_at_the_end_on_any_difference(served: bytes, error: type[Exception]) -> None:
    reader = VerifyingReader(io.BytesIO(served), Digest.of(b"hello"), 5)
    with pytest.raises(error):
        reader.verify_to_end()


def test_verifying_reader_never_reads_past_one_byte_over_the_size() -> None:
    source = io.BytesIO(b"x" * 10_000_000)
    reader = VerifyingReader(source, Digest.of(b"hello"), 5)
    with pytest.raises(SizeMismatch):
        reader.read(-1)
    assert source.tell() <= 6


def test_hashing_writer_and_digest_file(tmp_path: Path) -> None:
    sink = io.BytesIO()
    writer = HashingWriter(sink)
    writer.write(b"hel")
    writer.write(memoryview(b"lo"))
    assert writer.digest == Digest.of(b"hello") and writer.count == 5 and sink.getvalue() == b"hello"
    path = tmp_path / "blob"
    path.write_bytes(b"hello")
    assert digest_file(str(path)) == (Digest.of(b"hello"), 5)


def test_copy_verified_writes_everything_then_checks() -> None:
    data = b"layer-bytes" * 100_000
    out = io.BytesIO()
    copy_verified(io.BytesIO(data), out.write, Digest.of(data), len(data), buffer=bytearray(4096))
    assert out.getvalue() == data
    with pytest.raises(DigestMismatch) as info:
        copy_verified(io.BytesIO(data[:-1] + b"X"), io.BytesIO().write, Digest.of(data), len(data))
    assert "stored blob digest mismatch" in str(info.value)
    with pytest.raises(SizeMismatch):
        copy_verified(io.BytesIO(data[:-1]), io.BytesIO().write, Digest.of(data), len(data))
    with pytest.raises(SizeMismatch):
        copy_verified(io.BytesIO(data + b"+"), io.BytesIO().write, Digest.of(data), len(data))
