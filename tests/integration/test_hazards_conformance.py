"""Conformance extras (hazards.md, last paragraph) round-tripped through a real docker-registry and the
real archive format: empty blobs and sha512 digests (push → pull of blobs), and an image whose manifest
has no layers, custom fields, a config descriptor with ``data``, a ``subject`` naming a missing digest,
reached through nested indexes, plus a non-distributable layer: pulled by dockyard, saved, loaded into a
fresh store, to the same IDs and the same manifest bytes."""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.oci import mediatypes as mt
from dockyard.oci.platform import host_platform
from dockyard.store import Store
from tests.helpers.archives import image_config, layer_tar, sha
from tests.helpers.cli import run_cli
from tests.helpers.registry import RegistryServer
from tests.helpers.registry_images import registry_client, upload

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("data,algorithm", [(b"", "sha256"), (b"sha512 blob" * 50, "sha512"), (b"", "sha512")],
                         ids=["empty", "sha512", "empty sha512"])
def test_blob_push_pull_round_trip(registry: RegistryServer, data: bytes, algorithm: str) -> None:
    client = registry_client(registry)
    try:
        digest = Digest.of(data, algorithm)
        client.upload_blob("dyhz/blobs", digest, len(data), lambda: io.BytesIO(data))
        assert client.head_blob("dyhz/blobs", digest) == len(data)
        with client.get_blob("dyhz/blobs", digest, expected_size=len(data)) as stream:
            assert stream.read() == data
    finally:
        client.transport.close()


def _platform() -> dict[str, str]:
    plat = host_platform()
    return {"os": plat.os, "architecture": plat.architecture}


def _image(registry: RegistryServer, repo: str, layers: list[tuple[bytes, str]], **extra: object) -> bytes:
    client = registry_client(registry)
    try:
        config = image_config([sha(gzip.decompress(blob) if mt.layer_compression(kind) else blob)
                               for blob, kind in layers])
        upload(client, repo, config)
        for blob, _ in layers:
            upload(client, repo, blob)
        doc: dict[str, object] = {
            "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": sha(config), "size": len(config),
                       "data": base64.b64encode(config).decode()},
            "layers": [{"mediaType": kind, "digest": sha(blob), "size": len(blob)} for blob, kind in layers],
        }
        doc.update(extra)
        raw = json.dumps(doc).encode()
        client.put_manifest(repo, Digest.of(raw), raw, mt.OCI_MANIFEST)
        return raw
    finally:
        client.transport.close()


def _put_index(registry: RegistryServer, repo: str, tag: str | None, child: bytes, child_type: str) -> bytes:
    client = registry_client(registry)
    try:
        entry = {"mediaType": child_type, "digest": sha(child), "size": len(child)}
        if child_type == mt.OCI_MANIFEST:
            entry["platform"] = _platform()
        raw = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [entry],
                          "annotations": {"org.example.level": tag or "inner"}}).encode()
        client.put_manifest(repo, tag or Digest.of(raw), raw, mt.OCI_INDEX)
        return raw
    finally:
        client.transport.close()


def _manifest_of(root: Path, image_id: str) -> bytes:
    with Store.open(root) as store:
        (record,) = [m for m in store.meta.manifests_for(image_id) if not m.children]
        return store.content.read_bytes(record.digest)


CASES = {
    "no layers, custom fields, data, missing subject, nested indexes": dict(
        layers=[], extra={"x-dockyard-custom": {"kept": [1, 2]}, "annotations": {"org.example": "yes"},
                          "subject": {"mediaType": mt.OCI_MANIFEST, "digest": sha(b"not there"), "size": 9}},
        nested=True),
    "non-distributable layer": dict(
        layers=[(gzip.compress(layer_tar({"nd": b"nd"}), mtime=0), mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP)],
        extra={}, nested=False),
    "empty layer tar": dict(layers=[(layer_tar({}), mt.OCI_LAYER)], extra={}, nested=False),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_image_pull_save_load_round_trip(
    registry: RegistryServer, store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    spec = CASES[case]
    repo = "dyhz/conf"
    manifest = _image(registry, repo, spec["layers"], **spec["extra"])  # type: ignore[arg-type]
    if spec["nested"]:
        inner = _put_index(registry, repo, None, manifest, mt.OCI_MANIFEST)
        _put_index(registry, repo, "1", inner, mt.OCI_INDEX)
    else:
        client = registry_client(registry)
        client.put_manifest(repo, "1", manifest, mt.OCI_MANIFEST)
        client.transport.close()
    ref = f"{registry.host}/{repo}:1"
    code, out, err = run_cli("pull", "-q", ref)
    assert (code, err) == (0, ""), err
    image_id = json.loads(manifest)["config"]["digest"]
    assert _manifest_of(store_root, image_id) == manifest  # the exact bytes, unknown fields and all
    archive = tmp_path / "conf.tar"
    assert run_cli("save", "-o", str(archive), ref).code == 0

    fresh = tmp_path / "fresh"
    monkeypatch.setenv("DOCKYARD_ROOT", str(fresh))
    code, out, err = run_cli("load", "-i", str(archive))
    assert (code, err) == (0, ""), err
    assert out == f"Loaded image: {ref}\n"
    with Store.open(fresh) as store:
        assert store.meta.image_for_tag(ref) == image_id
        assert [p for p in store.check() if p.severity == "error"] == []
    assert _manifest_of(fresh, image_id) == manifest
    # And back out again: the second archive loads to the same image.
    again = tmp_path / "again.tar"
    assert run_cli("save", "-o", str(again), ref).code == 0
    assert run_cli("load", "-q", "-i", str(again)).code == 0
