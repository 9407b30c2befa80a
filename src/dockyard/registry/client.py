"""The Distribution API for one registry: ping, manifests, blobs, uploads, tags, catalog.

Callers speak in plain repository names (``library/busybox``) and ``Digest``s; URLs are built here, and
only from names and tags that passed the distribution grammar. Every failed response becomes a typed
error from ``registry.errors`` (Docker's wording). For pulls the endpoints may start with mirrors; a
mirror that fails an operation hands it to the next endpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, TypeVar
from urllib.parse import urlencode, urlsplit

from .. import errors
from ..digest import CHUNK, Digest
from .auth import CATALOG_SCOPE, PULL, PUSH, Authenticator, repository_scope
from .credentials import AuthConfig
from .errors import (
    ConnectionFailed,
    RegistryError,
    StreamInterrupted,
    UploadFailed,
    error_from_response,
    status_text,
)
from .hosts import Endpoint
from .transport import (
    DOCUMENT_LIMIT,
    ERROR_BODY_LIMIT,
    Body,
    Transport,
    is_retryable_status,
    read_capped,
    same_origin,
)

if TYPE_CHECKING:
    import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
ALL_MANIFEST_TYPES: tuple[str, ...] = (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2)

_NAME = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*")
_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*?rel="?next"?', re.IGNORECASE)
_UPLOAD_RANGE = re.compile(r"(?:bytes=)?0-(\d+)")
_SESSION_GONE = ("BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID")

# Blobs up to this size go up in one PUT; larger ones in PATCHes of UPLOAD_CHUNK, so a dropped connection
# costs at most one chunk. Measured against docker-registry 2.8 on loopback: the single PUT is the fastest
# when nothing fails, chunks cost a few per cent for each boundary (see the commit that set these).
MONOLITHIC_UPLOAD_LIMIT = 256 << 20
UPLOAD_CHUNK = 64 << 20

T = TypeVar("T")


@dataclass(frozen=True)
class ManifestHead:
    digest: Digest | None  # None when the registry sent no Docker-Content-Digest
    media_type: str
    size: int | None


@dataclass(frozen=True)
class FetchedManifest:
    raw: bytes  # exactly the bytes that hash to ``digest``
    media_type: str
    digest: Digest


def check_repository(repo: str) -> str:
    if len(repo) > 255 or not _NAME.fullmatch(repo):
        raise errors.InvalidArgument(f"invalid repository name: {repo!r}")
    return repo


def reference_path(ref: str | Digest) -> str:
    """A tag or digest as it goes into ``/manifests/<ref>``, checked first."""
    if isinstance(ref, Digest):
        return str(ref)
    if ":" in ref:
        return str(Digest.parse(ref))
    if not _TAG.fullmatch(ref):
        raise errors.InvalidArgument(f"invalid tag: {ref!r}")
    return ref


def _as_digest(ref: str | Digest) -> Digest | None:
    if isinstance(ref, Digest):
        return ref
    return Digest.parse(ref) if ":" in ref else None


def _media_type(resp: httpx.Response) -> str:
    return resp.headers.get("content-type", "").split(";", 1)[0].strip()


def _content_length(resp: httpx.Response) -> int | None:
    length = resp.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


def _header_digest(resp: httpx.Response) -> Digest | None:
    value = resp.headers.get("docker-content-digest")
    if not value:
        return None
    try:
        return Digest.parse(value.strip())
    except errors.InvalidDigest:
        raise errors.DataCorrupt(f"the registry sent an invalid Docker-Content-Digest: {value!r}") from None


def with_query(url: str, **params: str) -> str:
    """Append parameters to a Location that may already have a query (upload URLs carry ``_state``)."""
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(params)


class BlobStream:
    """A blob body being received. Read it to EOF; wrap it in a VerifyingReader to check it.

    ``offset`` is where the delivered bytes start in the blob: the requested offset when the server
    honoured the range (``resumed``), else 0 (``restarted`` if a range had been asked for).
    Dropped connections raise ``StreamInterrupted`` with how much of *this* response arrived.
    """

    def __init__(self, resp: httpx.Response, *, offset: int, requested: int, total_size: int | None, digest: Digest) -> None:
        self._resp = resp
        # No chunk size: httpx would hold back up to a chunk's worth of bytes when the connection drops.
        self._chunks: Iterator[bytes] = resp.iter_bytes()
        self._pending_error: StreamInterrupted | None = None
        self._buffer = b""
        self.offset = offset
        self.resumed = requested > 0 and offset == requested
        self.restarted = requested > 0 and offset == 0
        self.total_size = total_size
        self.digest = digest
        self.etag = resp.headers.get("etag")
        self.received = 0
        self._eof = False

    @property
    def remaining(self) -> int | None:
        return None if self.total_size is None else self.total_size - self.offset

    def _next_chunk(self) -> bytes:
        import httpx

        try:
            return next(self._chunks)
        except StopIteration:
            return b""
        except (httpx.TransportError, httpx.StreamError) as exc:
            self.close()
            raise StreamInterrupted(
                f"error pulling blob {self.digest}: connection lost after {self.offset + self.received} bytes: "
                f"{exc or type(exc).__name__}",
                received=self.received,
            ) from exc

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [self.read(CHUNK)]
            while parts[-1]:
                try:
                    parts.append(self.read(CHUNK))
                except StreamInterrupted as exc:
                    self._pending_error = exc
                    break
            return b"".join(parts)
        if self._pending_error is not None and not self._buffer:
            error, self._pending_error = self._pending_error, None
            raise error
        if len(self._buffer) >= size:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
            return out
        # Gather the network's small chunks in a list and join once: growing one bytes object by +=
        # copied each MiB about eight times over (a third of a pull's CPU).
        parts = [self._buffer] if self._buffer else []
        have = len(self._buffer)
        self._buffer = b""
        while have < size and not self._eof and self._pending_error is None:
            try:
                chunk = self._read_more()
            except StreamInterrupted as exc:
                if not parts:
                    raise
                # Hand over what did arrive first; the caller sees the drop on its next read.
                self._pending_error = exc
                break
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        if have > size:
            last = parts[-1]
            keep = len(last) - (have - size)
            parts[-1] = last[:keep]
            self._buffer = last[keep:]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _read_more(self) -> bytes:
        if self._eof:
            return b""
        chunk = self._next_chunk()
        if not chunk:
            self._eof = True
            self.close()
            remaining = self.remaining
            if remaining is not None and self.received < remaining:
                raise errors.SizeMismatch(str(self.digest), remaining + self.offset, self.received + self.offset)
            return b""
        self.received += len(chunk)
        remaining = self.remaining
        if remaining is not None and self.received > remaining:
            self._eof = True
            self.close()
            raise errors.SizeMismatch(str(self.digest), remaining + self.offset, self.received + self.offset)
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk

    def close(self) -> None:
        self._resp.close()

    def __enter__(self) -> BlobStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _EndpointState:
    endpoint: Endpoint
    auth: Authenticator


class _UploadSource:
    """The blob's bytes for an upload, read forward from ``open_stream()``, one body at a time.

    A body that starts behind the stream's position (a resume from the registry's status, or a re-send
    after an auth challenge) reopens the stream and reads up to its start, discarding. Reading rather than
    seeking keeps verification whole: a store blob is a verifying reader that hashes every byte it hands
    out and checks the digest at EOF, so a seek would leave it a partial hash to check. The re-read is
    local (hashed at about 1.5 GB/s), far cheaper than sending those bytes again.
    """

    def __init__(self, open_stream: Callable[[], IO[bytes]], digest: Digest, size: int) -> None:
        self._open = open_stream
        self._digest = digest
        self._size = size
        self._stream: IO[bytes] | None = None
        self._position = 0

    def _at(self, offset: int) -> IO[bytes]:
        if self._stream is None or self._position > offset:
            self.close()
            self._stream = self._open()
            self._position = 0
        while self._position < offset:
            self._read(min(CHUNK, offset - self._position))
        return self._stream

    def _read(self, n: int) -> bytes:
        assert self._stream is not None
        chunk = self._stream.read(n)
        if not chunk:
            raise errors.SizeMismatch(str(self._digest), self._size, self._position)
        self._position += len(chunk)
        if self._position == self._size and self._stream.read(1):
            # One read past the end: a verifying stream checks its digest there, before the last bytes go
            # out, and a longer stream is caught.
            raise errors.SizeMismatch(str(self._digest), self._size, self._size + 1)
        return chunk

    def body(self, start: int, length: int) -> Callable[[], Iterator[bytes]]:
        """A body factory for bytes ``[start, start+length)``: each call starts over at ``start``."""

        def chunks() -> Iterator[bytes]:
            self._at(start)
            end = start + length
            while self._position < end:
                yield self._read(min(CHUNK, end - self._position))

        return chunks

    def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream.close()


class _Transient(Exception):
    """An upload request failed in a way worth asking the registry's status about and going on."""

    def __init__(self, error: errors.DockyardError, retry_after: str | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _SessionGone(Exception):
    def __init__(self, error: errors.DockyardError) -> None:
        super().__init__(str(error))
        self.error = error


class _BlobUpload:
    """One blob's upload session(s): see ``RegistryClient.upload_blob``."""

    def __init__(
        self,
        client: RegistryClient,
        state: _EndpointState,
        repo: str,
        digest: Digest,
        size: int,
        source: _UploadSource,
        chunk_size: int | None,
        location: str,
    ) -> None:
        self.client = client
        self.state = state
        self.repo = repo
        self.scopes = [repository_scope(repo, PUSH)]
        self.digest = digest
        self.size = size
        self.source = source
        self.chunk_size = chunk_size
        self.location = location
        self.offset = 0  # what the registry holds of this session, as far as its answers tell
        self.failures = 0
        self.renewed = False

    def run(self) -> None:
        resync = False
        while True:
            try:
                if resync:
                    resync = False
                    self._resync()
                if self.chunk_size is not None and self.offset < self.size:
                    self._patch()
                    continue
                self._finish()
                return
            except _Transient as failure:
                self._wait_or_give_up(failure)
                resync = True
            except _SessionGone as gone:
                if self._renew(gone.error):
                    return

    # -- requests -------------------------------------------------------------------------------------
    def _send(self, method: str, url: str, headers: dict[str, str], body: Body) -> httpx.Response:
        # No transport-level retry: resending a body that the registry may have half-written would append
        # to it (2.8 ignores Content-Range); the status request below decides where to go on from.
        try:
            return self.client._request(self.state, method, url, self.scopes, headers=headers, body=body,
                                        retry=False)
        except ConnectionFailed as exc:
            if exc.retryable:
                raise _Transient(exc) from exc
            raise

    def _failed(self, resp: httpx.Response) -> None:
        status = resp.status_code
        retry_after = resp.headers.get("retry-after")
        try:
            error = self.client._fail(resp)
        except StreamInterrupted as exc:  # the error body broke off: as good as a dropped connection
            raise _Transient(exc) from exc
        # 416: the registry disagrees about where the upload stands; its status says where.
        if is_retryable_status(status) or status == 416:
            raise _Transient(error, retry_after)
        if status == 404 and any(error.has_code(code) for code in _SESSION_GONE):
            raise _SessionGone(error)
        raise error  # semantic (DIGEST_INVALID, SIZE_INVALID, 401/403 after auth …): never retried

    def _patch(self) -> None:
        assert self.chunk_size is not None
        start = self.offset
        n = min(self.chunk_size, self.size - start)
        resp = self._send("PATCH", self.location, {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(n),
            "Content-Range": f"{start}-{start + n - 1}",
        }, self.source.body(start, n))
        if resp.status_code != 202:
            self._failed(resp)
        resp.close()
        self._follow(resp)
        self.offset = start + n

    def _finish(self) -> None:
        start = self.offset
        n = self.size - start
        resp = self._send(
            "PUT",
            with_query(self.location, digest=str(self.digest)),
            {"Content-Type": "application/octet-stream", "Content-Length": str(n)},
            self.source.body(start, n) if n else b"",
        )
        if resp.status_code not in (201, 204):
            self._failed(resp)
        resp.close()
        stored = _header_digest(resp)
        # Distribution verifies a sha512 upload, then names the blob by its canonical sha256: only a
        # digest of the same algorithm can be compared.
        if stored is not None and stored.algorithm == self.digest.algorithm and stored != self.digest:
            raise errors.DigestMismatch(str(self.digest), str(stored), self.size, what="uploaded blob")

    def _follow(self, resp: httpx.Response) -> None:
        # Always the newest Location: 2.8 embeds its state (with the offset) in it.
        location = resp.headers.get("location")
        if location:
            self.location = str(resp.url.join(location))

    # -- recovery -------------------------------------------------------------------------------------
    def _wait_or_give_up(self, failure: _Transient) -> None:
        self.failures += 1
        attempts = self.client.transport.retry.attempts
        delay = None
        if self.failures < attempts:
            delay = self.client.transport.retry_delay(self.failures - 1, failure.retry_after)
        if delay is None:
            why = f"gave up after {self.failures} failed attempts" if self.failures >= attempts else (
                "the registry asks to wait longer than dockyard does")
            raise UploadFailed(
                f"error pushing blob {self.digest} to {self.client.registry}/{self.repo} ({why}): {failure.error}",
                digest=str(self.digest), registry=self.client.registry, attempts=self.failures,
            ) from failure.error
        self.client.transport.pause(delay)

    def _resync(self) -> None:
        """Ask where the upload stands (``GET <location>`` → 204, ``Range: 0-<end>``) and go on from there."""
        resp = self._send("GET", self.location, {}, None)
        if resp.status_code == 404:
            try:
                error = self.client._fail(resp)
            except StreamInterrupted as exc:
                raise _Transient(exc) from exc
            raise _SessionGone(error)
        if resp.status_code != 204:
            self._failed(resp)
        resp.close()
        self._follow(resp)
        m = _UPLOAD_RANGE.fullmatch(resp.headers.get("range", "").strip())
        held = int(m.group(1)) + 1 if m else 0
        if held <= 1 or held > self.size:
            # "0-0" is what 2.8 says for both nothing and one byte: a new session is the only safe
            # start, and costs nothing; a range past the blob's end is not a state to build on.
            self.location = self.client._start_upload(self.state, self.repo)
            held = 0
        self.offset = held

    def _renew(self, error: errors.DockyardError) -> bool:
        """The registry no longer knows the session: True when the blob got there anyway (the finishing PUT
        landed and its answer was lost), else a new session from the start — once."""
        try:
            if self.client.head_blob(self.repo, self.digest) == self.size:
                return True
        except errors.DockyardError:
            pass  # the new session below fails on its own if the registry is really unwell
        if self.renewed:
            raise UploadFailed(
                f"error pushing blob {self.digest} to {self.client.registry}/{self.repo} "
                f"(the upload session was lost twice): {error}",
                digest=str(self.digest), registry=self.client.registry, attempts=self.failures,
            ) from error
        self.renewed = True
        self.location = self.client._start_upload(self.state, self.repo)
        self.offset = 0
        return False


class RegistryClient:
    """One registry (a reference's domain: ``docker.io``, ``localhost:5000``), all its repositories."""

    def __init__(
        self,
        registry: str,
        *,
        transport: Transport | None = None,
        credentials: AuthConfig | None = None,
        endpoints: Sequence[Endpoint] | None = None,
        push: bool = False,
    ) -> None:
        self.registry = registry
        self.transport = transport or Transport()
        chosen = list(endpoints) if endpoints is not None else self.transport.hosts.endpoints(registry, push=push)
        if not chosen:
            raise errors.InvalidArgument(f"no endpoints for registry {registry}")
        # Mirrors never see the registry's credentials.
        self._states = [
            _EndpointState(e, Authenticator(e.url, self.transport, None if e.mirror else credentials))
            for e in chosen
        ]
        self._current: int | None = None
        self._pending_uploads: dict[tuple[str, Digest], str] = {}

    # -- endpoints ----------------------------------------------------------------------------------
    @property
    def endpoint(self) -> Endpoint:
        return self._states[self._ensure_endpoint()].endpoint

    @property
    def authenticator(self) -> Authenticator:
        return self._states[self._ensure_endpoint()].auth

    def ping(self) -> Endpoint:
        """Find the first endpoint that answers ``GET /v2/`` like a registry; remember it."""
        self._current = None
        return self.endpoint

    def _ensure_endpoint(self, start: int = 0) -> int:
        if self._current is not None and start == 0:
            return self._current
        last: errors.DockyardError | None = None
        for index in range(start, len(self._states)):
            try:
                self._probe(self._states[index])
            except (ConnectionFailed, RegistryError) as exc:
                last = exc
                continue
            self._current = index
            return index
        assert last is not None
        raise last

    def _probe(self, state: _EndpointState) -> None:
        url = state.endpoint.url + "/v2/"
        resp = self.transport.request("GET", url)
        try:
            if resp.status_code == 401:
                state.auth.learn(resp)
                return
            if resp.status_code == 200:
                return
            body = read_capped(resp, ERROR_BODY_LIMIT, "error body")
        finally:
            resp.close()
        raise error_from_response(resp.status_code, body)

    def _with_fallback(self, op: Callable[[_EndpointState], T]) -> T:
        index = self._ensure_endpoint()
        while True:
            state = self._states[index]
            try:
                return op(state)
            except (errors.NotFound, errors.Unavailable, errors.Unauthorized, errors.Forbidden):
                if not state.endpoint.mirror or index + 1 >= len(self._states):
                    raise
            index = self._ensure_endpoint(index + 1)

    def _head_with_fallback(self, op: Callable[[_EndpointState], T]) -> T | None:
        """A HEAD through the mirrors; None when the registry has no such object (404)."""
        try:
            return self._with_fallback(op)
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise

    # -- requests -----------------------------------------------------------------------------------
    def _request(
        self,
        state: _EndpointState,
        method: str,
        target: str,
        scopes: Sequence[str],
        *,
        headers: dict[str, str] | None = None,
        body: Body = None,
        retry: bool = True,
    ) -> httpx.Response:
        url = target if "://" in target else state.endpoint.url + target
        # At most two more tries: one after the first challenge, one after insufficient_scope.
        attempts = 3
        for attempt in range(attempts):
            sent = {**(headers or {}), **state.auth.headers(url, scopes)}
            resp = self.transport.request(method, url, headers=sent, body=body, retry=retry)
            if (
                attempt + 1 < attempts
                and resp.status_code in (401, 403)
                and state.auth.retry_headers(resp, scopes, sent) is not None
            ):
                resp.close()
                continue
            return resp
        raise AssertionError("unreachable")

    def _fail(self, resp: httpx.Response) -> RegistryError:
        from .transport import parse_retry_after

        body = b"" if resp.request.method == "HEAD" else read_capped(resp, ERROR_BODY_LIMIT, "error body")
        resp.close()
        return error_from_response(
            resp.status_code,
            body,
            www_authenticate=resp.headers.get_list("www-authenticate"),
            retry_after=parse_retry_after(resp.headers.get("retry-after")),
        )

    def login(self) -> str | None:
        """Check the credentials as ``docker login`` does; returns an identity token if one was issued."""
        state = self._states[self._ensure_endpoint()]
        url = state.endpoint.url + "/v2/"
        challenge = state.auth.challenge
        if challenge is None:
            return None  # the registry wants no authentication
        identity: str | None = None
        if challenge.scheme == "bearer":
            token = state.auth.fetch_token(challenge, [], offline=True)
            identity = token.refresh_token or None
            headers = {"Authorization": f"Bearer {token.value}"}
        else:
            headers = state.auth.headers(url, [])
        resp = self.transport.request("GET", url, headers=headers)
        resp.close()
        if resp.status_code != 200:
            raise errors.Unauthorized(f"login attempt to {url} failed with status: {status_text(resp.status_code)}")
        return identity

    # -- manifests ----------------------------------------------------------------------------------
    def head_manifest(
        self, repo: str, ref: str | Digest, *, accept: Sequence[str] = ALL_MANIFEST_TYPES
    ) -> ManifestHead | None:
        """The cheap "up to date?" check: digest, type and size, or None when there is no such manifest."""
        path = f"/v2/{check_repository(repo)}/manifests/{reference_path(ref)}"
        scopes = [repository_scope(repo, PULL)]

        def op(state: _EndpointState) -> ManifestHead:
            resp = self._request(state, "HEAD", path, scopes, headers={"Accept": ", ".join(accept)})
            if resp.status_code != 200:
                raise self._fail(resp)
            resp.close()
            digest = _header_digest(resp) or _as_digest(ref)
            return ManifestHead(digest, _media_type(resp), _content_length(resp))

        return self._head_with_fallback(op)

    def get_manifest(
        self, repo: str, ref: str | Digest, *, accept: Sequence[str] = ALL_MANIFEST_TYPES
    ) -> FetchedManifest:
        """Fetch a manifest or index, checked against the digest asked for or announced (hazard 14)."""
        path = f"/v2/{check_repository(repo)}/manifests/{reference_path(ref)}"
        scopes = [repository_scope(repo, PULL)]
        wanted = _as_digest(ref)

        def op(state: _EndpointState) -> FetchedManifest:
            resp = self._request(state, "GET", path, scopes, headers={"Accept": ", ".join(accept)})
            if resp.status_code != 200:
                raise self._fail(resp)
            announced = _header_digest(resp)
            media_type = _media_type(resp)
            raw = read_capped(resp, DOCUMENT_LIMIT, "manifest")
            expected = wanted or announced
            digest = Digest.of(raw, expected.algorithm if expected else "sha256")
            if expected is not None and digest != expected:
                raise errors.DigestMismatch(str(expected), str(digest), len(raw), what="manifest")
            if wanted is not None and announced is not None and announced != wanted:
                raise errors.DigestMismatch(str(wanted), str(announced), len(raw), what="manifest")
            return FetchedManifest(raw, _reconcile_media_type(media_type, raw), digest)

        return self._with_fallback(op)

    def put_manifest(self, repo: str, ref: str | Digest, raw: bytes, media_type: str) -> Digest:
        """Upload exactly ``raw``; returns its digest, checked against what the registry says it stored."""
        wanted = _as_digest(ref)
        digest = Digest.of(raw, wanted.algorithm if wanted else "sha256")
        if wanted is not None and digest != wanted:
            raise errors.DigestMismatch(str(wanted), str(digest), len(raw), what="manifest")
        path = f"/v2/{check_repository(repo)}/manifests/{reference_path(ref)}"
        state = self._states[self._ensure_endpoint()]
        resp = self._request(
            state, "PUT", path, [repository_scope(repo, PUSH)], headers={"Content-Type": media_type}, body=raw
        )
        if resp.status_code not in (200, 201, 202):
            raise self._fail(resp)
        resp.close()
        stored = _header_digest(resp)
        # Distribution verifies a sha512 upload, then names the blob by its canonical sha256: only a
        # digest of the same algorithm can be compared.
        if stored is not None and stored.algorithm == digest.algorithm and stored != digest:
            raise errors.DigestMismatch(str(digest), str(stored), len(raw), what="pushed manifest")
        return digest

    def delete_manifest(self, repo: str, digest: Digest) -> None:
        path = f"/v2/{check_repository(repo)}/manifests/{digest}"
        state = self._states[self._ensure_endpoint()]
        resp = self._request(state, "DELETE", path, [repository_scope(repo, ("delete",))])
        if resp.status_code not in (200, 202, 204):
            raise self._fail(resp)
        resp.close()

    # -- blobs --------------------------------------------------------------------------------------
    def head_blob(self, repo: str, digest: Digest) -> int | None:
        """The blob's size if the repository has it, else None."""
        path = f"/v2/{check_repository(repo)}/blobs/{digest}"
        scopes = [repository_scope(repo, PULL)]

        def op(state: _EndpointState) -> int | None:
            resp = self._request(state, "HEAD", path, scopes)
            if resp.status_code != 200:
                raise self._fail(resp)
            resp.close()
            return _content_length(resp)

        return self._head_with_fallback(op)

    def get_blob(
        self,
        repo: str,
        digest: Digest,
        *,
        offset: int = 0,
        expected_size: int | None = None,
        if_range: str | None = None,
    ) -> BlobStream:
        """Open a blob's body, from ``offset`` if the server honours the range (see BlobStream)."""
        path = f"/v2/{check_repository(repo)}/blobs/{digest}"
        scopes = [repository_scope(repo, PULL)]

        def op(state: _EndpointState) -> BlobStream:
            headers: dict[str, str] = {}
            if offset > 0:
                headers["Range"] = f"bytes={offset}-"
                if if_range:
                    headers["If-Range"] = if_range
            resp = self._request(state, "GET", path, scopes, headers=headers)
            if resp.status_code == 416 and offset > 0:
                resp.close()
                resp = self._request(state, "GET", path, scopes)
            return self._open_blob(resp, digest, offset, expected_size)

        return self._with_fallback(op)

    def _open_blob(self, resp: httpx.Response, digest: Digest, requested: int, expected_size: int | None) -> BlobStream:
        declared = _content_length(resp)
        if resp.status_code == 200:
            if expected_size is not None and declared is not None and declared != expected_size:
                resp.close()
                raise errors.SizeMismatch(str(digest), expected_size, declared)
            total = expected_size if expected_size is not None else declared
            return BlobStream(resp, offset=0, requested=requested, total_size=total, digest=digest)
        if resp.status_code == 206 and requested > 0:
            m = _CONTENT_RANGE.fullmatch(resp.headers.get("content-range", "").strip())
            if m is None or int(m.group(1)) != requested:
                resp.close()
                raise errors.DataCorrupt(
                    f"error pulling blob {digest}: the registry answered a range request from byte {requested} "
                    f"with Content-Range {resp.headers.get('content-range')!r}"
                )
            total = None if m.group(3) == "*" else int(m.group(3))
            if expected_size is not None and total is not None and total != expected_size:
                resp.close()
                raise errors.SizeMismatch(str(digest), expected_size, total)
            total = expected_size if expected_size is not None else total
            return BlobStream(resp, offset=requested, requested=requested, total_size=total, digest=digest)
        if resp.status_code == 206:
            resp.close()
            raise errors.DataCorrupt(f"error pulling blob {digest}: unexpected partial content")
        raise self._fail(resp)

    def mount_blob(self, repo: str, digest: Digest, from_repo: str) -> bool:
        """Ask the registry to link a blob from another repository; False means upload it instead."""
        query = urlencode({"mount": str(digest), "from": check_repository(from_repo)})
        path = f"/v2/{check_repository(repo)}/blobs/uploads/?{query}"
        scopes = [repository_scope(repo, PUSH), repository_scope(from_repo, PULL)]
        state = self._states[self._ensure_endpoint()]
        resp = self._request(state, "POST", path, scopes)
        if resp.status_code == 201:
            resp.close()
            return True
        if resp.status_code == 202:
            resp.close()
            # The registry opened an ordinary upload session instead; the upload continues with it.
            location = resp.headers.get("location")
            if location:
                self._pending_uploads[(repo, digest)] = str(resp.url.join(location))
            return False
        raise self._fail(resp)

    def _start_upload(self, state: _EndpointState, repo: str) -> str:
        resp = self._request(state, "POST", f"/v2/{repo}/blobs/uploads/", [repository_scope(repo, PUSH)])
        if resp.status_code != 202:
            raise self._fail(resp)
        resp.close()
        location = resp.headers.get("location")
        if not location:
            raise errors.DataCorrupt("the registry opened an upload without a Location")
        return str(resp.url.join(location))

    def upload_blob(
        self,
        repo: str,
        digest: Digest,
        size: int,
        open_stream: Callable[[], IO[bytes]],
        *,
        chunk_size: int | None = None,
    ) -> None:
        """Upload a blob: POST, then one PUT, or PATCHes of ``chunk_size`` bytes then an empty PUT.

        Without ``chunk_size`` a blob up to ``MONOLITHIC_UPLOAD_LIMIT`` goes in one PUT, a larger one in
        PATCHes of ``UPLOAD_CHUNK``. ``open_stream`` may be called again; each call gives the blob from its
        start. A request that fails with a dropped connection, a timeout or a retryable status (429/5xx,
        waited out per the transport's policy) is followed by a status request, and the upload goes on from
        what the registry holds. A session the registry no longer knows (404 BLOB_UPLOAD_UNKNOWN/INVALID)
        is replaced by a new one once. After the transport's ``retry.attempts`` failed requests in all it
        raises ``UploadFailed``; semantic errors (DIGEST_INVALID, SIZE_INVALID, 401/403) are raised at once.
        """
        check_repository(repo)
        if chunk_size is not None and chunk_size <= 0:
            raise errors.InvalidArgument("chunk size must be positive")
        if chunk_size is None and size > MONOLITHIC_UPLOAD_LIMIT:
            chunk_size = UPLOAD_CHUNK
        state = self._states[self._ensure_endpoint()]
        location = self._pending_uploads.pop((repo, digest), None) or self._start_upload(state, repo)
        source = _UploadSource(open_stream, digest, size)
        try:
            _BlobUpload(self, state, repo, digest, size, source, chunk_size, location).run()
        finally:
            source.close()

    # -- listings -----------------------------------------------------------------------------------
    def list_tags(self, repo: str, *, page_size: int | None = None) -> list[str]:
        """Every tag of a repository, following ``Link`` pages (order as the registry gives it)."""
        path = f"/v2/{check_repository(repo)}/tags/list"
        if page_size:
            path += "?" + urlencode({"n": page_size})
        scopes = [repository_scope(repo, PULL)]
        return self._with_fallback(lambda state: self._paged(state, path, scopes, "tags"))

    def catalog(self, *, page_size: int | None = None) -> list[str]:
        """Every repository of the registry (needs ``registry:catalog:*``), following ``Link`` pages."""
        path = "/v2/_catalog" + ("?" + urlencode({"n": page_size}) if page_size else "")
        state = self._states[self._ensure_endpoint()]
        return self._paged(state, path, [CATALOG_SCOPE], "repositories")

    def _paged(self, state: _EndpointState, path: str, scopes: Sequence[str], field: str) -> list[str]:
        items: list[str] = []
        url = state.endpoint.url + path
        seen: set[str] = set()
        while url and url not in seen:
            seen.add(url)
            resp = self._request(state, "GET", url, scopes)
            if resp.status_code != 200:
                raise self._fail(resp)
            link = resp.headers.get("link", "")
            page_url = str(resp.url)
            doc = _json_object(read_capped(resp, DOCUMENT_LIMIT, f"{field} list"), field)
            values = doc.get(field) or []
            if not isinstance(values, list):
                raise errors.DataCorrupt(f"the registry's {field} list is not a list")
            items.extend(str(v) for v in values)
            m = _LINK_NEXT.search(link)
            url = ""
            if m:
                import httpx

                url = str(httpx.URL(page_url).join(m.group(1)))
                if not same_origin(url, state.endpoint.url):
                    raise errors.DataCorrupt(f"the registry's next-page link points elsewhere: {url}")
        return items


def _json_object(raw: bytes, what: str) -> dict[str, object]:
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.DataCorrupt(f"the registry's {what} is not JSON") from None
    if not isinstance(doc, dict):
        raise errors.DataCorrupt(f"the registry's {what} is not a JSON object")
    return doc


def _reconcile_media_type(header_type: str, raw: bytes) -> str:
    """The manifest's type: the header's, which must agree with the body's ``mediaType`` if it has one."""
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.DataCorrupt("the manifest is not JSON") from None
    body_type = doc.get("mediaType") if isinstance(doc, dict) else None
    if not isinstance(body_type, str) or not body_type:
        return header_type
    if header_type in ALL_MANIFEST_TYPES and header_type != body_type:
        raise errors.DataCorrupt(
            f"manifest media type {body_type!r} does not match the Content-Type {header_type!r}"
        )
    return body_type if header_type not in ALL_MANIFEST_TYPES else header_type


__all__ = [
    "ALL_MANIFEST_TYPES",
    "BlobStream",
    "FetchedManifest",
    "ManifestHead",
    "RegistryClient",
    "check_repository",
]
