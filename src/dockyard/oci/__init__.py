"""OCI and Docker image nouns: media types, descriptors, manifests, indexes, configs, platforms (pure)."""

from . import mediatypes
from .chain import chain_id, chain_ids, v1_layer_ids, v1_layer_json
from .config import HistoryEntry, ImageConfig, build_config, go_container_config, go_json
from .descriptor import Descriptor
from .manifest import (
    Index,
    Manifest,
    MediaTypeConflict,
    Schema1Unsupported,
    build_docker_manifest,
    build_oci_index,
    build_oci_manifest,
    parse_index,
    parse_manifest,
    parse_manifest_or_index,
)
from .platform import (
    Platform,
    format_platform,
    host_platform,
    matches,
    normalize,
    parse_platform,
    select_manifest,
    select_manifests,
)

__all__ = [
    "Descriptor",
    "HistoryEntry",
    "ImageConfig",
    "Index",
    "Manifest",
    "MediaTypeConflict",
    "Platform",
    "Schema1Unsupported",
    "build_config",
    "build_docker_manifest",
    "build_oci_index",
    "build_oci_manifest",
    "chain_id",
    "chain_ids",
    "format_platform",
    "go_container_config",
    "go_json",
    "host_platform",
    "matches",
    "mediatypes",
    "normalize",
    "parse_index",
    "parse_manifest",
    "parse_manifest_or_index",
    "parse_platform",
    "select_manifest",
    "select_manifests",
    "v1_layer_ids",
    "v1_layer_json",
]
