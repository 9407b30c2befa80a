"""Pulls through an in-process proxy that misbehaves on purpose: cut connections, flipped bytes, 429/5xx
with Retry-After, a killed puller, two pullers at once, a token realm pointing at a metadata address.

The proxy forwards to a real docker-registry and counts the bytes it serves per path, so resumption is
checked by what actually crossed the wire.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.registry import RegistryServer
from tests.helpers.archives import layer_tar
from tests.helpers.cli import run_cli
from tests.helpers.registry_images import put_image

pytestmark = pytest.mark.integration

DOCKYARD = Path(sys.executable).with_name("dockyard")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early are part of these tests


class FaultProxy:
    def __init__(self, upstream_host: str) -> None:
        self.upstream = upstream_host
        self.lock = threading.Lock()
        self.served: dict[str, int] = defaultdict(int)
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        self.cut_once: dict[str, int] = {}  # path fragment -> cut after N body bytes (first GET only)
        self.flip: set[str] = set()  # path fragments whose body gets one byte flipped
        self.status_once: list[tuple[str, str, int, dict[str, str]]] = []  # (method, fragment, status, headers)
        self.delay = 0.0  # seconds per 64 KiB chunk of blob bodies
        self.override_ping: dict[str, str] | None = None  # headers of a 401 answer to GET /v2/
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bytes_for(self, fragment: str) -> int:
        with self.lock:
            return sum(n for path, n in self.served.items() if fragment in path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                method, path = self.command, self.path
                with proxy.lock:
                    proxy.requests.append((method, path, self.headers.get("Range")))
                    if proxy.override_ping is not None and path == "/v2/":
                        self._reply(401, proxy.override_ping)
                        return
                    for i, (m, fragment, status, headers) in enumerate(proxy.status_once):
                        if m == method and fragment in path:
                            del proxy.status_once[i]
                            self._reply(status, headers)
                            return
                    cut = proxy.cut_once.pop(next((f for f in proxy.cut_once if f in path and method == "GET"), ""), None)
                    flip = method == "GET" and any(f in path for f in proxy.flip)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(key, value)
                self.end_headers()
                if method == "HEAD":
                    conn.close()
                    return
                sent = 0
                flipped = False
                while chunk := resp.read(64 * 1024):
                    if flip and not flipped and len(chunk) > 10:
                        chunk = chunk[:10] + bytes([chunk[10] ^ 0xFF]) + chunk[11:]
                        flipped = True
                    if cut is not None and sent + len(chunk) > cut:
                        chunk = chunk[: cut - sent]
                        self.wfile.write(chunk)
                        self._count(path, len(chunk))
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        conn.close()
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    self._count(path, len(chunk))
                    if proxy.delay and "/blobs/" in path:
                        time.sleep(proxy.delay)
                conn.close()

            def _count(self, path: str, n: int) -> None:
                with proxy.lock:
                    proxy.served[path] += n

            def _reply(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _forward

        return Handler


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    p = FaultProxy(registry.host)
    yield p
    p.stop()


def big_layer(size: int) -> bytes:
    return layer_tar({"big.bin": os.urandom(size)})


def test_cut_connection_resumes_with_range(registry: RegistryServer, proxy: FaultProxy, store_root: Path) -> None:
    img = put_image(registry, "dy/cut", "1", [big_layer(1_500_000)])
    blob = str(img.layer_digests[0])
    proxy.cut_once[blob] = 700_000
    code, out, err = run_cli("pull", f"{proxy.host}/dy/cut:1")
    assert (code, err) == (0, "")
    ranged = [r for m, p, r in proxy.requests if m == "GET" and blob in p and r]
    assert ranged == ["bytes=700000-"]
    assert proxy.bytes_for(blob) == img.layer_sizes[0]  # nothing fetched twice
    with Store.open(store_root) as store:
        assert store.meta.image_for_tag(f"{proxy.host}/dy/cut:1") == img.image_id
        assert store.check() == []


def test_flipped_byte_fails_naming_the_digest_then_a_clean_pull_works(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path
) -> None:
    img = put_image(registry, "dy/flip", "1", [big_layer(300_000)])
    blob = str(img.layer_digests[0])
    proxy.flip.add(blob)
    code, _, err = run_cli("pull", f"{proxy.host}/dy/flip:1")
    assert code == 1
    assert err.startswith(f"filesystem layer verification failed for digest {blob}")
    with Store.open(store_root) as store:
        assert store.meta.all_tags() == [] and store.meta.list_images() == []
        assert not store.content.has(img.layer_digests[0])
        assert store.content.ingests() == []  # the bad bytes are not kept for a resume
    proxy.flip.clear()
    code, _, err = run_cli("pull", f"{proxy.host}/dy/flip:1")
    assert (code, err) == (0, "")


def test_429_and_503_with_retry_after_are_waited_out(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path
) -> None:
    img = put_image(registry, "dy/busy", "1", [layer_tar({"f": b"f" * 100})])
    proxy.status_once.append(("GET", "/manifests/", 429, {"Retry-After": "1"}))
    proxy.status_once.append(("GET", str(img.layer_digests[0]), 503, {"Retry-After": "0"}))
    started = time.monotonic()
    code, _, err = run_cli("pull", f"{proxy.host}/dy/busy:1")
    assert (code, err) == (0, "")
    assert time.monotonic() - started >= 1.0
    gets = [p for m, p, _ in proxy.requests if m == "GET" and "/manifests/" in p]
    assert len(gets) == 2


def test_token_realm_pointing_at_a_metadata_address_is_refused(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path
) -> None:
    proxy.override_ping = {"WWW-Authenticate": 'Bearer realm="http://169.254.169.254/token",service="x"'}
    proxy.status_once.append(
        ("HEAD", "/manifests/", 401, {"WWW-Authenticate": 'Bearer realm="http://169.254.169.254/token",service="x"'})
    )
    code, _, err = run_cli("pull", f"{proxy.host}/dy/any:1")
    assert code == 1
    assert "169.254.169.254" in err and "refusing token realm" in err


def _spawn_pull(ref: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(DOCKYARD), "pull", ref], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_mid_pull_then_the_next_pull_fetches_only_the_rest(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path
) -> None:
    img = put_image(registry, "dy/killed", "1", [big_layer(6_000_000)])
    blob = str(img.layer_digests[0])
    size = img.layer_sizes[0]
    proxy.delay = 0.01
    proc = _spawn_pull(f"{proxy.host}/dy/killed:1")
    deadline = time.monotonic() + 30
    while proxy.bytes_for(blob) < 2_500_000:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = -1
    while first != proxy.bytes_for(blob):  # the proxy may still be writing into the dead socket
        first = proxy.bytes_for(blob)
        time.sleep(0.3)
    assert first < size
    with Store.open(store_root) as store:
        kept = {info.key: info.offset for info in store.content.ingests()}
    held = kept[f"blob/{blob}"]
    assert held > 1_000_000  # what the killed run had written survives as a partial ingest
    proxy.delay = 0.0
    code, _, err = run_cli("pull", f"{proxy.host}/dy/killed:1")
    assert (code, err) == (0, "")
    second = proxy.bytes_for(blob) - first
    # Exactly the part the killed run had not written is fetched again.
    assert second == size - held
    assert any(r and r.startswith("bytes=") for m, p, r in proxy.requests if blob in p and m == "GET")
    with Store.open(store_root) as store:
        assert store.meta.image_for_tag(f"{proxy.host}/dy/killed:1") == img.image_id
        assert store.content.ingests() == []


def test_two_processes_pull_the_same_image_blobs_fetched_once(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path
) -> None:
    img = put_image(registry, "dy/twice", "1", [big_layer(2_000_000), big_layer(1_000_000)])
    proxy.delay = 0.005
    procs = [_spawn_pull(f"{proxy.host}/dy/twice:1") for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    for digest, size in zip(img.layer_digests, img.layer_sizes):
        assert proxy.bytes_for(str(digest)) == size
    with Store.open(store_root) as store:
        assert store.meta.image_for_tag(f"{proxy.host}/dy/twice:1") == img.image_id
        assert store.check() == []
