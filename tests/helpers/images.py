"""Images for tests: registered through the store API (blobs, ``add_image``, tags), or imported through
``dockyard import`` of a tar."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from dockyard.digest import Digest
from dockyard.reference import parse_normalized
from dockyard.store import LayerRecord, Store
from dockyard.store.images import add_repo_digest, set_tag
from tests.helpers.archives import layer_tar
from tests.helpers.cli import run_cli

DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"

# Digests of nothing stored: repo digests that name no manifest here.
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def put_layer(store: Store, data: bytes, content_size: int, media_type: str = DOCKER_LAYER) -> LayerRecord:
    """An uncompressed layer blob (so digest = diff ID) holding ``content_size`` bytes of files."""
    digest = store.content.put_bytes(data)
    return LayerRecord(digest, digest, media_type, len(data), len(data), content_size)


def put_files_layer(store: Store, files: dict[str, bytes], media_type: str = DOCKER_LAYER) -> LayerRecord:
    return put_layer(store, layer_tar(files), sum(map(len, files.values())), media_type)


def register_image(
    store: Store,
    config: dict[str, Any],
    layers: Sequence[LayerRecord],
    *,
    config_media_type: str = DOCKER_CONFIG,
    created_ns: int | None = None,
    parent: str | None = None,
    tags: Iterable[str] = (),
    digests: Iterable[str] = (),
    sort_keys: bool = False,
) -> str:
    """Commit ``config`` (its rootfs already naming ``layers``), add the image, tag it; returns its ID."""
    raw = json.dumps(config, sort_keys=sort_keys).encode()
    config_digest = store.content.put_bytes(raw)
    record = store.meta.add_image(
        config_digest=config_digest,
        config_media_type=config_media_type,
        config_size=len(raw),
        created=config.get("created"),
        created_ns=created_ns,
        os=config.get("os", "linux"),
        architecture=config.get("architecture", "amd64"),
        variant=config.get("variant"),
        layers=list(layers),
        parent=Digest.parse(parent) if parent else None,
    )
    for tag in tags:
        set_tag(store, parse_normalized(tag).with_default_tag(), record.id)
    for ref in digests:
        add_repo_digest(store, parse_normalized(ref), record.id)
    return record.id


def rootfs(layers: Sequence[LayerRecord]) -> dict[str, Any]:
    return {"type": "layers", "diff_ids": [str(layer.diff_id) for layer in layers]}


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_image(
    store: Store,
    *,
    created: int | None = 1_700_000_000,
    layers: list[dict[str, bytes]] | None = None,
    labels: dict[str, str] | None = None,
    container_config: bool = True,
    parent: str | None = None,
    tags: tuple[str, ...] = (),
    digests: tuple[str, ...] = (),
    arch: str = "amd64",
    salt: str = "",
) -> str:
    """An OCI image of real tar layers (one file by default) and a config made unique by ``salt``; its ID."""
    layers = layers if layers is not None else [{"file": b"x" * 100}]
    with store.lease():
        records = [put_files_layer(store, files, OCI_LAYER) for files in layers]
        config: dict[str, Any] = {
            "architecture": arch,
            "os": "linux",
            "rootfs": rootfs(records),
            "history": [{"created_by": salt}],
        }
        if created is not None:
            config["created"] = iso(created)
        if container_config:
            config["config"] = {"Labels": labels} if labels is not None else {}
        return register_image(
            store, config, records, config_media_type=OCI_CONFIG, sort_keys=True, parent=parent, tags=tags,
            digests=digests, created_ns=created * 1_000_000_000 if created is not None else None,
        )


class ImageMaker:
    """Docker-typed images, each with a fresh layer and a unique config unless told otherwise."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._n = 0

    def layer(self, files: dict[str, bytes]) -> LayerRecord:
        return put_files_layer(self.store, files)

    def image(
        self,
        *tags: str,
        layers: tuple[LayerRecord, ...] | None = None,
        parent: str | None = None,
        labels: dict[str, str] | None = None,
        created_ns: int | None = 1_700_000_000_000_000_000,
        repo_digest: str | None = None,
    ) -> str:
        """A new image (unique config) with one fresh layer unless ``layers`` is given; returns its ID."""
        self._n += 1
        if layers is None:
            layers = (self.layer({f"file{self._n}": f"content {self._n}\n".encode()}),)
        created = None
        if created_ns is not None:
            from dockyard.store.metadata import go_time_utc

            created = go_time_utc(created_ns)
        config: dict[str, Any] = {
            "architecture": "amd64",
            "os": "linux",
            "created": created,
            "config": {"Labels": labels or None, "Env": [f"N={self._n}"]},
            "rootfs": rootfs(layers),
        }
        if parent is not None:
            config["parent"] = parent
        return register_image(
            self.store, config, layers, created_ns=created_ns, parent=parent, tags=tags,
            digests=() if repo_digest is None else (repo_digest,),
        )

    def child(self, parent: str, *tags: str, files: dict[str, bytes] | None = None, **kw: object) -> str:
        """An image built on ``parent``: its layers plus one more (or none when ``files`` is empty)."""
        base = self.store.meta.get_image(parent)
        assert base is not None
        extra = (self.layer(files),) if files else ()
        if files is None:
            self._n += 1
            extra = (self.layer({f"child{self._n}": f"child {self._n}\n".encode()}),)
        return self.image(*tags, layers=tuple(base.layers) + extra, parent=parent, **kw)  # type: ignore[arg-type]


def import_image(*args: str) -> str:
    """``dockyard import args…`` (flags, the tar or ``-``, a reference) must succeed; returns the image ID."""
    result = run_cli("import", *args)
    assert (result.code, result.err) == (0, ""), result.err
    return result.out.strip()
