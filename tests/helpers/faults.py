"""An in-process proxy in front of a real docker-registry that misbehaves on purpose (cut connections,
flipped bytes, 429/5xx with Retry-After) and counts the bytes it serves per path, and the upload bytes it
receives and hands on."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early are part of these tests


@dataclass
class UploadFault:
    """A fault for upload requests (``/blobs/uploads/``) of ``method``: after ``skip`` matching requests
    pass, the next ``times`` ones either hang up after ``cut_after`` request-body bytes or, once the
    body is read, get ``status`` (with ``headers``) instead of the registry's answer."""

    method: str  # "PATCH" or "PUT"
    cut_after: int | None = None
    # A real drop delivers what was sent: hand the bytes read so far to the registry, then end its
    # request early (the registry sees a client that went away mid-body).
    forward_partial: bool = False
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    skip: int = 0
    times: int = 1


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
        self.upload_faults: list[UploadFault] = []
        self.upload_received = 0  # request-body bytes of uploads read from clients
        self.upload_forwarded = 0  # … and handed to the registry
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
                length = int(self.headers.get("Content-Length") or 0)
                uploading = "/blobs/uploads/" in path
                # The client's Host goes on, as a reverse proxy does: the registry builds upload Locations
                # from it, and they must lead back through here.
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                with proxy.lock:
                    proxy.requests.append((method, path, self.headers.get("Range")))
                    if proxy.override_ping is not None and path == "/v2/":
                        self._reply(401, proxy.override_ping)
                        return
                    replaced: tuple[int, dict[str, str]] | None = None
                    for i, (m, fragment, status, extra) in enumerate(proxy.status_once):
                        if m == method and fragment in path:
                            del proxy.status_once[i]
                            replaced = (status, extra)
                            break
                    fault = self._upload_fault(method) if uploading and replaced is None else None
                    cut = proxy.cut_once.pop(next((f for f in proxy.cut_once if f in path and method == "GET"), ""), None)
                    flip = method == "GET" and any(f in path for f in proxy.flip)
                if fault is not None and fault.cut_after is not None:
                    got = self.rfile.read(min(fault.cut_after, length))
                    self._received(uploading, len(got))
                    if fault.forward_partial:
                        self._forward_partial(method, path, headers, got)
                    self._hang_up()
                    return
                body = self.rfile.read(length) if length else None
                self._received(uploading, len(body or b""))
                if replaced is None and fault is not None and fault.status is not None:
                    replaced = (fault.status, fault.headers)
                if replaced is not None:  # the body was read, so the connection stays usable
                    self._reply(*replaced)
                    return
                if uploading and body:
                    with proxy.lock:
                        proxy.upload_forwarded += len(body)
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

            def _upload_fault(self, method: str) -> UploadFault | None:
                for fault in proxy.upload_faults:
                    if fault.method != method or fault.times <= 0:
                        continue
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    return fault
                return None

            def _received(self, uploading: bool, n: int) -> None:
                if uploading:
                    with proxy.lock:
                        proxy.upload_received += n

            def _forward_partial(self, method: str, path: str, headers: dict[str, str], got: bytes) -> None:
                host, port = proxy.upstream.rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=10) as upstream:
                    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
                        f"{k}: {v}\r\n" for k, v in headers.items()) + "Connection: close\r\n\r\n"
                    upstream.sendall(head.encode("latin-1") + got)
                    upstream.shutdown(socket.SHUT_WR)
                    # Wait for the registry to finish with the broken request (it answers or hangs up),
                    # so what it stored is settled before the client asks about it.
                    try:
                        while upstream.recv(65536):
                            pass
                    except OSError:
                        pass
                with proxy.lock:
                    proxy.upload_forwarded += len(got)

            def _hang_up(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _count(self, path: str, n: int) -> None:
                with proxy.lock:
                    proxy.served[path] += n

            def _reply(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler
