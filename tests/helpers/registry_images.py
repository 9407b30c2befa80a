"""Images put into a registry by hand: layers, config and manifest built here, so diff IDs and digests are
known to the test."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.oci import mediatypes as mt
from dockyard.registry.client import RegistryClient
from dockyard.registry.hosts import Hosts
from dockyard.registry.transport import Transport
from tests.helpers.registry import RegistryServer


@dataclass(frozen=True)
class PutImage:
    image_id: str
    manifest_digest: Digest
    manifest: bytes
    layer_digests: list[Digest]
    layer_sizes: list[int]


def registry_client(server: RegistryServer) -> RegistryClient:
    return RegistryClient(server.host, transport=Transport(hosts=Hosts(certs_dirs=[])), push=True)


def upload(client: RegistryClient, repo: str, data: bytes) -> Digest:
    digest = Digest.of(data)
    if client.head_blob(repo, digest) is None:
        client.upload_blob(repo, digest, len(data), lambda: io.BytesIO(data))
    return digest


def put_image(
    server: RegistryServer,
    repo: str,
    tag: str | None,
    layers: list[bytes],
    *,
    arch: str = "amd64",
    oci: bool = False,
    diff_ids: list[Digest] | None = None,
) -> PutImage:
    """Upload gzip layers made from ``layers`` (plain tars), a config and a manifest; tag it if asked."""
    client = registry_client(server)
    gz = [gzip.compress(t, mtime=0) for t in layers]
    ids = diff_ids or [Digest.of(t) for t in layers]
    config = json.dumps({
        "architecture": arch, "os": "linux", "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [str(d) for d in ids]},
        "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"layer {i}"} for i in range(len(layers))],
    }).encode()
    config_digest = upload(client, repo, config)
    layer_digests = [upload(client, repo, g) for g in gz]
    layer_type = mt.OCI_LAYER_GZIP if oci else mt.DOCKER_LAYER_GZIP
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST if oci else mt.DOCKER_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG if oci else mt.DOCKER_CONFIG, "size": len(config),
                   "digest": str(config_digest)},
        "layers": [{"mediaType": layer_type, "size": len(g), "digest": str(d)} for g, d in zip(gz, layer_digests)],
    }, indent=3).encode()
    media_type = mt.OCI_MANIFEST if oci else mt.DOCKER_MANIFEST
    digest = client.put_manifest(repo, tag or Digest.of(manifest), manifest, media_type)
    client.transport.close()
    return PutImage(str(config_digest), digest, manifest, layer_digests, [len(g) for g in gz])


def put_index(server: RegistryServer, repo: str, tag: str, children: list[tuple[PutImage, dict]]) -> Digest:
    client = registry_client(server)
    entries = [
        {"mediaType": mt.DOCKER_MANIFEST, "size": len(img.manifest), "digest": str(img.manifest_digest),
         "platform": platform}
        for img, platform in children
    ]
    # A BuildKit-style attestation first: it must never be chosen.
    att = children[0][0]
    entries.insert(0, {"mediaType": mt.OCI_MANIFEST, "size": len(att.manifest), "digest": str(att.manifest_digest),
                       "platform": {"architecture": "unknown", "os": "unknown"},
                       "annotations": {"vnd.docker.reference.type": "attestation-manifest"}})
    index = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}).encode()
    digest = client.put_manifest(repo, tag, index, mt.OCI_INDEX)
    client.transport.close()
    return digest
