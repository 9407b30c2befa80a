"""Scanning layer tars: diff IDs over every byte, Docker's content size, long names, compressed input."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from dockyard import errors
from dockyard.layers.compression import Compression
from dockyard.layers.scan import TarStream, scan_compressed, scan_layer
from tests.helpers.rootfs import tar_of_files

pytestmark = pytest.mark.unit


def add(tar: tarfile.TarFile, name: str, *, data: bytes = b"", type: bytes = tarfile.REGTYPE, linkname: str = "",
        **attrs) -> None:
    info = tarfile.TarInfo(name)
    info.type = type
    info.linkname = linkname
    info.mode = 0o755 if type == tarfile.DIRTYPE else 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    if type == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def mixed_layer(fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        add(tar, "d/", type=tarfile.DIRTYPE)
        add(tar, "d/file", data=b"x" * 1000)
        add(tar, "d/small", data=b"hello")
        add(tar, "d/hard", type=tarfile.LNKTYPE, linkname="d/file")
        add(tar, "d/sym", type=tarfile.SYMTYPE, linkname="/etc/päss")  # 10 bytes in UTF-8
        add(tar, "d/.wh.gone")
        add(tar, "d/.wh..wh..opq")
        add(tar, "d/fifo", type=tarfile.FIFOTYPE)
    return buf.getvalue()


def test_sizes_match_a_hand_computed_expectation() -> None:
    blob = mixed_layer()
    scan = scan_layer(io.BytesIO(blob))
    assert scan.content_size == 1000 + 5 + len("/etc/päss".encode())
    assert scan.entries == 8
    assert scan.size == len(blob)
    assert str(scan.diff_id) == "sha256:" + hashlib.sha256(blob).hexdigest()


def test_helper_tar_of_files(tmp_path: Path) -> None:
    path = tar_of_files(tmp_path / "t.tar", {"a": "12345", "b/c": b"\0" * 700}, symlinks={"l": "a"})
    scan = scan_layer(path.open("rb"))
    assert (scan.content_size, scan.entries) == (5 + 700 + 1, 3)


def test_trailing_bytes_after_the_end_marker_count_in_the_digest() -> None:
    blob = mixed_layer() + b"trailing garbage" * 1000
    scan = scan_layer(io.BytesIO(blob))
    assert str(scan.diff_id) == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert scan.size == len(blob)
    assert scan.entries == 8


def test_sink_receives_every_byte() -> None:
    blob = mixed_layer() + bytes(5000)
    sink = io.BytesIO()
    scan_layer(io.BytesIO(blob), sink)
    assert sink.getvalue() == blob


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_long_names_in_every_format(fmt: int) -> None:
    long_dir = "/".join(["segment"] * 20)  # ustar can split this at a slash (prefix + name)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        add(tar, long_dir + "/f", data=b"abc")
        if fmt != tarfile.USTAR_FORMAT:
            add(tar, "n" * 300, data=b"z")
            add(tar, "l", type=tarfile.SYMTYPE, linkname="t" * 150)
    blob = buf.getvalue()
    expected = [(m.name, m.linkname, m.size) for m in tarfile.open(fileobj=io.BytesIO(blob))]
    stream = TarStream(io.BytesIO(blob))
    got = [(e.name, e.linkname, e.size) for e in stream.entries()]
    assert got == expected
    scan = scan_layer(io.BytesIO(blob))
    assert scan.content_size == sum(size for _, _, size in expected) + (150 if fmt != tarfile.USTAR_FORMAT else 0)


def test_gnu_base256_numbers_and_pax_overrides() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        add(tar, "big-ids", data=b"1", uid=10**9, gid=2**33, mtime=2**34)
    entries = list(TarStream(io.BytesIO(buf.getvalue())).entries())
    assert (entries[0].uid, entries[0].gid, entries[0].mtime_ns) == (10**9, 2**33, 2**34 * 10**9)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "x", data=b"2", uid=3_000_000, mtime=1.5,
            pax_headers={"SCHILY.xattr.user.k": "v\u00e9", "mtime": "1700000000.123456789"})
    (entry,) = TarStream(io.BytesIO(buf.getvalue())).entries()
    assert entry.uid == 3_000_000
    assert entry.mtime_ns == 1_700_000_000_123_456_789
    assert entry.xattrs == {"user.k": "v\u00e9".encode()}


def test_entry_bodies_can_be_read_while_streaming() -> None:
    blob = mixed_layer()
    stream = TarStream(io.BytesIO(blob))
    bodies = {}
    for entry in stream.entries():
        if entry.name == "d/small":
            bodies[entry.name] = b"".join(bytes(c) for c in iter(lambda: stream.read(2), b""))
    stream.finish()
    assert bodies == {"d/small": b"hello"}
    assert stream.digest.hex == hashlib.sha256(blob).hexdigest()


def test_corrupt_header_checksum() -> None:
    blob = bytearray(mixed_layer())
    blob[600] ^= 0xFF  # inside the second header's name
    with pytest.raises(errors.DataCorrupt):
        scan_layer(io.BytesIO(bytes(blob)))


def test_truncated_tar() -> None:
    blob = mixed_layer()
    with pytest.raises(errors.DataCorrupt):
        scan_layer(io.BytesIO(blob[:1500]))  # inside d/file's body


def test_entry_cap() -> None:
    with pytest.raises(errors.TooLarge):
        scan_layer(io.BytesIO(mixed_layer()), max_entries=3)


def test_oversized_pax_header_is_refused() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "x", pax_headers={"comment": "c" * (2 << 20)})
    with pytest.raises(errors.TooLarge):
        scan_layer(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("compression", [Compression.NONE, Compression.GZIP])
def test_scan_compressed(compression: Compression) -> None:
    tar_bytes = mixed_layer()
    blob = gzip.compress(tar_bytes, mtime=0) if compression is Compression.GZIP else tar_bytes
    plain, raw = io.BytesIO(), io.BytesIO()
    found, digest, size, scan = scan_compressed(io.BytesIO(blob), sink=plain, compressed_sink=raw)
    assert found is compression
    assert digest.hex == hashlib.sha256(blob).hexdigest()
    assert size == len(blob)
    assert scan.diff_id.hex == hashlib.sha256(tar_bytes).hexdigest()
    assert plain.getvalue() == tar_bytes
    assert raw.getvalue() == blob


def test_scan_compressed_respects_the_cap() -> None:
    blob = gzip.compress(mixed_layer(), mtime=0)
    with pytest.raises(errors.TooLarge):
        scan_compressed(io.BytesIO(blob), max_output=4096)


def _docker(host: str, *args: str, stdin: bytes | None = None) -> str:
    env = {**os.environ, "DOCKER_HOST": host}
    return subprocess.run(["docker", *args], input=stdin, env=env, check=True, capture_output=True,
                          timeout=120).stdout.decode().strip()


def test_sizes_agree_with_docker(docker_engine: str, busybox_tar: Path) -> None:
    # A layer with hardlinks, symlinks and trailing bytes, plus the real busybox rootfs.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "d/", type=tarfile.DIRTYPE)
        add(tar, "d/file", data=b"x" * 1000)
        add(tar, "d/hard", type=tarfile.LNKTYPE, linkname="d/file")
        add(tar, "d/sym", type=tarfile.SYMTYPE, linkname="/some/where/else")
        add(tar, "d/empty")
    crafted = buf.getvalue() + bytes(4096)
    for blob in (crafted, busybox_tar.read_bytes()):
        tag = f"dockyard-scan-test:{uuid.uuid4().hex[:12]}"
        _docker(docker_engine, "import", "-", tag, stdin=blob)
        try:
            size = int(_docker(docker_engine, "image", "inspect", "--format", "{{.Size}}", tag))
            layers = json.loads(_docker(docker_engine, "image", "inspect", "--format", "{{json .RootFS.Layers}}", tag))
        finally:
            _docker(docker_engine, "rmi", tag)
        scan = scan_layer(io.BytesIO(blob))
        assert scan.content_size == size
        assert layers == [str(scan.diff_id)]
