"""Registry misbehaviour the real registry cannot produce on demand, through an in-process fake
(``httpx.MockTransport`` handed to the Transport seam): drops, flipped bytes, 429/5xx, hostile realms."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from dockyard.digest import Digest, VerifyingReader
from dockyard.errors import DataCorrupt, DigestMismatch, NotFound, SizeMismatch, TooLarge, Unavailable
from dockyard.registry.client import OCI_MANIFEST, RegistryClient
from dockyard.registry.errors import RealmRefused, RegistryError, StreamInterrupted, UploadFailed
from dockyard.registry.hosts import Endpoint, Hosts
from dockyard.registry.credentials import AuthConfig
from dockyard.registry.transport import RetryPolicy, Transport

pytestmark = pytest.mark.integration

REG = "https://reg.example"
BLOB = b"abcdefghij" * 100
BLOB_DIGEST = Digest.of(BLOB)
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}).encode()


Handler = Callable[[httpx.Request], httpx.Response]


class Fake:
    """Records requests and the sleeps the transport asked for."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v2/":
            return httpx.Response(200, json={})
        return self.handler(request)

    def client(self, credentials: AuthConfig | None = None, attempts: int = 4) -> RegistryClient:
        transport = Transport(
            hosts=Hosts(certs_dirs=[]),
            http_transport=httpx.MockTransport(self),
            retry=RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05),
            sleep=self.sleeps.append,
        )
        return RegistryClient("reg.example", transport=transport, credentials=credentials,
                              endpoints=[Endpoint(REG)])


class DroppingStream(httpx.SyncByteStream):
    def __init__(self, data: bytes, cut_at: int) -> None:
        self.data, self.cut_at = data, cut_at

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut_at]
        raise httpx.ReadError("connection reset by peer")


# -- retries ----------------------------------------------------------------------------------------
def test_429_with_retry_after_is_waited_for_then_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}),
                    httpx.Response(503), httpx.Response(200, content=BLOB)])
    fake = Fake(lambda r: next(answers))
    with fake.client().get_blob("dy/x", BLOB_DIGEST, expected_size=len(BLOB)) as stream:
        assert stream.read() == BLOB
    assert fake.sleeps[0] == 7.0 and len(fake.sleeps) == 2


def test_persistent_5xx_gives_up_after_bounded_retries() -> None:
    fake = Fake(lambda r: httpx.Response(503, text="down for maintenance"))
    with pytest.raises(Unavailable) as info:
        fake.client(attempts=3).get_manifest("dy/x", "latest")
    assert str(info.value) == "received unexpected HTTP status: 503 Service Unavailable"
    assert len([r for r in fake.requests if "manifests" in r.url.path]) == 3
    delays = fake.sleeps
    assert len(delays) == 2 and all(0 < d <= 0.05 for d in delays)


def test_toomanyrequests_keeps_the_servers_code_and_wait_hint() -> None:
    body = {"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached your pull rate limit."}]}
    fake = Fake(lambda r: httpx.Response(429, json=body, headers={"Retry-After": "3600"}))
    with pytest.raises(Unavailable) as info:
        fake.client().get_manifest("dy/x", "latest")
    assert str(info.value) == "toomanyrequests: You have reached your pull rate limit."
    assert info.value.retry_after == 3600  # type: ignore[attr-defined]
    assert fake.sleeps == []  # an hour is not waited for


@pytest.mark.parametrize("status", [400, 404, 405])
def test_semantic_4xx_is_never_retried(status: int) -> None:
    fake = Fake(lambda r: httpx.Response(status, json={"errors": [{"code": "MANIFEST_UNKNOWN",
                                                                   "message": "manifest unknown"}]}))
    with pytest.raises(RegistryError):
        fake.client().get_manifest("dy/x", "latest")
    assert len([r for r in fake.requests if "manifests" in r.url.path]) == 1 and fake.sleeps == []


def test_plain_text_error_body_wording() -> None:
    fake = Fake(lambda r: httpx.Response(404, text="404 page not found\n"))
    with pytest.raises(NotFound) as info:
        fake.client().get_manifest("dy/x", "latest")
    assert str(info.value) == (
        "error parsing HTTP 404 response body: invalid character 'p' after top-level value: "
        '"404 page not found\\n"')


# -- blob drops and resume ----------------------------------------------------------------------
def test_connection_drop_mid_blob_then_resume_with_range() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        rng = request.headers.get("range")
        if rng is None:
            return httpx.Response(200, headers={"Content-Length": str(len(BLOB))},
                                  stream=DroppingStream(BLOB, 990))
        start = int(rng.removeprefix("bytes=").rstrip("-"))
        return httpx.Response(206, content=BLOB[start:], headers={
            "Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"})

    client = Fake(handler).client()
    held = b""
    with pytest.raises(StreamInterrupted) as info:
        with client.get_blob("dy/x", BLOB_DIGEST, expected_size=len(BLOB)) as stream:
            while chunk := stream.read(100):
                held += chunk
    assert info.value.received == 990 and held == BLOB[:len(held)]
    held = BLOB[:990]
    with client.get_blob("dy/x", BLOB_DIGEST, offset=990, expected_size=len(BLOB), if_range='"x"') as stream:
        assert stream.resumed and stream.offset == 990
        held += stream.read()
    assert held == BLOB


def test_range_ignored_means_a_clean_restart() -> None:
    fake = Fake(lambda r: httpx.Response(200, content=BLOB))
    with fake.client().get_blob("dy/x", BLOB_DIGEST, offset=500, expected_size=len(BLOB)) as stream:
        assert stream.restarted and not stream.resumed and stream.offset == 0
        assert stream.read() == BLOB
    assert fake.requests[-1].headers["range"] == "bytes=500-"


def test_range_starting_elsewhere_is_refused() -> None:
    fake = Fake(lambda r: httpx.Response(206, content=BLOB[400:],
                                         headers={"Content-Range": f"bytes 400-999/{len(BLOB)}"}))
    with pytest.raises(DataCorrupt):
        fake.client().get_blob("dy/x", BLOB_DIGEST, offset=500, expected_size=len(BLOB))


def test_content_length_disagreeing_with_descriptor_fails_up_front() -> None:
    fake = Fake(lambda r: httpx.Response(200, content=BLOB + b"extra"))
    with pytest.raises(SizeMismatch):
        fake.client().get_blob("dy/x", BLOB_DIGEST, expected_size=len(BLOB))


def test_longer_body_than_descriptor_without_length_is_cut_off() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(BLOB * 3))  # no Content-Length

    fake = Fake(handler)
    with pytest.raises(SizeMismatch):
        with fake.client().get_blob("dy/x", BLOB_DIGEST, expected_size=len(BLOB)) as stream:
            stream.read()


# -- substituted content -------------------------------------------------------------------------
def test_flipped_byte_in_manifest_fetched_by_digest_is_fatal() -> None:
    flipped = bytearray(MANIFEST)
    flipped[5] ^= 0x01
    fake = Fake(lambda r: httpx.Response(200, content=bytes(flipped), headers={"Content-Type": OCI_MANIFEST}))
    with pytest.raises(DigestMismatch):
        fake.client().get_manifest("dy/x", Digest.of(MANIFEST))


def test_wrong_docker_content_digest_by_tag_is_fatal() -> None:
    fake = Fake(lambda r: httpx.Response(200, content=MANIFEST, headers={
        "Content-Type": OCI_MANIFEST, "Docker-Content-Digest": str(Digest.of(b"other"))}))
    with pytest.raises(DigestMismatch):
        fake.client().get_manifest("dy/x", "latest")


def test_media_type_disagreeing_with_body_is_refused() -> None:
    fake = Fake(lambda r: httpx.Response(200, content=MANIFEST, headers={
        "Content-Type": "application/vnd.docker.distribution.manifest.list.v2+json"}))
    with pytest.raises(DataCorrupt):
        fake.client().get_manifest("dy/x", "latest")


# -- oversized documents ---------------------------------------------------------------------------
def test_oversized_manifest_is_refused_without_reading_it_all() -> None:
    def huge() -> Iterator[bytes]:
        for _ in range(10_000):
            yield b" " * 65536

    fake = Fake(lambda r: httpx.Response(200, stream=_Gen(huge())))
    with pytest.raises(TooLarge):
        fake.client().get_manifest("dy/x", "latest")


class _Gen(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.sent += len(chunk)
            yield chunk


def test_oversized_token_reply_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return httpx.Response(200, content=b'{"token":"' + b"a" * (2 << 20) + b'"}')
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.example/t",service=s'})

    with pytest.raises(TooLarge):
        Fake(handler).client().get_manifest("dy/x", "latest")


# -- credentials stay home ---------------------------------------------------------------------------
@pytest.mark.parametrize("realm", ["http://169.254.169.254/latest/meta-data", "http://auth.example/token",
                                   "file:///etc/passwd"])
def test_hostile_token_realms_are_refused(realm: str) -> None:
    fake = Fake(lambda r: httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service=s'}))
    with pytest.raises(RealmRefused):
        fake.client(AuthConfig("bob", "pw")).get_manifest("dy/x", "latest")
    assert all(r.url.host == "reg.example" for r in fake.requests)


def test_token_realm_on_another_host_gets_credentials_only_through_the_token_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"token": "T1", "expires_in": 10})
        if request.headers.get("authorization") != "Bearer T1":
            return httpx.Response(401, headers={
                "WWW-Authenticate": 'Bearer realm="https://auth.example/token",service="reg.example"'})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    fake = Fake(handler)
    client = fake.client(AuthConfig("bob", "pw"))
    assert client.get_manifest("dy/x", "latest").raw == MANIFEST
    assert client.get_manifest("dy/x", "v2").raw == MANIFEST
    token_calls = [r for r in fake.requests if r.url.host == "auth.example"]
    assert len(token_calls) == 1  # expires_in < 60 counts as 60, so the token was reused
    assert token_calls[0].url.params.get_list("scope") == ["repository:dy/x:pull"]
    assert token_calls[0].headers["authorization"].startswith("Basic ")


def test_redirect_to_another_host_drops_authorization_and_its_401_is_ignored() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            if "authorization" in request.headers:
                return httpx.Response(500)
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="cdn"'})
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="reg"'})
        return httpx.Response(307, headers={"Location": "https://cdn.example/blob?sig=1"})

    fake = Fake(handler)
    with pytest.raises(RegistryError) as info:
        fake.client(AuthConfig("bob", "pw")).get_blob("dy/x", BLOB_DIGEST)
    assert info.value.status == 401
    cdn = [r for r in fake.requests if r.url.host == "cdn.example"]
    assert cdn and all("authorization" not in r.headers for r in cdn)
    # the CDN's challenge did not make us resend credentials anywhere
    assert len([r for r in fake.requests if r.url.host == "reg.example" and "blobs" in r.url.path]) == 2


def test_redirect_on_the_same_host_keeps_authorization() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="reg"'})
        if request.url.path.startswith("/v2/"):
            return httpx.Response(302, headers={"Location": "/storage/blob"})
        return httpx.Response(200, content=BLOB)

    with Fake(handler).client(AuthConfig("bob", "pw")).get_blob("dy/x", BLOB_DIGEST) as stream:
        assert stream.read() == BLOB


def test_mirror_failure_falls_back_to_the_registry_without_leaking_credentials() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v2/":
            return httpx.Response(200, json={})
        if request.url.host == "mirror.example":
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="reg"'})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": OCI_MANIFEST})

    transport = Transport(hosts=Hosts(certs_dirs=[]), http_transport=httpx.MockTransport(handler))
    client = RegistryClient("reg.example", transport=transport, credentials=AuthConfig("bob", "pw"),
                            endpoints=[Endpoint("https://mirror.example", mirror=True), Endpoint(REG)])
    assert client.get_manifest("dy/x", "latest").raw == MANIFEST
    assert all("authorization" not in r.headers for r in seen if r.url.host == "mirror.example")


def test_read_all_hands_over_the_bytes_before_a_drop_then_reports_it() -> None:
    fake = Fake(lambda r: httpx.Response(200, headers={"Content-Length": str(len(BLOB))},
                                         stream=DroppingStream(BLOB, 700)))
    with fake.client().get_blob("dy/x", BLOB_DIGEST, expected_size=len(BLOB)) as stream:
        assert stream.read() == BLOB[:700]
        with pytest.raises(StreamInterrupted) as info:
            stream.read()
    assert info.value.received == 700


# -- uploads: retried from the registry's status, never on semantic errors -----------------------------
class FakeUploads:
    """A registry's upload endpoints, holding what the PATCHes brought; ``faults`` answer the next requests
    of a method (a Response, or an exception to raise) before the registry sees them."""

    def __init__(self) -> None:
        self.held = b""
        self.faults: dict[str, list[httpx.Response | Exception]] = {}
        self.log: list[tuple[str, str | None]] = []  # (method, Content-Range)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.log.append((request.method, request.headers.get("content-range")))
        pending = self.faults.get(request.method)
        if pending:
            fault = pending.pop(0)
            request.read()
            if isinstance(fault, Exception):
                raise fault
            return fault
        loc = {"Location": "/v2/dy/x/blobs/uploads/u1?_state=s"}
        if request.method == "POST":
            self.held = b""
            return httpx.Response(202, headers={**loc, "Range": "0-0"})
        if request.method == "GET":
            return httpx.Response(204, headers={**loc, "Range": f"0-{max(len(self.held) - 1, 0)}"})
        if request.method == "HEAD":
            return httpx.Response(404)
        self.held += request.read()
        if request.method == "PATCH":
            return httpx.Response(202, headers={**loc, "Range": f"0-{len(self.held) - 1}"})
        if Digest.of(self.held) != Digest.parse(request.url.params["digest"]):
            return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID", "message": "digest invalid"}]})
        return httpx.Response(201, headers={"Docker-Content-Digest": str(Digest.of(self.held))})


def test_patch_429_waits_for_retry_after_then_goes_on() -> None:
    registry = FakeUploads()
    registry.faults["PATCH"] = [httpx.Response(429, headers={"Retry-After": "7"})]
    fake = Fake(registry)
    fake.client().upload_blob("dy/x", BLOB_DIGEST, len(BLOB), lambda: io.BytesIO(BLOB), chunk_size=300)
    assert registry.held == BLOB and fake.sleeps == [7.0]
    # Refused before anything was held: "0-0" (which 2.8 says for one byte too) means a new session.
    assert [m for m, _ in registry.log] == ["POST", "PATCH", "GET", "POST"] + ["PATCH"] * 4 + ["PUT"]


@pytest.mark.parametrize("drop", [httpx.WriteError("connection reset by peer"), httpx.ReadTimeout("timed out"),
                                  httpx.RemoteProtocolError("Server disconnected without sending a response.")])
def test_dropped_patch_resumes_after_the_last_chunk_the_registry_holds(drop: Exception) -> None:
    registry = FakeUploads()
    fake = Fake(registry)
    patches = 0

    def drop_third(request: httpx.Request) -> httpx.Response:
        nonlocal patches
        if request.method == "PATCH":
            patches += 1
            if patches == 3:
                request.read()
                raise drop
        return registry(request)

    fake.handler = drop_third
    fake.client().upload_blob("dy/x", BLOB_DIGEST, len(BLOB), lambda: io.BytesIO(BLOB), chunk_size=300)
    assert registry.held == BLOB
    assert [(m, r) for m, r in registry.log if m != "POST"] == [
        ("PATCH", "0-299"), ("PATCH", "300-599"), ("GET", None), ("PATCH", "600-899"), ("PATCH", "900-999"),
        ("PUT", None)]
    assert len(fake.sleeps) == 1


def test_semantic_upload_errors_are_never_retried() -> None:
    registry = FakeUploads()
    fake = Fake(registry)
    with pytest.raises(DataCorrupt) as info:
        fake.client().upload_blob("dy/x", Digest.of(b"other"), len(BLOB), lambda: io.BytesIO(BLOB))
    assert isinstance(info.value, RegistryError) and info.value.has_code("DIGEST_INVALID")
    assert [m for m, _ in registry.log] == ["POST", "PUT"] and fake.sleeps == []


def test_a_local_digest_mismatch_is_not_retried() -> None:
    registry = FakeUploads()
    fake = Fake(registry)
    wrong = Digest.of(b"other")
    with pytest.raises(DigestMismatch):
        fake.client().upload_blob("dy/x", wrong, len(BLOB), lambda: _Verifying(io.BytesIO(BLOB), wrong, len(BLOB)))
    # The mismatch came before the last bytes went out (here: the only chunk), and was not retried.
    assert [m for m, _ in registry.log] == ["POST"] and registry.held == b"" and fake.sleeps == []


class _Verifying(VerifyingReader):
    def close(self) -> None:
        pass


def test_upload_gives_up_at_once_when_the_wait_asked_is_too_long() -> None:
    registry = FakeUploads()
    limited = {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}
    registry.faults["PUT"] = [httpx.Response(429, json=limited, headers={"Retry-After": "3600"})]
    fake = Fake(registry)
    with pytest.raises(UploadFailed) as info:
        fake.client().upload_blob("dy/x", BLOB_DIGEST, len(BLOB), lambda: io.BytesIO(BLOB))
    assert str(info.value) == (f"error pushing blob {BLOB_DIGEST} to reg.example/dy/x (the registry asks to wait "
                               "longer than dockyard does): toomanyrequests: slow down")
    assert fake.sleeps == [] and [m for m, _ in registry.log] == ["POST", "PUT"]


def test_upload_session_lost_twice_is_given_up() -> None:
    registry = FakeUploads()
    gone = {"errors": [{"code": "BLOB_UPLOAD_UNKNOWN", "message": "blob upload unknown to registry"}]}
    registry.faults["PUT"] = [httpx.Response(404, json=gone), httpx.Response(404, json=gone)]
    fake = Fake(registry)
    with pytest.raises(UploadFailed) as info:
        fake.client().upload_blob("dy/x", BLOB_DIGEST, len(BLOB), lambda: io.BytesIO(BLOB))
    assert "the upload session was lost twice" in str(info.value)
    assert isinstance(info.value.__cause__, NotFound)
    assert [m for m, _ in registry.log] == ["POST", "PUT", "HEAD", "POST", "PUT", "HEAD"]
