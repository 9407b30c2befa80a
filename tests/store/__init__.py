"""Store tests. ``commit_image`` puts an image's blobs into a store the way pull/load would."""

from __future__ import annotations

import json
from typing import Any

from dockyard.digest import Digest
from dockyard.store import LayerRecord, Store

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def commit_image(
    store: Store, name: str, layer_payloads: list[bytes], *, commit_config: bool = True, commit_layers: bool = True
) -> dict[str, Any]:
    """Put layers and a config into the store (optionally not) and return add_image's keyword arguments."""
    layers = []
    for payload in layer_payloads:
        d = Digest.of(payload)
        if commit_layers:
            store.content.put_bytes(payload)
        layers.append(LayerRecord(d, d, OCI_LAYER, len(payload), len(payload), len(payload) // 2))
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "comment": name,
         "rootfs": {"type": "layers", "diff_ids": [str(layer.diff_id) for layer in layers]}}
    ).encode()
    config_digest = store.content.put_bytes(config) if commit_config else Digest.of(config)
    return dict(
        config_digest=config_digest, config_media_type=OCI_CONFIG, config_size=len(config),
        created="2024-01-02T03:04:05.123456789Z", created_ns=1704164645123456789,
        os="linux", architecture="amd64", variant=None, layers=layers,
    )
