"""The least work a pull can do here, timed beside skopeo and dockyard: where the pull target's floor is.

    .venv/bin/python bench/probes/pull_floor.py HOST:PORT REPO:TAG [N]

"floor" is a plain-Python pull with none of dockyard's code: one raw socket per layer (plain HTTP, no
auth, no retries, no progress, no store), every layer at once, the compressed bytes hashed and written as
they arrive. ``floor+diffid`` also inflates each layer (isal) and hashes the tar on a second thread per
layer, the diff-ID check the registries issue asks for and that skopeo does not do. Each repetition runs
every command once (interleaved); medians of wall and CPU time (user + sys of the process tree).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CHUNK = 1 << 20
MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"


def _get(host: str, port: int, path: str, accept: str | None = None) -> tuple[socket.socket, int, bytes]:
    """Send a GET; return the socket, the Content-Length and any body bytes read with the headers."""
    sock = socket.create_connection((host, port))
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    if accept:
        request += f"Accept: {accept}\r\n"
    sock.sendall((request + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"no response for {path}")
        head += data
    head, rest = head.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    if b" 200 " not in lines[0] + b" ":
        raise ConnectionError(f"{path}: {lines[0].decode()}")
    length = next(int(v) for k, _, v in (line.partition(b":") for line in lines[1:]) if k.strip().lower() == b"content-length")
    return sock, length, rest


def _layer(host: str, port: int, repo: str, digest: str, out: Path, diff_id: bool) -> None:
    from isal import isal_zlib

    sock, length, rest = _get(host, port, f"/v2/{repo}/blobs/{digest}")
    compressed = hashlib.sha256()
    chunks: queue.Queue[bytes | memoryview | None] = queue.Queue(8)

    def check() -> None:  # the diff-ID work: inflate and hash the tar
        inflater, plain = isal_zlib.decompressobj(31), hashlib.sha256()
        while (chunk := chunks.get()) is not None:
            plain.update(inflater.decompress(chunk))

    checker = threading.Thread(target=check) if diff_id else None
    if checker:
        checker.start()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        got = 0
        pieces = [memoryview(rest)] if rest else []
        while got < length:
            if not pieces:
                buf = memoryview(bytearray(min(CHUNK, length - got)))
                n = 0
                while n < len(buf):
                    r = sock.recv_into(buf[n:])
                    if not r:
                        raise ConnectionError("connection closed mid-blob")
                    n += r
                pieces = [buf]
            piece = pieces.pop()
            compressed.update(piece)
            os.write(fd, piece)
            got += len(piece)
            if checker:
                chunks.put(piece)
    finally:
        os.close(fd)
        sock.close()
        if checker:
            chunks.put(None)
            checker.join()
    if "sha256:" + compressed.hexdigest() != digest:
        raise ValueError(f"digest mismatch for {digest}")


def floor_pull(host: str, port: int, repo: str, tag: str, out: Path, diff_id: bool) -> None:
    sock, length, body = _get(host, port, f"/v2/{repo}/manifests/{tag}", MANIFEST_TYPES)
    while len(body) < length:
        body += sock.recv(CHUNK)
    sock.close()
    layers = json.loads(body)["layers"]
    threads = [
        threading.Thread(target=_layer, args=(host, port, repo, layer["digest"], out / f"layer{i}", diff_id))
        for i, layer in enumerate(layers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _timed(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--run":  # one floor pull, in its own process
        _, _, address, name, out, mode = sys.argv
        host, port = address.rsplit(":", 1)
        repo, tag = name.rsplit(":", 1)
        floor_pull(host, int(port), repo, tag, Path(out), mode == "diffid")
        return
    address, name = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    work = Path(tempfile.mkdtemp(prefix="pull-floor-"))
    env_python = sys.executable
    commands = {
        "floor": [env_python, __file__, "--run", address, name, str(work / "out"), "plain"],
        "floor+diffid": [env_python, __file__, "--run", address, name, str(work / "out"), "diffid"],
        "skopeo": ["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{address}/{name}", f"oci:{work / 'out'}"],
        "dockyard": [env_python, "-m", "dockyard", "--root", str(work / "out"), "pull", "-q", f"{address}/{name}"],
    }
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    try:
        for _ in range(reps):
            for label, argv in commands.items():
                shutil.rmtree(work / "out", ignore_errors=True)
                (work / "out").mkdir()
                os.sync()
                results[label].append(_timed(argv))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for label, runs in results.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(f"{label:13s} wall median {statistics.median(walls):.3f} s (min {min(walls):.3f}, max {max(walls):.3f})"
              f"   cpu median {statistics.median(cpus):.3f} s   (n={len(runs)})")


if __name__ == "__main__":
    main()
