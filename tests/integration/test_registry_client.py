"""The Distribution API client against a real docker-registry 2.8."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.digest import Digest, VerifyingReader
from dockyard.errors import DigestMismatch, InvalidArgument, NotFound
from dockyard.registry.client import OCI_MANIFEST, RegistryClient
from dockyard.registry.errors import RegistryError
from dockyard.registry.hosts import Endpoint, Hosts
from dockyard.registry.transport import Transport
from tests.helpers.registry import RegistryServer, start_registry

pytestmark = pytest.mark.integration


@pytest.fixture
def client(registry: RegistryServer) -> Iterator[RegistryClient]:
    transport = Transport(hosts=Hosts(certs_dirs=[]))
    yield RegistryClient(registry.host, transport=transport)
    transport.close()


def push_blob(client: RegistryClient, repo: str, data: bytes, **kwargs: object) -> Digest:
    digest = Digest.of(data)
    client.upload_blob(repo, digest, len(data), lambda: io.BytesIO(data), **kwargs)  # type: ignore[arg-type]
    return digest


def make_manifest(client: RegistryClient, repo: str, layer: bytes) -> bytes:
    config = b'{"architecture":"amd64","os":"linux"}'
    config_digest = push_blob(client, repo, config)
    layer_digest = push_blob(client, repo, layer)
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": str(config_digest),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": str(layer_digest),
                    "size": len(layer)}],
    }, indent=3).encode()


def read_blob(client: RegistryClient, repo: str, digest: Digest, size: int) -> bytes:
    with client.get_blob(repo, digest, expected_size=size) as stream:
        return VerifyingReader(stream, digest, size).read()


def test_ping_falls_back_from_https_to_http_on_loopback(client: RegistryClient, registry: RegistryServer) -> None:
    assert client.ping() == Endpoint(f"http://{registry.host}")


def test_monolithic_upload_then_head_and_download(client: RegistryClient) -> None:
    data = bytes(range(256)) * 4000
    digest = push_blob(client, "dy/mono", data)
    assert client.head_blob("dy/mono", digest) == len(data)
    assert read_blob(client, "dy/mono", digest, len(data)) == data
    assert client.head_blob("dy/mono", Digest.of(b"absent")) is None


def test_chunked_upload_follows_the_newest_location(client: RegistryClient) -> None:
    data = b"chunked-" * 5000  # 40000 bytes in uneven 7000-byte chunks
    digest = push_blob(client, "dy/chunked", data, chunk_size=7000)
    assert read_blob(client, "dy/chunked", digest, len(data)) == data


def test_upload_with_wrong_bytes_is_refused_by_the_registry(client: RegistryClient) -> None:
    claimed = Digest.of(b"what we claim")
    with pytest.raises(RegistryError) as info:
        client.upload_blob("dy/bad", claimed, 5, lambda: io.BytesIO(b"other"))
    assert info.value.has_code("DIGEST_INVALID")
    assert str(info.value).startswith("digest invalid: ")


def test_mount_across_repositories(client: RegistryClient) -> None:
    digest = push_blob(client, "dy/source", b"shared layer")
    assert client.mount_blob("dy/target", digest, "dy/source") is True
    assert client.head_blob("dy/target", digest) == len(b"shared layer")


def test_mount_of_unknown_blob_opens_a_session_the_upload_reuses(client: RegistryClient) -> None:
    data = b"not there yet"
    digest = Digest.of(data)
    assert client.mount_blob("dy/target2", digest, "dy/nowhere") is False
    client.upload_blob("dy/target2", digest, len(data), lambda: io.BytesIO(data))
    assert client.head_blob("dy/target2", digest) == len(data)


def test_manifest_by_tag_and_by_digest_keeps_exact_bytes(client: RegistryClient) -> None:
    raw = make_manifest(client, "dy/app", b"layer bytes")
    digest = client.put_manifest("dy/app", "v1", raw, OCI_MANIFEST)
    assert digest == Digest.of(raw)
    head = client.head_manifest("dy/app", "v1")
    assert head is not None and (head.digest, head.media_type, head.size) == (digest, OCI_MANIFEST, len(raw))
    by_tag = client.get_manifest("dy/app", "v1")
    by_digest = client.get_manifest("dy/app", digest)
    assert by_tag.raw == by_digest.raw == raw
    assert by_tag.digest == digest and by_tag.media_type == OCI_MANIFEST


def test_put_manifest_by_digest_checks_the_digest_first(client: RegistryClient) -> None:
    raw = make_manifest(client, "dy/app2", b"l2")
    with pytest.raises(DigestMismatch):
        client.put_manifest("dy/app2", Digest.of(b"something else"), raw, OCI_MANIFEST)
    assert client.put_manifest("dy/app2", Digest.of(raw), raw, OCI_MANIFEST) == Digest.of(raw)


def test_manifest_with_missing_blob_is_refused(client: RegistryClient) -> None:
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": str(Digest.of(b"nope")), "size": 4}, "layers": []}).encode()
    with pytest.raises(RegistryError) as info:
        client.put_manifest("dy/app3", "v1", raw, OCI_MANIFEST)
    assert info.value.has_code("MANIFEST_BLOB_UNKNOWN")


def test_not_found_wording_matches_docker(client: RegistryClient) -> None:
    push_blob(client, "dy/exists", b"x")
    with pytest.raises(NotFound) as info:
        client.get_manifest("dy/exists", "nope")
    assert str(info.value) == "manifest unknown: manifest unknown"
    with pytest.raises(NotFound) as info:
        client.list_tags("dy/nosuch")
    assert str(info.value) == "name unknown: repository name not known to registry"
    assert client.head_manifest("dy/exists", "nope") is None


def test_tags_and_catalog_follow_pagination(client: RegistryClient) -> None:
    raw = make_manifest(client, "dy/tags", b"t")
    for tag in ("a", "b", "c"):
        client.put_manifest("dy/tags", tag, raw, OCI_MANIFEST)
    assert sorted(client.list_tags("dy/tags")) == ["a", "b", "c"]
    push_blob(client, "dy/other", b"o")
    assert client.catalog(page_size=1) == ["dy/other", "dy/tags"]  # one repository per page
    assert client.catalog() == ["dy/other", "dy/tags"]


def test_blob_download_resumes_from_an_offset(client: RegistryClient) -> None:
    data = b"0123456789" * 1000
    digest = push_blob(client, "dy/resume", data)
    with client.get_blob("dy/resume", digest, offset=4000, expected_size=len(data)) as stream:
        assert (stream.resumed, stream.restarted, stream.offset) == (True, False, 4000)
        assert stream.read() == data[4000:]


def test_bad_names_never_reach_the_wire(client: RegistryClient) -> None:
    with pytest.raises(InvalidArgument):
        client.get_manifest("Upper/Case", "latest")
    with pytest.raises(InvalidArgument):
        client.get_manifest("dy/app", "../../etc")


def test_search_against_a_fake_v1_index() -> None:
    import httpx

    from dockyard.registry.search import SearchResult, search, split_search_term

    seen: list[httpx.Request] = []

    def index(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"query": "busybox", "num_results": 2, "page": 1, "results": [
            {"name": "library/busybox", "description": "Busybox base image.", "star_count": 3200,
             "is_official": True, "is_automated": False},
            {"name": "someone/busybox-long", "description": None, "star_count": 12, "is_official": False}]})

    transport = Transport(hosts=Hosts(certs_dirs=[]), http_transport=httpx.MockTransport(index))
    results = search("library/busybox", limit=10, transport=transport)
    assert results == [SearchResult("library/busybox", "Busybox base image.", 3200, True, False),
                       SearchResult("someone/busybox-long", "", 12, False, False)]
    assert str(seen[0].url) == "https://index.docker.io/v1/search?q=busybox&n=10"
    assert seen[0].headers["X-Docker-Token"] == "true"
    assert split_search_term("localhost:5000/foo") == ("localhost:5000", "foo")
    with pytest.raises(InvalidArgument, match=r"limit 101 is outside the range of \[1, 100\]"):
        search("x", limit=101, transport=transport)
