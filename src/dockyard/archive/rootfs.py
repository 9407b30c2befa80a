"""``docker import``: a rootfs tar (plain or compressed) becomes a single-layer image (formats.md §10).

The layer is the decompressed input byte for byte (no re-tarring), so its diff ID is the sha256 of what the
decompressor yields. The input is read once: decompressed, scanned (diff ID, sizes) and copied into a
content ingest in the same pass. Everything happens under a lease, and the image and its tag are
registered in one transaction, so a failure or a kill leaves no image, no tag and nothing GC must keep.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ..digest import Digest
from ..errors import InvalidArgument

if TYPE_CHECKING:
    from ..oci.platform import Platform
    from ..reference import Reference
    from ..store import Store

LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar"


def import_config(
    *,
    diff_id: Digest,
    created: str,
    comment: str,
    config: dict[str, Any],
    platform: Platform,
) -> bytes:
    """The config bytes Docker writes for ``docker import`` (without ``docker_version``: dockyard is not
    Docker and does not claim to be one)."""
    from ..oci.config import HistoryEntry, build_config

    return build_config(
        architecture=platform.architecture,
        os=platform.os,
        variant=platform.variant or None,
        diff_ids=[diff_id],
        history=[HistoryEntry(created=created, comment=comment)],
        created=created,
        config=config,
        comment=comment,
    )


def import_rootfs(
    store: Store,
    source: BinaryIO,
    *,
    source_name: str = "-",
    reference: Reference | None = None,
    changes: Sequence[str] = (),
    message: str = "",
    platform: Platform | None = None,
) -> Digest:
    """Import ``source`` as a new image; returns its ID (the config digest). Tags it when ``reference``
    is given (an existing tag moves; the image it left may become dangling)."""
    from ..build.changes import apply_changes, empty_container_config
    from ..layers.compression import open_decompressed
    from ..layers.scan import scan_layer
    from ..oci.mediatypes import DOCKER_CONFIG
    from ..oci.platform import host_platform
    from ..store.images import set_tag
    from ..store.metadata import LayerRecord, go_time_utc

    # The daemon's order: the reference, then the changes, then the data (so a bad -c reads nothing).
    if reference is not None:
        if reference.digest is not None:
            raise InvalidArgument("cannot import digest reference")
        reference = reference.with_default_tag()
    config = apply_changes(empty_container_config(), changes)
    platform = platform or host_platform()
    comment = message or f"Imported from {source_name}"

    with store.lease():
        ingest = store.content.writer(f"import/{uuid.uuid4().hex}")
        try:
            _, plain = open_decompressed(source)
            scan = scan_layer(plain, sink=ingest)
            layer_digest = ingest.commit(expected=scan.diff_id, expected_size=scan.size)
        except BaseException:
            ingest.abort()  # a random key: nobody could resume it
            raise

        created_ns = time.time_ns()
        created = go_time_utc(created_ns)
        config_bytes = import_config(
            diff_id=scan.diff_id, created=created, comment=comment, config=config, platform=platform
        )
        config_digest = store.content.put_bytes(config_bytes)
        layer = LayerRecord(
            diff_id=scan.diff_id,
            blob=layer_digest,
            media_type=LAYER_MEDIA_TYPE,
            blob_size=scan.size,
            size=scan.size,
            content_size=scan.content_size,
        )
        with store.meta.transaction():
            store.meta.add_image(
                config_digest=config_digest,
                config_media_type=DOCKER_CONFIG,
                config_size=len(config_bytes),
                created=created,
                created_ns=created_ns,
                os=platform.os,
                architecture=platform.architecture,
                variant=platform.variant,
                layers=[layer],
            )
            if reference is not None:
                set_tag(store, reference, str(config_digest))
    return config_digest
