"""Registry hazards through a whole pull (hazards.md 9, 13, 14, 18, 25).

A real docker-registry cannot serve oversized, confused or substituted documents, so most rows pull
from an in-process fake (an ``httpx.MockTransport`` at the Transport seam) into a store that already
holds an image; after each, the store passes its check and that image is still there. Rows a real
registry can play (``repo:tag@digest`` naming another repository; a 429 with rate-limit headers in
front of it) use one.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from dockyard import errors
from dockyard.digest import Digest
from dockyard.oci import mediatypes as mt
from dockyard.oci.manifest import MediaTypeConflict, Schema1Unsupported
from dockyard.oci.platform import host_platform
from dockyard.reference import parse_normalized
from dockyard.registry.hosts import Hosts
from dockyard.registry.transport import RetryPolicy, Transport
from dockyard.store import Store
from dockyard.transfer.pull import pull
from tests.helpers.archives import image_config, layer_tar, sha
from tests.helpers.registry import RegistryServer
from tests.helpers.hazards import seed, state
from tests.helpers.cli import run_cli
from tests.helpers.registry_images import put_image

pytestmark = pytest.mark.integration

HOST = "reg.example"
REPO = "dyhz/app"


@dataclass
class Image:
    layer: bytes = field(default_factory=lambda: gzip.compress(layer_tar({"app": b"app" * 100}), mtime=0))
    foreign_urls: tuple[str, ...] = ()

    @property
    def config(self) -> bytes:
        return image_config([sha(gzip.decompress(self.layer))])

    def manifest(self, **extra: object) -> bytes:
        layer: dict[str, object] = {"mediaType": mt.OCI_LAYER_GZIP, "digest": sha(self.layer), "size": len(self.layer)}
        if self.foreign_urls:
            layer.update(mediaType=mt.DOCKER_FOREIGN_LAYER_GZIP, urls=list(self.foreign_urls))
        doc: dict[str, object] = {
            "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": sha(self.config), "size": len(self.config)},
            "layers": [layer],
        }
        doc.update(extra)
        return json.dumps(doc).encode()


def index_of(*entries: dict[str, object], **extra: object) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": list(entries), **extra}).encode()


def entry(raw: bytes, media_type: str = mt.OCI_MANIFEST, **extra: object) -> dict[str, object]:
    plat = host_platform()
    return {"mediaType": media_type, "digest": sha(raw), "size": len(raw),
            "platform": {"os": plat.os, "architecture": plat.architecture}, **extra}


Reply = Callable[[httpx.Request], httpx.Response | None]


class FakeRegistry:
    """Manifests by tag or digest, blobs by digest; ``replies`` may answer any request first."""

    def __init__(self) -> None:
        self.manifests: dict[str, tuple[bytes, str, str | None]] = {}  # ref -> body, Content-Type, digest header
        self.blobs: dict[str, bytes] = {}
        self.replies: list[Reply] = []
        self.requests: list[httpx.Request] = []

    def add_image(self, img: Image, tag: str | None = "1", **extra: object) -> bytes:
        raw = img.manifest(**extra)
        self.blobs[sha(img.config)] = img.config
        self.blobs[sha(img.layer)] = img.layer
        self.put(raw, mt.OCI_MANIFEST, tag)
        return raw

    def put(self, raw: bytes, content_type: str, tag: str | None = None, header: str | None = None) -> None:
        self.manifests[sha(raw)] = (raw, content_type, sha(raw))
        if tag is not None:
            self.manifests[tag] = (raw, content_type, header or sha(raw))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for reply in self.replies:
            answer = reply(request)
            if answer is not None:
                return answer
        path = request.url.path
        if request.url.host != HOST:
            return httpx.Response(404)
        if path == "/v2/":
            return httpx.Response(200, json={})
        prefix = f"/v2/{REPO}/"
        if path.startswith(prefix + "manifests/"):
            found = self.manifests.get(path.rsplit("/", 1)[1])
            if found is None:
                return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
            raw, content_type, header = found
            headers = {"Content-Type": content_type, **({"Docker-Content-Digest": header} if header else {})}
            return httpx.Response(200, content=b"" if request.method == "HEAD" else raw, headers=headers)
        if path.startswith(prefix + "blobs/"):
            blob = self.blobs.get(path.rsplit("/", 1)[1])
            if blob is None:
                return httpx.Response(404, json={"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]})
            return httpx.Response(200, content=blob, headers={"Content-Length": str(len(blob))})
        return httpx.Response(404)

    def pull(self, store_root: Path, ref: str, docker_config: Path | None = None,
             warnings: list[str] | None = None) -> str:
        transport = Transport(hosts=Hosts(certs_dirs=[]), http_transport=httpx.MockTransport(self),
                              retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0), sleep=lambda s: None,
                              on_warning=None if warnings is None else warnings.append)
        with Store.open(store_root) as store, transport:
            return pull(store, parse_normalized(f"{HOST}/{REPO}{ref}"), transport=transport,
                        docker_config_dir=docker_config).image_id

    def fetched(self, fragment: str) -> list[httpx.Request]:
        return [r for r in self.requests if fragment in str(r.url)]


@pytest.fixture
def seeded(store_root: Path, tmp_path: Path) -> Path:
    seed(store_root, tmp_path)
    return store_root


# -- the table: each row sets up the fake and names the error a pull must end in ---------------------
BIG = 5 << 20


def oversized_manifest(fake: FakeRegistry) -> str:
    fake.put(Image().manifest(annotations={"pad": "x" * BIG}), mt.OCI_MANIFEST, "1")
    return ":1"


def oversized_index_child(fake: FakeRegistry) -> str:
    child = Image().manifest(annotations={"pad": "x" * BIG})
    fake.put(child, mt.OCI_MANIFEST)
    fake.put(index_of(entry(child)), mt.OCI_INDEX, "1")
    return ":1"


def oversized_config(fake: FakeRegistry) -> str:
    img = Image()
    fake.add_image(img)
    doc = json.loads(img.manifest())
    doc["config"]["size"] = 2 << 30  # a 2 GB config is never asked for
    fake.put(json.dumps(doc).encode(), mt.OCI_MANIFEST, "1")
    return ":1"


def oversized_token(fake: FakeRegistry) -> str:
    fake.add_image(Image())

    def reply(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/token":
            return httpx.Response(200, content=b'{"token": "' + b"t" * (2 << 20) + b'"}')
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="https://{HOST}/token",service="x"'})
        return None

    fake.replies.append(reply)
    return ":1"


def oversized_error_body(fake: FakeRegistry) -> str:
    fake.replies.append(lambda r: httpx.Response(404, content=b"e" * (1 << 20)) if "/manifests/" in r.url.path else None)
    return ":1"


def both_manifests_and_layers(fake: FakeRegistry) -> str:
    img = Image()
    fake.add_image(img, tag=None)
    fake.put(img.manifest(manifests=[entry(img.manifest())]), mt.OCI_MANIFEST, "1")
    return ":1"


def served_as_index(fake: FakeRegistry) -> str:
    img = Image()
    fake.add_image(img, tag=None)
    fake.put(img.manifest(), mt.OCI_INDEX, "1")  # Content-Type disagrees with the document's mediaType
    return ":1"


def index_entry_type_lies(fake: FakeRegistry) -> str:
    img = Image()
    fake.add_image(img, tag=None)
    child = index_of(entry(img.manifest()))  # a usable index, named in its parent as an image manifest
    fake.put(child, mt.OCI_INDEX)
    fake.put(index_of(entry(child, mt.OCI_MANIFEST)), mt.OCI_INDEX, "1")
    return ":1"


def schema1(fake: FakeRegistry) -> str:
    raw = json.dumps({"schemaVersion": 1, "name": REPO, "tag": "1", "fsLayers": [], "history": []}).encode()
    fake.put(raw, mt.DOCKER_SCHEMA1_SIGNED_MANIFEST, "1")
    return ":1"


def substituted_by_digest(fake: FakeRegistry) -> str:
    wanted, other = Image(), Image(layer=gzip.compress(layer_tar({"evil": b"e"}), mtime=0))
    fake.add_image(wanted, tag=None)
    fake.add_image(other, tag=None)
    raw = other.manifest()
    fake.manifests[sha(wanted.manifest())] = (raw, mt.OCI_MANIFEST, sha(raw))
    return "@" + sha(wanted.manifest())


def substituted_with_matching_header(fake: FakeRegistry) -> str:
    wanted, other = Image(), Image(layer=gzip.compress(layer_tar({"evil": b"e"}), mtime=0))
    fake.add_image(other, tag=None)
    fake.manifests[sha(wanted.manifest())] = (other.manifest(), mt.OCI_MANIFEST, sha(wanted.manifest()))
    return "@" + sha(wanted.manifest())


def wrong_digest_header_by_tag(fake: FakeRegistry) -> str:
    img = Image()
    raw = fake.add_image(img, tag=None)
    fake.put(raw, mt.OCI_MANIFEST, "1", header=sha(b"something else"))
    return ":1"


def substituted_index_child(fake: FakeRegistry) -> str:
    wanted, other = Image(), Image(layer=gzip.compress(layer_tar({"evil": b"e"}), mtime=0))
    fake.add_image(other, tag=None)
    fake.manifests[sha(wanted.manifest())] = (other.manifest(), mt.OCI_MANIFEST, None)
    fake.put(index_of(entry(wanted.manifest())), mt.OCI_INDEX, "1")
    return ":1"


ROWS: list[tuple[str, Callable[[FakeRegistry], str], type[Exception], str]] = [
    # 9: every document read in memory is capped, and a clear error says which.
    ("9 manifest over 4 MiB", oversized_manifest, errors.TooLarge, "manifest exceeds the limit of 4194304 bytes"),
    ("9 index child over 4 MiB", oversized_index_child, errors.TooLarge, "manifest exceeds the limit of 4194304 bytes"),
    ("9 config of 2 GB", oversized_config, errors.TooLarge, "exceeds the limit of 4194304 bytes"),
    ("9 token over 1 MiB", oversized_token, errors.TooLarge, "token response exceeds the limit of 1048576 bytes"),
    ("9 error body over 64 KiB", oversized_error_body, errors.TooLarge, "error body exceeds the limit of 65536 bytes"),
    # 13: manifest/index confusion.
    ("13 manifests and layers together", both_manifests_and_layers, MediaTypeConflict, "both manifests and config/layers"),
    ("13 Content-Type says index", served_as_index, errors.DataCorrupt, "does not match the Content-Type"),
    ("13 index entry typed as a manifest", index_entry_type_lies, MediaTypeConflict, "media type mismatch"),
    ("13 schema 1", schema1, Schema1Unsupported, "schema 1"),
    # 14: substituted content; the digest asked for wins over what the server says.
    ("14 other manifest for a digest", substituted_by_digest, errors.DigestMismatch, "manifest digest mismatch"),
    ("14 other manifest, header agreeing", substituted_with_matching_header, errors.DigestMismatch,
     "manifest digest mismatch"),
    ("14 wrong Docker-Content-Digest by tag", wrong_digest_header_by_tag, errors.DigestMismatch,
     "manifest digest mismatch"),
    ("14 index child substituted", substituted_index_child, errors.DigestMismatch, "manifest digest mismatch"),
]


@pytest.mark.parametrize("make,error,message", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_hostile_registry_pull_is_refused(
    seeded: Path, make: Callable[[FakeRegistry], str], error: type[Exception], message: str
) -> None:
    before = state(seeded)
    fake = FakeRegistry()
    ref = make(fake)
    with pytest.raises(error) as info:
        fake.pull(seeded, ref)
    assert message in str(info.value)
    assert state(seeded) == before


def test_unknown_media_types_inside_an_index_are_skipped(seeded: Path) -> None:
    """13: an index may list things dockyard does not know; they are passed over, not errors."""
    img = Image()
    raw = img.manifest()
    fake = FakeRegistry()
    fake.add_image(img, tag=None)
    odd = {**entry(b"whatever"), "mediaType": "application/vnd.example.future+json"}
    fake.put(index_of(odd, entry(raw), {**entry(b"x"), "mediaType": "application/vnd.oci.image.layer.v1.tar"}),
             mt.OCI_INDEX, "1")
    before_tags, before_images = state(seeded)
    assert fake.pull(seeded, ":1") == sha(img.config)
    assert not fake.fetched(sha(b"whatever")) and not fake.fetched(sha(b"x"))
    tags, images = state(seeded)
    assert set(before_tags) < set(tags) and set(before_images) < set(images)


def test_foreign_layer_urls_are_never_fetched_and_never_get_credentials(seeded: Path, tmp_path: Path) -> None:
    """18: a foreign layer is taken from the registry it came with; its ``urls`` are not contacted (off
    by default), so credentials for the registry can never reach them."""
    config_dir = tmp_path / "creds"
    config_dir.mkdir()
    auth = base64.b64encode(b"me:secret").decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {HOST: {"auth": auth}}}))
    img = Image(foreign_urls=("https://evil.example/layer", "http://169.254.169.254/latest"))
    fake = FakeRegistry()
    fake.add_image(img)

    def basic(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == HOST and "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": f'Basic realm="{HOST}"'})
        return None

    fake.replies.append(basic)
    assert fake.pull(seeded, ":1", docker_config=config_dir) == sha(img.config)
    assert {r.url.host for r in fake.requests} == {HOST}
    assert any(r.headers.get("authorization") == f"Basic {auth}" for r in fake.requests)
    with Store.open(seeded) as store:
        assert store.content.has(Digest.parse(sha(img.layer)))
    state(seeded)


def test_rate_limit_headers_are_shown_with_a_429(seeded: Path) -> None:
    """25 (fake): the headers of a 429 reach the warning channel once, and the wait is honoured."""
    fake = FakeRegistry()
    img = Image()
    fake.add_image(img)
    limited = {"n": 0}

    def reply(request: httpx.Request) -> httpx.Response | None:
        if "/manifests/" in request.url.path and limited["n"] < 1:
            limited["n"] += 1
            return httpx.Response(429, headers={"Retry-After": "0", "RateLimit-Limit": "100;w=21600",
                                                "RateLimit-Remaining": "0;w=21600"})
        return None

    fake.replies.append(reply)
    warnings: list[str] = []
    assert fake.pull(seeded, ":1", warnings=warnings) == sha(img.config)
    assert warnings == [f"rate limited by {HOST}: ratelimit-limit: 100;w=21600, ratelimit-remaining: 0;w=21600"]


# -- with a real docker-registry ---------------------------------------------------------------------
def test_tag_and_digest_naming_another_repository(
    registry: RegistryServer, store_root: Path, tmp_path: Path
) -> None:
    """14 (moby 20.10.20): ``other:tag@digest`` of an image held locally under ``mine`` is looked up in
    ``other`` on the registry; it is not satisfied from the local copy, and nothing is tagged."""
    seed(store_root, tmp_path)
    img = put_image(registry, "dyhz/mine", "1", [layer_tar({"mine": b"m"})])
    put_image(registry, "dyhz/other", "1", [layer_tar({"other": b"o"})])
    assert run_cli("pull", "-q", f"{registry.host}/dyhz/mine:1")[0] == 0
    before = state(store_root)
    code, out, err = run_cli("pull", f"{registry.host}/dyhz/other:1@{img.manifest_digest}")
    assert code == 1 and "not found" in err, err
    assert state(store_root) == before
    # The digest wins over the tag: the same digest in its own repository pulls, whatever tag is given.
    code, out, err = run_cli("pull", "-q", f"{registry.host}/dyhz/mine:nosuchtag@{img.manifest_digest}")
    assert (code, err) == (0, "")
    with Store.open(store_root) as store:
        assert store.meta.image_for_tag(f"{registry.host}/dyhz/other:1") is None


def test_429_rate_limit_headers_reach_the_user_on_stderr(
    registry: RegistryServer, store_root: Path
) -> None:
    """25 (CLI, real registry behind a proxy): the pull waits out the 429 and says why on stderr."""
    from tests.helpers.faults import FaultProxy

    img = put_image(registry, "dyhz/limited", "1", [layer_tar({"f": b"f"})])
    proxy = FaultProxy(registry.host)
    try:
        proxy.status_once.append(("HEAD", "/manifests/", 429, {
            "Retry-After": "0", "ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"}))
        code, out, err = run_cli("pull", "-q", f"{proxy.host}/dyhz/limited:1")
        assert code == 0
        assert err == (f"WARNING: rate limited by {proxy.host.split(':')[0]}: "
                       "ratelimit-limit: 100;w=21600, ratelimit-remaining: 0;w=21600\n")
        assert out == f"{proxy.host}/dyhz/limited:1\n"
        # Given up on (an hour's wait): the error is Docker's, the headers still come first.
        proxy.status_once.append(("HEAD", "/manifests/", 429, {"Retry-After": "3600", "ratelimit-remaining": "0"}))
        proxy.status_once.append(("GET", "/manifests/", 429, {"Retry-After": "3600", "ratelimit-remaining": "0"}))
        code, out, err = run_cli("pull", "-q", f"{proxy.host}/dyhz/limited:2")
        assert code == 1
        assert err.startswith("WARNING: rate limited by 127.0.0.1: ratelimit-remaining: 0\n"), err
    finally:
        proxy.stop()
    with Store.open(store_root) as store:
        assert store.meta.image_for_tag(f"{proxy.host}/dyhz/limited:1") == img.image_id
