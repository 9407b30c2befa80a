"""Layer compression: detection by magic, capped streaming decompression, reproducible compression."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zlib

import pytest
import zstandard

from dockyard import errors
from dockyard.layers.compression import (
    Compression,
    compressing_writer,
    detect,
    open_decompressed,
)

pytestmark = pytest.mark.unit

PAYLOAD = os.urandom(300_000) + b"layer bytes " * 50_000


class Trickle:
    """A non-seekable source that returns at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = memoryview(data)
        self._step = step

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        out, self._data = bytes(self._data[:n]), self._data[n:]
        return out


def read_all(reader, size: int = 65536) -> bytes:
    out = bytearray()
    while chunk := reader.read(size):
        assert len(chunk) <= size
        out += chunk
    return bytes(out)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


COMPRESSORS = {
    Compression.NONE: lambda d: d,
    Compression.GZIP: gz,
    Compression.ZSTD: zst,
    Compression.BZIP2: bz2.compress,
    Compression.XZ: lambda d: lzma.compress(d, format=lzma.FORMAT_XZ),
}


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x1f\x8b\x08\x00", Compression.GZIP),
        (b"\x1f\x8b\x07\x00", Compression.NONE),  # gzip magic with an unknown method
        (b"\x28\xb5\x2f\xfd\x00", Compression.ZSTD),
        (b"\x50\x2a\x4d\x18", Compression.ZSTD),  # skippable frame 0x184D2A50
        (b"\x5f\x2a\x4d\x18", Compression.ZSTD),  # skippable frame 0x184D2A5F
        (b"\x60\x2a\x4d\x18", Compression.NONE),
        (b"BZh91AY", Compression.BZIP2),
        (b"\xfd7zXZ\x00\x00", Compression.XZ),
        (b"\xfd7zXZ", Compression.NONE),  # truncated magic
        (b"bin/\x00\x00", Compression.NONE),
        (b"", Compression.NONE),
    ],
)
def test_detect_by_magic(head: bytes, expected: Compression) -> None:
    assert detect(head) is expected


@pytest.mark.parametrize("compression", list(COMPRESSORS))
def test_round_trip_through_a_pipe(compression: Compression) -> None:
    blob = COMPRESSORS[compression](PAYLOAD)
    found, reader = open_decompressed(Trickle(blob, step=3))
    assert found is compression
    assert read_all(reader, 4096) == PAYLOAD


@pytest.mark.parametrize("compression", [Compression.GZIP, Compression.BZIP2, Compression.XZ, Compression.ZSTD])
def test_concatenated_members_are_all_read(compression: Compression) -> None:
    make = COMPRESSORS[compression]
    blob = make(b"first member\n") + make(b"") + make(b"second member\n")
    _, reader = open_decompressed(io.BytesIO(blob))
    assert reader.read() == b"first member\nsecond member\n"


def test_zstd_skippable_frame_first() -> None:
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"meta!"
    found, reader = open_decompressed(io.BytesIO(skippable + zst(b"payload")))
    assert found is Compression.ZSTD
    assert reader.read() == b"payload"


def test_empty_stream_is_uncompressed_and_empty() -> None:
    found, reader = open_decompressed(io.BytesIO(b""))
    assert found is Compression.NONE
    assert reader.read() == b""


@pytest.mark.parametrize("compression", [Compression.GZIP, Compression.ZSTD, Compression.BZIP2, Compression.XZ])
def test_truncated_stream_is_corrupt(compression: Compression) -> None:
    blob = COMPRESSORS[compression](PAYLOAD)
    _, reader = open_decompressed(io.BytesIO(blob[: len(blob) // 2]))
    with pytest.raises(errors.DataCorrupt):
        read_all(reader)


def test_garbage_after_gzip_is_corrupt() -> None:
    _, reader = open_decompressed(io.BytesIO(gz(b"data") + b"not gzip"))
    with pytest.raises(errors.DataCorrupt):
        read_all(reader)


def test_damaged_gzip_is_corrupt() -> None:
    blob = bytearray(gz(PAYLOAD))
    blob[200:260] = b"\xff" * 60
    _, reader = open_decompressed(io.BytesIO(bytes(blob)))
    with pytest.raises(errors.DataCorrupt):
        read_all(reader)


def _gzip_bomb(total: int) -> bytes:
    # zlib at level 9 reaches deflate's ~1000:1 limit on zeros; isal's fast levels do not.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(total >> 20)]
    return b"".join(parts) + compressor.flush()


def _zstd_bomb(total: int) -> bytes:
    sink = io.BytesIO()
    with compressing_writer(sink, Compression.ZSTD, level=19) as w:
        zeros = bytes(1 << 20)
        for _ in range(total >> 20):
            w.write(zeros)
    return sink.getvalue()


@pytest.mark.parametrize("make_bomb", [_gzip_bomb, _zstd_bomb])
def test_bomb_stops_at_the_cap(make_bomb) -> None:
    cap = 8 << 20
    bomb = make_bomb(256 << 20)
    assert len(bomb) < 300_000  # a few hundred KB at most
    _, reader = open_decompressed(io.BytesIO(bomb), max_output=cap)
    got = 0
    with pytest.raises(errors.TooLarge) as info:
        while chunk := reader.read(1 << 20):
            got += len(chunk)
    assert got <= cap
    assert info.value.limit == cap


def test_output_exactly_at_the_cap_is_fine() -> None:
    _, reader = open_decompressed(io.BytesIO(gz(PAYLOAD)), max_output=len(PAYLOAD))
    assert read_all(reader) == PAYLOAD


def test_cap_applies_to_uncompressed_streams_too() -> None:
    _, reader = open_decompressed(io.BytesIO(b"x" * 1000), max_output=999)
    with pytest.raises(errors.TooLarge):
        read_all(reader)


def _large_window_frame(data: bytes, window_log: int) -> bytes:
    """A frame whose header declares a 2**window_log window (streamed, so no content size shrinks it)."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log)
    compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
    frame = compressor.compress(data) + compressor.flush()
    assert zstandard.get_frame_parameters(frame).window_size == 1 << window_log
    return frame


@pytest.mark.parametrize("prefix", [b"", zst(b"ok")], ids=["first-frame", "later-frame"])
def test_zstd_window_beyond_the_limit_is_refused(prefix: bytes) -> None:
    blob = prefix + _large_window_frame(b"tiny", 28)
    _, reader = open_decompressed(io.BytesIO(blob), max_zstd_window=1 << 20)
    with pytest.raises(errors.TooLarge):
        read_all(reader)
    # The same frames are fine with a larger allowance.
    _, reader = open_decompressed(io.BytesIO(blob), max_zstd_window=1 << 28)
    assert read_all(reader) == b"ok" * bool(prefix) + b"tiny"


def test_zstd_frame_cut_at_a_block_boundary_is_corrupt() -> None:
    # Drop the final bytes (checksum and part of the last block) of a multi-block frame.
    blob = zstandard.ZstdCompressor(write_checksum=True).compress(PAYLOAD)
    for cut in (4, 5, 9):
        _, reader = open_decompressed(io.BytesIO(blob[:-cut]))
        with pytest.raises(errors.DataCorrupt):
            read_all(reader)


def test_gzip_writer_is_reproducible_and_readable_by_gzip() -> None:
    outputs = []
    for _ in range(2):
        sink = io.BytesIO()
        with compressing_writer(sink, Compression.GZIP) as w:
            for i in range(0, len(PAYLOAD), 10_000):
                w.write(PAYLOAD[i : i + 10_000])
        outputs.append(sink.getvalue())
    assert outputs[0] == outputs[1]
    header = outputs[0][:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # no FNAME, no FCOMMENT
    assert header[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert gzip.decompress(outputs[0]) == PAYLOAD


def test_zstd_writer_round_trip_and_leaves_sink_open() -> None:
    sink = io.BytesIO()
    w = compressing_writer(sink, Compression.ZSTD)
    w.write(PAYLOAD)
    w.close()
    assert not sink.closed
    assert zstandard.ZstdDecompressor().decompressobj().decompress(sink.getvalue()) == PAYLOAD


def test_no_writer_for_bzip2() -> None:
    with pytest.raises(errors.Unsupported):
        compressing_writer(io.BytesIO(), Compression.BZIP2)
