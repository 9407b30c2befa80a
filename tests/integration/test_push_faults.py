"""Uploads through faults (hazards.md 20, 25): a real docker-registry behind a proxy that cuts upload
requests after some body bytes or answers 503, counting the upload bytes it receives and hands on.

2.8 stores the offset of an upload in the HMAC'd ``_state`` of its Location and cancels a session whose
file no longer matches it, so a request it saw part of leaves nothing to resume (the session is gone and
a new one starts); a request it saw none of (cut before the proxy handed it on, or a 503 from in front)
is resumed from the upload's status.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.digest import Digest
from dockyard.registry import client as registry_client_module
from dockyard.store import Store
from tests.helpers.archives import layer_tar
from tests.helpers.cli import run_cli
from tests.helpers.faults import FaultProxy, UploadFault
from tests.helpers.images import import_image
from tests.helpers.registry import RegistryServer

pytestmark = pytest.mark.integration

CHUNK = 256 << 10


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    p = FaultProxy(registry.host)
    yield p
    p.stop()


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blobs over 256 KiB go up in 256 KiB PATCHes (the real limits are MiB-sized)."""
    monkeypatch.setattr(registry_client_module, "MONOLITHIC_UPLOAD_LIMIT", CHUNK)
    monkeypatch.setattr(registry_client_module, "UPLOAD_CHUNK", CHUNK)


def random_image(tmp_path: Path, name: str, size: int = 1_200_000) -> tuple[str, Path]:
    """An imported image whose one layer is ``size`` random bytes (so its gzip blob is about as big)."""
    tar = tmp_path / "layer.tar"
    tar.write_bytes(layer_tar({"random.bin": os.urandom(size)}))
    return import_image(str(tar), name), tar


def pushed_blob(store_root: Path, image_id: str) -> tuple[Digest, int]:
    """The gzip blob push made for the image's layer: (digest, size)."""
    with Store.open(store_root) as store:
        image = store.meta.get_image(image_id)
        assert image is not None
        blobs = store.meta.layer_blobs_for(image.layers[0].diff_id)
        digest, _, size = next(b for b in blobs if b[0] != image.layers[0].blob)
        return digest, size


def assert_registry_holds(registry: RegistryServer, repo: str, digest: Digest, size: int) -> None:
    """HEAD (straight to the registry, not through the proxy) names the blob and its size; GET hashes to it."""
    url = f"{registry.url}/v2/{repo}/blobs/{digest}"
    head = httpx.head(url)
    assert head.status_code == 200
    assert (int(head.headers["content-length"]), head.headers["docker-content-digest"]) == (size, str(digest))
    body = httpx.get(url).content
    assert (len(body), "sha256:" + hashlib.sha256(body).hexdigest()) == (size, str(digest))


def uploads(proxy: FaultProxy, method: str) -> list[str]:
    return [path for m, path, _ in proxy.requests if m == method and "/blobs/uploads/" in path]


def test_dropped_patch_resumes_from_the_upload_status(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path, tmp_path: Path, chunked: None
) -> None:
    name = f"{proxy.host}/dy/resume:1"
    image_id, _ = random_image(tmp_path, name)
    # The third PATCH is cut after 100,000 bytes that never reach the registry.
    proxy.upload_faults.append(UploadFault("PATCH", cut_after=100_000, skip=2))
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, ""), err
    digest, size = pushed_blob(store_root, image_id)
    assert size > 4 * CHUNK
    assert_registry_holds(registry, "dy/resume", digest, size)
    # Resumed, not restarted: every byte went once, plus the 100,000 of the cut request.
    assert proxy.upload_forwarded == size + config_size(store_root, image_id)
    assert proxy.upload_received == proxy.upload_forwarded + 100_000
    assert len(uploads(proxy, "POST")) == 2  # the layer's session and the config's: no new session
    assert len(uploads(proxy, "GET")) == 1  # one status request
    with Store.open(store_root) as store:
        assert [d.repository for d in store.meta.repo_digests_for(image_id)] == [f"{proxy.host}/dy/resume"]


def test_503_on_a_patch_is_waited_out_and_the_upload_goes_on(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path, tmp_path: Path, chunked: None
) -> None:
    name = f"{proxy.host}/dy/busy:1"
    image_id, _ = random_image(tmp_path, name)
    proxy.upload_faults.append(UploadFault("PATCH", status=503, headers={"Retry-After": "0"}, skip=1))
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, ""), err
    digest, size = pushed_blob(store_root, image_id)
    assert_registry_holds(registry, "dy/busy", digest, size)
    assert proxy.upload_forwarded == size + config_size(store_root, image_id)
    assert proxy.upload_received == proxy.upload_forwarded + CHUNK  # the refused chunk, sent once more


def test_503_on_the_single_put_starts_over_in_a_new_session(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path, tmp_path: Path
) -> None:
    """Nothing held ("Range: 0-0", which 2.8 also says for one byte): a new session, the blob sent again."""
    name = f"{proxy.host}/dy/put503:1"
    image_id, _ = random_image(tmp_path, name, 300_000)
    proxy.upload_faults.append(UploadFault("PUT", status=503, headers={"Retry-After": "0"}))
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, ""), err
    digest, size = pushed_blob(store_root, image_id)
    assert_registry_holds(registry, "dy/put503", digest, size)
    assert proxy.upload_forwarded == size + config_size(store_root, image_id)
    assert proxy.upload_received == proxy.upload_forwarded + size
    assert len(uploads(proxy, "POST")) == 3


def test_a_patch_the_registry_saw_part_of_loses_the_session_and_a_new_one_starts_once(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path, tmp_path: Path, chunked: None
) -> None:
    name = f"{proxy.host}/dy/gone:1"
    image_id, _ = random_image(tmp_path, name)
    proxy.upload_faults.append(UploadFault("PATCH", cut_after=100_000, forward_partial=True, skip=1))
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, ""), err
    digest, size = pushed_blob(store_root, image_id)
    assert_registry_holds(registry, "dy/gone", digest, size)
    # The first chunk and the part of the second went for nothing; then the whole blob once more.
    config = config_size(store_root, image_id)
    assert proxy.upload_received == proxy.upload_forwarded == CHUNK + 100_000 + size + config
    assert len(uploads(proxy, "POST")) == 3  # layer, its new session, config


def test_a_dropped_single_put_is_sent_again(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path, tmp_path: Path
) -> None:
    name = f"{proxy.host}/dy/putcut:1"
    image_id, _ = random_image(tmp_path, name, 600_000)
    proxy.upload_faults.append(UploadFault("PUT", cut_after=200_000, forward_partial=True))
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, ""), err
    digest, size = pushed_blob(store_root, image_id)
    assert_registry_holds(registry, "dy/putcut", digest, size)
    assert proxy.upload_received == 200_000 + size + config_size(store_root, image_id)


def test_push_gives_up_after_bounded_attempts_and_records_nothing(
    registry: RegistryServer, proxy: FaultProxy, store_root: Path, tmp_path: Path
) -> None:
    name = f"{proxy.host}/dy/down:1"
    image_id, _ = random_image(tmp_path, name, 100_000)
    proxy.upload_faults.append(UploadFault("PUT", status=503, headers={"Retry-After": "0"}, times=100))
    code, out, err = run_cli("push", name)
    assert code == 1
    digest, size = pushed_blob(store_root, image_id)
    assert err == (f"error pushing blob {digest} to {proxy.host}/dy/down (gave up after 5 failed attempts): "
                   "received unexpected HTTP status: 503 Service Unavailable\n")
    assert "Pushed" not in out
    assert len(uploads(proxy, "PUT")) == 5  # RetryPolicy().attempts, in all
    assert httpx.head(f"{registry.url}/v2/dy/down/blobs/{digest}").status_code == 404
    assert httpx.head(f"{registry.url}/v2/dy/down/manifests/1").status_code == 404
    with Store.open(store_root) as store:
        assert store.meta.repo_digests_for(image_id) == []
        assert list(store.meta.blob_sources(digest)) == []
        assert store.check() == []


def config_size(store_root: Path, image_id: str) -> int:
    with Store.open(store_root) as store:
        return store.content.size(Digest.parse(image_id))
