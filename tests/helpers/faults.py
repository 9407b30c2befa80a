"""An in-process proxy in front of a real docker-registry that misbehaves on purpose (cut connections,
flipped bytes, 429/5xx with Retry-After) and counts the bytes it serves per path."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
