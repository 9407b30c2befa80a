"""Pulls through an in-process proxy that misbehaves on purpose: cut connections, flipped bytes, 429/5xx
with Retry-After, a killed puller, two pullers at once, a token realm pointing at a metadata address.

The proxy forwards to a real docker-registry and counts the bytes it serves per path, so resumption is
checked by what actually crossed the wire.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.registry import RegistryServer
from tests.helpers.archives import layer_tar
from tests.helpers.cli import run_cli
from tests.helpers.faults import FaultProxy
from tests.helpers.registry_images import put_image

pytestmark = pytest.mark.integration

DOCKYARD = Path(sys.executable).with_name("dockyard")


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
