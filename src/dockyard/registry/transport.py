"""The one seam for HTTP: every registry, token and search request goes through ``Transport``.

- TLS per host comes from ``Hosts`` (certs.d CAs, client pairs, insecure registries).
- Retries are bounded, with exponential backoff and jitter, honouring ``Retry-After``; only for 429, 499,
  5xx (not 501/505) and dropped connections, never for other 4xx.
- Redirects are followed here, by hand, so ``Authorization`` never crosses to another origin.
- Responses are always streamed; ``read_capped`` reads a body with a hard cap.
Tests hand in their own ``httpx.BaseTransport`` (e.g. ``httpx.MockTransport``): that is the seam.
"""

from __future__ import annotations

import email.utils
import errno
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import TooLarge
from .errors import ConnectionFailed, StreamInterrupted
from .hosts import Hosts, TLSConfig

if TYPE_CHECKING:
    import httpx

DOCUMENT_LIMIT = 4 << 20  # manifests, indexes, configs, tag lists
TOKEN_LIMIT = 1 << 20
ERROR_BODY_LIMIT = 64 << 10

USER_AGENT = "dockyard/0.1.0"
# Docker Hub's names (draft-ietf-httpapi-ratelimit-headers), shown to the user on a 429.
RATE_LIMIT_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "docker-ratelimit-source")
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 10

# A body that can be sent again on a retry: bytes, or a factory that makes a fresh iterable each time.
Body = bytes | Callable[[], Iterable[bytes]] | None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included
    base_delay: float = 0.5
    max_delay: float = 16.0
    max_retry_after: float = 120.0  # a longer Retry-After is not waited for; the error is reported

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for retry number ``attempt`` (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def is_retryable_status(status: int) -> bool:
    return status in (429, 499) or (500 <= status < 600 and status not in (501, 505))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After``: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port or _default_port(pa.scheme)) == (
        pb.scheme,
        pb.hostname,
        pb.port or _default_port(pb.scheme),
    )


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def go_method(method: str) -> str:
    """Go's url.Error names the method like ``Get``."""
    return method[:1].upper() + method[1:].lower()


# Go's crypto/tls names for the alerts a server may send, keyed by OpenSSL's reason without its
# SSLV3_/TLSV1_/TLSV13_ and ALERT_ prefixes; Go reports one as "remote error: tls: <name>".
_GO_ALERT_NAMES = {
    "BAD_CERTIFICATE": "bad certificate",
    "CERTIFICATE_REQUIRED": "certificate required",
    "UNKNOWN_CA": "unknown certificate authority",
    "CERTIFICATE_UNKNOWN": "unknown certificate",
    "CERTIFICATE_EXPIRED": "expired certificate",
    "CERTIFICATE_REVOKED": "revoked certificate",
    "UNSUPPORTED_CERTIFICATE": "unsupported certificate",
    "HANDSHAKE_FAILURE": "handshake failure",
    "PROTOCOL_VERSION": "protocol version not supported",
    "INSUFFICIENT_SECURITY": "insufficient security level",
    "ACCESS_DENIED": "access denied",
    "ILLEGAL_PARAMETER": "illegal parameter",
    "DECODE_ERROR": "error decoding message",
    "DECRYPT_ERROR": "error decrypting message",
    "INTERNAL_ERROR": "internal error",
    "UNRECOGNIZED_NAME": "unrecognized name",
    "NO_APPLICATION_PROTOCOL": "no application protocol",
    "UNEXPECTED_MESSAGE": "unexpected message",
}


def _remote_alert(reason: str) -> str | None:
    """``remote error: tls: …`` for an alert the server sent (OpenSSL reason ``…_ALERT_…``), else None."""
    for prefix in ("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_"):
        if reason.startswith(prefix):
            name = reason[len(prefix) :]
            return f"remote error: tls: {_GO_ALERT_NAMES.get(name, name.lower().replace('_', ' '))}"
    return None


def describe_transport_error(method: str, url: str, exc: BaseException) -> tuple[str, bool]:
    """A Go-like message for a failed request and whether it was a TLS failure."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", "") or ""
            alert = _remote_alert(reason)
            if reason == "WRONG_VERSION_NUMBER" or "wrong version number" in str(cause):
                text = "http: server gave HTTP response to HTTPS client"
            elif alert is not None:
                text = alert
            elif isinstance(cause, ssl.SSLCertVerificationError):
                text = f"x509: {cause.verify_message}" if cause.verify_message else str(cause)
                if "unable to get local issuer" in text or "self-signed" in text or "self signed" in text:
                    text = "x509: certificate signed by unknown authority"
            else:
                text = str(cause)
            return f'{go_method(method)} "{url}": {text}', True
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            parts = urlsplit(url)
            port = parts.port or _default_port(parts.scheme)
            return f'{go_method(method)} "{url}": dial tcp {parts.hostname}:{port}: connect: connection refused', False
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f'{go_method(method)} "{url}": x509: certificate signed by unknown authority', True
    if "WRONG_VERSION_NUMBER" in text:
        return f'{go_method(method)} "{url}": http: server gave HTTP response to HTTPS client', True
    if "refused" in text.lower():
        parts = urlsplit(url)
        port = parts.port or _default_port(parts.scheme)
        return f'{go_method(method)} "{url}": dial tcp {parts.hostname}:{port}: connect: connection refused', False
    return f'{go_method(method)} "{url}": {text or type(exc).__name__}', False


# httpcore reads a response 64 KiB per recv() and runs h11's event machinery once per read; for blobs of
# hundreds of MB that machinery was about a fifth of a pull's CPU. recv() returns what the socket holds,
# so a larger limit never delays small responses.
SOCKET_READ_BYTES = 1 << 20
_PLAIN_HTTP = "plain-http"  # the client key for http:// URLs


def _larger_socket_reads() -> None:
    try:
        from httpcore._sync.http11 import HTTP11Connection
    except ImportError:  # a future httpcore layout: keep its default
        return
    if getattr(HTTP11Connection, "READ_NUM_BYTES", SOCKET_READ_BYTES) < SOCKET_READ_BYTES:
        HTTP11Connection.READ_NUM_BYTES = SOCKET_READ_BYTES


class Transport:
    """Owns the HTTP clients (one per TLS configuration, made on first use)."""

    def __init__(
        self,
        *,
        hosts: Hosts | None = None,
        http_transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = USER_AGENT,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.hosts = hosts or Hosts()
        self.retry = retry or RetryPolicy()
        self._http_transport = http_transport
        self._timeout = timeout
        self._sleep = sleep
        self._user_agent = user_agent
        self._clients: dict[TLSConfig | str | None, httpx.Client] = {}
        self._lock = threading.Lock()
        self._seen_warnings: set[str] = set()
        self._on_warning = on_warning

    # -- clients ------------------------------------------------------------------------------------
    def _client_for(self, url: str) -> httpx.Client:
        import httpx

        key: TLSConfig | str | None = None
        if self._http_transport is None:
            parts = urlsplit(url)
            if parts.scheme == "https":
                key = self.hosts.tls_for(parts.netloc)
            elif parts.scheme == "http":
                key = _PLAIN_HTTP
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                kwargs: dict[str, object] = {
                    "timeout": httpx.Timeout(self._timeout, connect=min(30.0, self._timeout)),
                    "follow_redirects": False,
                    "headers": {"User-Agent": self._user_agent, "Accept-Encoding": "identity"},
                }
                if self._http_transport is not None:
                    kwargs["transport"] = self._http_transport
                elif key == _PLAIN_HTTP:
                    # Only ever used for http:// URLs (redirects are followed by us, through this method),
                    # so it needs no SSL context: building the default one loads the CA bundle (~50 ms).
                    kwargs["verify"] = False
                elif key is not None:
                    kwargs["verify"] = key.ssl_context()  # type: ignore[union-attr]
                _larger_socket_reads()
                client = httpx.Client(**kwargs)  # type: ignore[arg-type]
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests -----------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        retry: bool = True,
        follow_redirects: bool = True,
    ) -> httpx.Response:
        """Send and return the (final) response with its body unread; the caller closes it.

        Statuses are not errors here: a 4xx/5xx comes back as a response once retries are spent.
        """
        import httpx

        attempt = 0
        while True:
            try:
                resp = self._send_following(method, url, dict(headers or {}), body, follow_redirects)
            except httpx.TransportError as exc:
                if retry and _retryable_exception(exc) and attempt + 1 < self.retry.attempts:
                    self._sleep(self.retry.backoff(attempt))
                    attempt += 1
                    continue
                message, tls = describe_transport_error(method, url, exc)
                raise ConnectionFailed(message, tls=tls, retryable=_retryable_exception(exc)) from exc
            self._note_warnings(resp)
            self._note_rate_limit(resp)
            if retry and is_retryable_status(resp.status_code) and attempt + 1 < self.retry.attempts:
                delay = self.retry_delay(attempt, resp.headers.get("retry-after"))
                if delay is not None:
                    resp.close()
                    self._sleep(delay)
                    attempt += 1
                    continue
            return resp

    def retry_delay(self, attempt: int, retry_after: str | None = None) -> float | None:
        """The wait before retry number ``attempt`` (0-based): the server's ``Retry-After`` if it sent one,
        else the backoff; None when the server asks for longer than the policy will wait."""
        delay = parse_retry_after(retry_after)
        if delay is None:
            delay = self.retry.backoff(attempt)
        return delay if delay <= self.retry.max_retry_after else None

    def pause(self, seconds: float) -> None:
        """Sleep through the transport's clock (tests hand in their own)."""
        self._sleep(seconds)

    def _send_following(
        self, method: str, url: str, headers: dict[str, str], body: Body, follow: bool
    ) -> httpx.Response:
        for _ in range(_MAX_REDIRECTS + 1):
            content = body() if callable(body) else body
            client = self._client_for(url)
            request = client.build_request(method, url, headers=headers, content=content)
            resp = client.send(request, stream=True)
            location = resp.headers.get("location")
            if not follow or resp.status_code not in _REDIRECTS or not location:
                return resp
            next_url = str(resp.url.join(location))
            resp.close()
            if not same_origin(url, next_url):
                # The credentials belong to the registry, never to the host it redirects to.
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                method = "GET" if method != "HEAD" else method
                body = None
                headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "content-type")}
            url = next_url
        import httpx

        raise httpx.TooManyRedirects(f"stopped after {_MAX_REDIRECTS} redirects", request=request)

    def _note_warnings(self, resp: httpx.Response) -> None:
        if self._on_warning is None:
            return
        for value in resp.headers.get_list("warning"):
            # Only code 299 ("miscellaneous persistent warning") is meant for users.
            if value.startswith("299 ") and value not in self._seen_warnings:
                self._seen_warnings.add(value)
                text = value.split(" ", 2)[-1].strip()
                if text.startswith("- "):
                    text = text[2:].strip()
                self._on_warning(text.strip('"'))


    def _note_rate_limit(self, resp: httpx.Response) -> None:
        """Hazard 25: a 429's rate-limit headers tell the user how long the wait is; Docker's error alone
        does not, so they go out once as a warning."""
        if self._on_warning is None or resp.status_code != 429:
            return
        shown = [f"{name}: {resp.headers[name]}" for name in RATE_LIMIT_HEADERS if name in resp.headers]
        if not shown:
            return
        text = f"rate limited by {resp.url.host}: " + ", ".join(shown)
        if text not in self._seen_warnings:
            self._seen_warnings.add(text)
            self._on_warning(text)


def _retryable_exception(exc: BaseException) -> bool:
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return False  # refused or TLS: the next try fails the same way (an endpoint fallback may help)
    return isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError))


def read_capped(resp: httpx.Response, limit: int, what: str = "response body") -> bytes:
    """Read and close a body, failing with ``TooLarge`` as soon as it exceeds ``limit`` bytes."""
    import httpx

    try:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TooLarge(what, limit)
        buf = bytearray()
        for chunk in resp.iter_bytes():
            buf += chunk
            if len(buf) > limit:
                raise TooLarge(what, limit)
        return bytes(buf)
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise StreamInterrupted(
            f"{go_method(resp.request.method)} \"{resp.request.url}\": {exc or type(exc).__name__}", received=0
        ) from exc
    finally:
        resp.close()


def drain(resp: httpx.Response) -> None:
    """Close a response whose body we do not want, without reading much of it."""
    resp.close()
