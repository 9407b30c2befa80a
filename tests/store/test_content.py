"""Content-store conformance: commit, resume, abort, mismatches, duplicates, odd sizes and algorithms, damage."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import DigestMismatch, InvalidDigest, Locked, NotFound, SizeMismatch, TooLarge
from dockyard.store import Store
from dockyard.store.content import ContentStore
from dockyard.store.paths import StorePaths

pytestmark = pytest.mark.unit


def blob_file(store: Store, d: Digest) -> Path:
    return store.root / "content" / "blobs" / d.algorithm / d.hex


def test_put_bytes_commits_a_read_only_blob_under_its_digest(store: Store) -> None:
    data = b"hello, content store\n"
    d = store.content.put_bytes(data)
    assert d == Digest.of(data)
    path = blob_file(store, d)
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.content.has(d) and store.content.size(d) == len(data)
    assert store.content.read_bytes(d) == data
    assert store.content.ingests() == []
    assert list(store.content.iter_blobs()) == [(d, len(data))]


def test_empty_blob(store: Store) -> None:
    d = store.content.put_bytes(b"")
    assert str(d) == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert store.content.size(d) == 0
    assert store.content.read_bytes(d) == b""


def test_sha512_blob_is_stored_under_its_algorithm(store: Store) -> None:
    data = b"x" * 1000
    expected = Digest.of(data, "sha512")
    with store.content.writer("k512", expected=expected, expected_size=len(data)) as w:
        w.write(data)
        assert w.commit() == expected
    assert blob_file(store, expected).read_bytes() == data
    with store.content.open_verified(expected) as r:
        assert r.read() == data


def test_commit_with_sha512_expected_on_a_sha256_writer(store: Store) -> None:
    data = b"late algorithm"
    with store.content.writer("late") as w:
        w.write(data)
        assert w.commit(expected=Digest.of(data, "sha512")) == Digest.of(data, "sha512")


def test_missing_blob_is_not_found(store: Store) -> None:
    d = Digest.of(b"absent")
    assert not store.content.has(d)
    with pytest.raises(NotFound):
        store.content.size(d)
    with pytest.raises(NotFound):
        store.content.open(d)
    with pytest.raises(NotFound):
        store.content.read_bytes(d)


def test_partial_ingest_resumes_at_its_offset(store: Store) -> None:
    data = os.urandom(300_000)
    d = Digest.of(data)
    with store.content.writer("pull/x", expected=d, expected_size=len(data)) as w:
        assert w.offset == 0
        w.write(data[:123_456])
    # Leaving without commit keeps the partial data; nothing is visible under the digest.
    assert not store.content.has(d)
    [info] = store.content.ingests()
    assert (info.key, info.offset, info.expected, info.total, info.locked) == ("pull/x", 123_456, d, len(data), False)
    with store.content.writer("pull/x", expected=d, expected_size=len(data)) as w:
        assert w.offset == 123_456
        w.write(data[w.offset :])
        assert w.commit() == d
    assert store.content.read_bytes(d) == data
    assert store.content.ingests() == []


def test_resume_with_another_expected_digest_restarts(store: Store) -> None:
    with store.content.writer("k", expected=Digest.of(b"first")) as w:
        w.write(b"fir")
    with store.content.writer("k", expected=Digest.of(b"second")) as w:
        assert w.offset == 0
        w.write(b"second")
        w.commit()
    assert store.content.has(Digest.of(b"second"))


def test_truncate_restarts_the_ingest(store: Store) -> None:
    with store.content.writer("k") as w:
        w.write(b"garbage-from-a-200-response")
        w.truncate(0)
        assert w.offset == 0
        w.write(b"good")
        assert w.commit() == Digest.of(b"good")
    with store.content.writer("k2") as w:
        w.write(b"keepXXX")
        w.truncate(4)
        w.write(b"!")
        assert w.commit() == Digest.of(b"keep!")


def test_abort_removes_the_ingest(store: Store) -> None:
    with store.content.writer("k") as w:
        w.write(b"partial")
        w.abort()
    assert store.content.ingests() == []
    assert list((store.root / "content" / "ingest").iterdir()) == []


def test_digest_mismatch_discards_and_commits_nothing(store: Store) -> None:
    wanted = Digest.of(b"the real thing")
    with store.content.writer("k", expected=wanted) as w:
        w.write(b"an impostor!!!")
        with pytest.raises(DigestMismatch) as info:
            w.commit()
    assert info.value.expected == str(wanted)
    assert info.value.actual == str(Digest.of(b"an impostor!!!"))
    assert info.value.size == 14
    assert not store.content.has(wanted)
    assert not store.content.has(Digest.of(b"an impostor!!!"))
    assert store.content.ingests() == []


def test_short_body_is_a_size_mismatch(store: Store) -> None:
    data = b"0123456789"
    with store.content.writer("k", expected=Digest.of(data), expected_size=10) as w:
        w.write(data[:7])
        with pytest.raises(SizeMismatch):
            w.commit()
    assert not store.content.has(Digest.of(data))
    assert store.content.ingests() == []


def test_long_body_fails_on_the_first_extra_byte(store: Store) -> None:
    with store.content.writer("k", expected_size=4) as w:
        w.write(b"1234")
        with pytest.raises(SizeMismatch):
            w.write(b"5")
    assert list(store.content.iter_blobs()) == []


def test_duplicate_commits_both_succeed(store: Store) -> None:
    data = b"same bytes, two writers"
    first = store.content.writer("a")
    second = store.content.writer("b")
    first.write(data)
    second.write(data)
    assert first.commit() == second.commit() == Digest.of(data)
    assert list(store.content.iter_blobs()) == [(Digest.of(data), len(data))]
    assert store.content.ingests() == []
    assert store.content.put_bytes(data) == Digest.of(data)


def test_commit_replaces_a_damaged_blob_of_the_wrong_size(store: Store) -> None:
    data = b"original content"
    d = store.content.put_bytes(data)
    path = blob_file(store, d)
    os.chmod(path, 0o644)
    path.write_bytes(b"orig")
    assert store.content.put_bytes(data) == d
    assert store.content.read_bytes(d) == data


def test_second_writer_on_a_key_is_refused_with_holder(store: Store) -> None:
    with store.content.writer("pull/sha256:ab"):
        with pytest.raises(Locked) as info:
            store.content.writer("pull/sha256:ab", wait=False)
        assert f'ingest "pull/sha256:ab" is locked by pid {os.getpid()} (for 0s)' == str(info.value)
        with pytest.raises(Locked):
            store.content.writer("pull/sha256:ab", timeout=0.2)
        [info_row] = store.content.ingests()
        assert info_row.holder_pid == os.getpid()
    with store.content.writer("pull/sha256:ab", wait=False) as w:
        w.write(b"free again")


def test_lock_held_by_another_process_names_it(store: Store) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from dockyard.store import Store
        s = Store.open(Path({str(store.root)!r}))
        with s.content.writer("shared-key") as w:
            w.write(b"abc")
            print("ready", flush=True)
            sys.stdin.readline()
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(Locked) as info:
            store.content.writer("shared-key", wait=False)
        assert f"locked by pid {child.pid}" in str(info.value)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.wait()
    with store.content.writer("shared-key", wait=False) as w:
        assert w.offset == 3


def test_open_verified_detects_an_edited_blob(store: Store) -> None:
    data = os.urandom(3 * 1024 * 1024)
    d = store.content.put_bytes(data)
    path = blob_file(store, d)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(2_000_000)
        f.write(b"\x00rot")
    with store.content.open_verified(d) as r, pytest.raises(DigestMismatch):
        r.read()
    with pytest.raises(DigestMismatch):
        store.content.read_bytes(d)


def test_open_verified_detects_a_truncated_blob(store: Store) -> None:
    data = b"0123456789" * 1000
    d = store.content.put_bytes(data)
    path = blob_file(store, d)
    os.chmod(path, 0o644)
    os.truncate(path, 5000)
    with store.content.open_verified(d, expected_size=len(data)) as r, pytest.raises(SizeMismatch):
        r.read()
    with store.content.open_verified(d) as r, pytest.raises(DigestMismatch):
        r.read()


def test_read_bytes_is_capped(store: Store) -> None:
    d = store.content.put_bytes(b"x" * 2048)
    assert store.content.read_bytes(d, limit=2048) == b"x" * 2048
    with pytest.raises(TooLarge):
        store.content.read_bytes(d, limit=2047)


@pytest.mark.parametrize("hex_part", ["../../etc/passwd", "AB" * 32, "ab"])
def test_hand_made_digests_never_become_paths(store: Store, hex_part: str) -> None:
    bogus = Digest("sha256", hex_part)
    with pytest.raises(InvalidDigest):
        store.content.path(bogus)
    with pytest.raises(InvalidDigest):
        store.content.has(bogus)


class Chunky(io.RawIOBase):
    """A non-seekable stream that hands out odd-sized chunks and counts how much it was asked for."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.largest_read = max(self.largest_read, size)
        n = min(size if size >= 0 else len(self._data), 777_777)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk


def test_put_stream_reads_in_chunks(store: Store) -> None:
    data = os.urandom(5 * 1024 * 1024 + 17)
    stream = Chunky(data)
    d, size = store.content.put_stream(stream, expected_size=len(data))
    assert (d, size) == (Digest.of(data), len(data))
    assert 0 < stream.largest_read <= 1 << 20
    assert store.content.read_bytes(d, limit=len(data)) == data


def test_put_stream_mismatch_leaves_nothing(store: Store) -> None:
    data = b"stream body"
    with pytest.raises(DigestMismatch):
        store.content.put_stream(io.BytesIO(data), expected=Digest.of(b"other"))
    assert list(store.content.iter_blobs()) == []
    assert store.content.ingests() == []


def test_put_stream_resumes_a_keyed_ingest_from_a_seekable_stream(store: Store) -> None:
    data = os.urandom(2_000_000)
    d = Digest.of(data)
    with store.content.writer("load/layer", expected=d) as w:
        w.write(data[:1_500_000])

    class Counting(io.BytesIO):
        served = 0

        def read(self, size: int = -1) -> bytes:  # type: ignore[override]
            chunk = super().read(size)
            self.served += len(chunk)
            return chunk

    stream = Counting(data)
    assert store.content.put_stream(stream, key="load/layer", expected=d) == (d, len(data))
    assert stream.served == 500_000  # only the missing tail was read


def test_put_stream_restarts_when_the_stream_cannot_seek(store: Store) -> None:
    data = os.urandom(100_000)
    d = Digest.of(data)
    with store.content.writer("k", expected=d) as w:
        w.write(b"Z" * 50_000)  # not even the right bytes: a resume would be wrong
    assert store.content.put_stream(Chunky(data), key="k", expected=d) == (d, len(data))


def test_put_file(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"file body")
    assert store.content.put_file(src) == (Digest.of(b"file body"), 9)


def test_delete(store: Store) -> None:
    d = store.content.put_bytes(b"to go")
    store.content.delete(d)
    assert not store.content.has(d)
    store.content.delete(d)  # absent is fine


def test_collect_stale_ingests_skips_locked_and_fresh_ones(store: Store) -> None:
    with store.content.writer("old") as w:
        w.write(b"old")
    with store.content.writer("fresh") as w:
        w.write(b"fresh")
    old_dir = store.root / "content" / "ingest" / hashlib.sha256(b"old").hexdigest()
    (old_dir / "updatedat").write_text("1000.0")
    held = store.content.writer("held")
    held.write(b"held")
    (store.root / "content" / "ingest" / hashlib.sha256(b"held").hexdigest() / "updatedat").write_text("1000.0")
    assert store.content.collect_stale_ingests(older_than=60) == 1
    assert sorted(i.key for i in store.content.ingests()) == ["fresh", "held"]
    held.close()


def test_standalone_content_store_without_metadata(tmp_path: Path) -> None:
    paths = StorePaths(tmp_path / "root")
    paths.make_dirs()
    content = ContentStore(paths)
    d = content.put_bytes(b"no database needed")
    assert content.read_bytes(d) == b"no database needed"


def test_ingest_shares_its_hash_only_while_it_holds_just_the_new_bytes(store: Store) -> None:
    ingest = store.content.writer("shared-hash")
    assert ingest.shares_hash()
    ingest.write(b"abc")
    ingest.write(memoryview(b"def"))
    assert ingest.offset == 6 and ingest.written_digest() == Digest.of(b"abcdef")
    ingest.close()
    resumed = store.content.writer("shared-hash")
    assert resumed.offset == 6 and not resumed.shares_hash()  # earlier bytes: a caller must hash itself
    assert resumed.written_digest() == Digest.of(b"abcdef")
    assert resumed.commit(expected=Digest.of(b"abcdef"), expected_size=6) == Digest.of(b"abcdef")


def test_a_layer_scanned_into_an_ingest_is_hashed_once_and_still_verified(store: Store) -> None:
    from dockyard.layers.scan import scan_compressed, scan_layer

    data = _small_tar({"a": b"x" * 5000, "b/c": b"y"})
    ingest = store.content.writer("scan-shared")
    scan = scan_layer(io.BytesIO(data), sink=ingest)
    assert scan.diff_id == Digest.of(data) and scan.size == len(data)
    assert ingest.commit(expected=scan.diff_id, expected_size=scan.size) == Digest.of(data)
    assert blob_file(store, Digest.of(data)).read_bytes() == data

    import gzip

    packed = gzip.compress(data)
    ingest = store.content.writer("scan-shared-gz")
    cs = scan_compressed(io.BytesIO(packed), compressed_sink=ingest)
    assert cs.compressed_digest == Digest.of(packed) and cs.layer.diff_id == Digest.of(data)
    with pytest.raises(DigestMismatch):
        ingest.commit(expected=Digest.of(b"something else"))


def test_a_shared_hash_refuses_a_sink_that_took_other_bytes(store: Store) -> None:
    from dockyard.errors import DataCorrupt
    from dockyard.layers.scan import TarStream

    data = _small_tar({"a": b"x"})
    ingest = store.content.writer("scan-extra")
    tar = TarStream(io.BytesIO(data), ingest)
    list(tar.entries())
    tar.finish()
    ingest.write(b"extra")  # not seen by the scan
    with pytest.raises(DataCorrupt):
        tar.digest
    ingest.abort()


def _small_tar(files: dict[str, bytes]) -> bytes:
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()
