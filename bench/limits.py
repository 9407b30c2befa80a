"""The machine's physical limits for the work an image manager does: hashing, gzip, disk writes.

Measured on data shaped like the workload (half random, half word-like text), one core, so each
operation's rate can be read as a fraction of what the hardware allows.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from bench.results import LimitResult
from bench.workload import _words

CHUNK = 1 << 20


def sample_data(nbytes: int) -> bytes:
    """Half random bytes, half word-like text: the mix of the workload's big layers."""
    rng = random.Random(7)
    vocabulary = _words(rng, 8_000)
    text = bytearray()
    while len(text) < nbytes // 2:
        text += (" ".join(rng.choices(vocabulary, k=50_000)) + "\n").encode()
    return os.urandom(nbytes // 2) + bytes(text[: nbytes - nbytes // 2])


def _timed(fn: Callable[[], object], reps: int) -> list[float]:
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _chunks(data: bytes):
    view = memoryview(data)
    for i in range(0, len(view), CHUNK):
        yield view[i : i + CHUNK]


def sha256_all(data: bytes) -> None:
    h = hashlib.sha256()
    for chunk in _chunks(data):
        h.update(chunk)
    h.hexdigest()


def compress_with(make: Callable[[], object], data: bytes) -> bytes:
    compressor = make()
    out = [compressor.compress(chunk) for chunk in _chunks(data)]  # type: ignore[attr-defined]
    out.append(compressor.flush())  # type: ignore[attr-defined]
    return b"".join(out)


def decompress_with(make: Callable[[], object], data: bytes) -> None:
    d = make()
    for chunk in _chunks(data):
        d.decompress(chunk)  # type: ignore[attr-defined]


def disk_write(path: Path, nbytes: int) -> None:
    """Write ``nbytes`` in 1 MiB blocks and fsync: what committing a blob costs at best."""
    block = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(nbytes // CHUNK):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
        path.unlink()


def measure(workdir: Path, *, sample_bytes: int, disk_bytes: int, reps: int) -> list[LimitResult]:
    data = sample_data(sample_bytes)
    results = [LimitResult("sha256 (hashlib)", len(data), _timed(lambda: sha256_all(data), reps))]

    # gzip level 6 is what Go's compress/gzip (docker push) and Python's gzip default to.
    gzip_zlib = lambda: zlib.compressobj(6, zlib.DEFLATED, 31)  # noqa: E731
    results.append(LimitResult("gzip compress, zlib level 6", len(data),
                               _timed(lambda: compress_with(gzip_zlib, data), reps)))
    compressed = compress_with(gzip_zlib, data)
    results.append(LimitResult("gzip decompress, zlib", len(data),
                               _timed(lambda: decompress_with(lambda: zlib.decompressobj(31), compressed), reps),
                               note="rate in uncompressed bytes"))
    try:
        from isal import isal_zlib
    except ImportError:
        results.append(LimitResult("gzip compress, isal", len(data), [], note="isal not installed"))
    else:
        for level in (1, 2):
            make = lambda level=level: isal_zlib.compressobj(level, isal_zlib.DEFLATED, 31)  # noqa: E731
            ratio = len(compress_with(make, data)) / len(data)
            results.append(LimitResult(f"gzip compress, isal level {level}", len(data),
                                       _timed(lambda make=make: compress_with(make, data), reps),
                                       note=f"output {ratio:.0%} of input"))
        results.append(LimitResult(
            "gzip decompress, isal", len(data),
            _timed(lambda: decompress_with(lambda: isal_zlib.decompressobj(31), compressed), reps),
            note="rate in uncompressed bytes"))
    results[1].note = f"output {len(compressed) / len(data):.0%} of input"
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "disk-probe.bin"
    results.append(LimitResult("disk write + fsync (work dir)", disk_bytes,
                               _timed(lambda: disk_write(target, disk_bytes), max(2, reps // 2)),
                               note="1 MiB writes, one fsync at the end"))
    return results
