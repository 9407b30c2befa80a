"""Media types of Docker schema 2 and OCI image documents and blobs, and what each kind is."""

from __future__ import annotations

from typing import Literal

# Docker schema 2
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json"

# Docker schema 1: recognised only so it can be refused by name.
DOCKER_SCHEMA1_MANIFEST = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED_MANIFEST = "application/vnd.docker.distribution.manifest.v1+prettyjws"

# OCI
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYOUT_VERSION = "1.0.0"

# The empty descriptor's blob is the two bytes "{}".
OCI_EMPTY_BLOB = b"{}"
OCI_EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

MANIFEST_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEX_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1_MANIFEST, DOCKER_SCHEMA1_SIGNED_MANIFEST})
# Everything a registry GET for a manifest should accept, best first (schema 1 deliberately absent).
ACCEPTED_MANIFEST_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
IMAGE_CONFIG_TYPES = frozenset({DOCKER_CONFIG, OCI_CONFIG})

NONDISTRIBUTABLE_LAYER_TYPES = frozenset(
    {
        DOCKER_FOREIGN_LAYER_GZIP,
        OCI_LAYER_NONDISTRIBUTABLE,
        OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
    }
)
GZIP_LAYER_TYPES = frozenset(
    {DOCKER_LAYER_GZIP, DOCKER_FOREIGN_LAYER_GZIP, OCI_LAYER_GZIP, OCI_LAYER_NONDISTRIBUTABLE_GZIP}
)
ZSTD_LAYER_TYPES = frozenset({OCI_LAYER_ZSTD, OCI_LAYER_NONDISTRIBUTABLE_ZSTD})
PLAIN_LAYER_TYPES = frozenset({OCI_LAYER, OCI_LAYER_NONDISTRIBUTABLE})
LAYER_TYPES = GZIP_LAYER_TYPES | ZSTD_LAYER_TYPES | PLAIN_LAYER_TYPES

Compression = Literal["gzip", "zstd"]


def is_manifest(media_type: str) -> bool:
    return media_type in MANIFEST_TYPES


def is_index(media_type: str) -> bool:
    return media_type in INDEX_TYPES


def is_image_config(media_type: str) -> bool:
    return media_type in IMAGE_CONFIG_TYPES


def is_layer(media_type: str) -> bool:
    return media_type in LAYER_TYPES


def is_known_document(media_type: str) -> bool:
    """A manifest or index type dockyard knows how to read (what an index entry may point to)."""
    return media_type in MANIFEST_TYPES or media_type in INDEX_TYPES


def is_non_distributable(media_type: str) -> bool:
    """Foreign layers: kept as they are, never pushed, fetched from their ``urls`` only where allowed."""
    return media_type in NONDISTRIBUTABLE_LAYER_TYPES


def layer_compression(media_type: str) -> Compression | None:
    """How a layer blob of this type is compressed; None for a plain tar (or a type that is not a layer)."""
    if media_type in GZIP_LAYER_TYPES:
        return "gzip"
    if media_type in ZSTD_LAYER_TYPES:
        return "zstd"
    return None


def oci_layer_type(compression: Compression | None, *, non_distributable: bool = False) -> str:
    """The OCI layer media type for a compression."""
    if non_distributable:
        return {None: OCI_LAYER_NONDISTRIBUTABLE, "gzip": OCI_LAYER_NONDISTRIBUTABLE_GZIP,
                "zstd": OCI_LAYER_NONDISTRIBUTABLE_ZSTD}[compression]
    return {None: OCI_LAYER, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}[compression]


def docker_layer_type(compression: Compression | None, *, non_distributable: bool = False) -> str:
    """The Docker schema 2 layer type; Docker has only gzip, so others fall back to the OCI types."""
    if compression == "gzip":
        return DOCKER_FOREIGN_LAYER_GZIP if non_distributable else DOCKER_LAYER_GZIP
    return oci_layer_type(compression, non_distributable=non_distributable)
