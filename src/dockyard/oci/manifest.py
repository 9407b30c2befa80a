"""Manifests and indexes: parse registry/archive documents strictly, and write new ones.

A parsed document keeps its exact bytes: its digest is the hash of those bytes, and nothing that has a
digest is ever re-serialised. The checks follow containerd's ``validateMediaType`` (CVE-2021-41190): a
document must not be both a manifest and an index, and its ``mediaType`` must agree with the type it was
served as. Schema 1 is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from ..digest import Digest
from ..errors import DataCorrupt, TooLarge, Unsupported
from . import mediatypes as mt
from .config import go_json
from .descriptor import Descriptor

MANIFEST_SIZE_LIMIT = 4 << 20

SCHEMA1_MESSAGE = (
    "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed."
)
SCHEMA1_HINT = "https://docs.docker.com/go/deprecated-image-specs/"


class Schema1Unsupported(Unsupported):
    """A schema 1 manifest; worded as moby 28 words it, naming the reference when one is given."""

    def __init__(self, reference: str | None = None) -> None:
        message = SCHEMA1_MESSAGE
        if reference:
            message += (
                f" Suggest the author of {reference} to upgrade the image to the OCI Format or Docker Image"
                " manifest v2, schema 2."
            )
        super().__init__(f"{message} More information at {SCHEMA1_HINT}")
        self.reference = reference


class MediaTypeConflict(DataCorrupt):
    """The document's structure or ``mediaType`` contradicts the type it claims or was served as."""


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class _Document:
    raw: bytes
    media_type: str
    schema_version: int = 2
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    subject: Descriptor | None = None

    @cached_property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    @property
    def size(self) -> int:
        return len(self.raw)

    def descriptor(self, **kwargs: Any) -> Descriptor:
        """A descriptor naming exactly these bytes."""
        return Descriptor(self.media_type, self.digest, len(self.raw), **kwargs)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.raw == self.raw  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.raw)


@dataclass(frozen=True, eq=False)
class Manifest(_Document):
    """An image (or artifact) manifest: one config and its layers, base first."""

    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()

    @property
    def is_docker(self) -> bool:
        return self.media_type == mt.DOCKER_MANIFEST

    @property
    def is_image(self) -> bool:
        """A runnable image (its config is an image config), not some other artifact."""
        return self.config is not None and mt.is_image_config(self.config.media_type)


@dataclass(frozen=True, eq=False)
class Index(_Document):
    """An OCI index or Docker manifest list. Entries of unknown type are kept; selection skips them."""

    manifests: tuple[Descriptor, ...] = ()

    @property
    def known_manifests(self) -> tuple[Descriptor, ...]:
        return tuple(d for d in self.manifests if mt.is_known_document(d.media_type))


def _base_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _load(raw: bytes, limit: int) -> dict[str, Any]:
    if len(raw) > limit:
        raise TooLarge("manifest", limit)
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataCorrupt(f"manifest is not valid JSON: {err}") from err
    if not isinstance(doc, dict):
        raise DataCorrupt("manifest must be a JSON object")
    return doc


def parse_manifest_or_index(
    raw: bytes,
    content_type: str | None = None,
    *,
    reference: str | None = None,
    limit: int = MANIFEST_SIZE_LIMIT,
) -> Manifest | Index:
    """Parse a manifest or index, deciding which by its ``mediaType``, the served type, then its shape.

    ``content_type`` is the Content-Type it was served with, or the media type of the descriptor that
    named it. ``reference`` only improves the schema 1 message.
    """
    doc = _load(raw, limit)
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise DataCorrupt("manifest mediaType must be a string")
    served = _base_type(content_type)

    if (
        doc.get("schemaVersion") == 1
        or "fsLayers" in doc
        or declared in mt.SCHEMA1_TYPES
        or served in mt.SCHEMA1_TYPES
    ):
        raise Schema1Unsupported(reference)
    version = doc.get("schemaVersion")
    if version != 2 or isinstance(version, bool):
        raise Unsupported(f"unsupported manifest schema version {version!r}")

    has_index_shape = "manifests" in doc
    has_manifest_shape = "config" in doc or "layers" in doc
    if has_index_shape and has_manifest_shape:
        raise MediaTypeConflict("manifest has both manifests and config/layers")

    if declared and served and mt.is_known_document(served) and declared != served:
        raise MediaTypeConflict(f"media type mismatch: document says {declared}, served as {served}")

    kind = declared or (served if served and mt.is_known_document(served) else None)
    if kind is None:
        # OCI allows omitting mediaType; then only the shape tells.
        if has_index_shape:
            kind = mt.OCI_INDEX
        elif has_manifest_shape:
            kind = mt.OCI_MANIFEST
        else:
            raise DataCorrupt("document is neither a manifest nor an index")
    if mt.is_index(kind):
        if has_manifest_shape:
            raise MediaTypeConflict(f"media-type: expected index but found manifest ({kind})")
        return _parse_index(raw, doc, kind)
    if mt.is_manifest(kind):
        if has_index_shape:
            raise MediaTypeConflict(f"media-type: expected manifest but found index ({kind})")
        return _parse_manifest(raw, doc, kind)
    raise Unsupported(f"unsupported manifest media type {kind}")


def _annotations(doc: Mapping[str, Any]) -> Mapping[str, str]:
    value = doc.get("annotations") or {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise DataCorrupt("manifest annotations must map strings to strings")
    return _frozen(value)


def _common(doc: Mapping[str, Any]) -> dict[str, Any]:
    artifact_type = doc.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise DataCorrupt("manifest artifactType must be a string")
    subject = doc.get("subject")
    return {
        "annotations": _annotations(doc),
        "artifact_type": artifact_type or None,
        "subject": Descriptor.from_json(subject) if subject is not None else None,
    }


def _descriptor_list(doc: Mapping[str, Any], key: str) -> tuple[Descriptor, ...]:
    value = doc.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DataCorrupt(f"manifest {key} must be a list")
    return tuple(Descriptor.from_json(item) for item in value)


def _parse_manifest(raw: bytes, doc: Mapping[str, Any], media_type: str) -> Manifest:
    if doc.get("config") is None:
        raise DataCorrupt("manifest has no config")
    return Manifest(
        raw=bytes(raw),
        media_type=media_type,
        config=Descriptor.from_json(doc["config"]),
        layers=_descriptor_list(doc, "layers"),
        **_common(doc),
    )


def _parse_index(raw: bytes, doc: Mapping[str, Any], media_type: str) -> Index:
    return Index(
        raw=bytes(raw),
        media_type=media_type,
        manifests=_descriptor_list(doc, "manifests"),
        **_common(doc),
    )


def parse_manifest(raw: bytes, content_type: str | None = None, **kwargs: Any) -> Manifest:
    """Like ``parse_manifest_or_index`` but an index is a type conflict."""
    doc = parse_manifest_or_index(raw, content_type, **kwargs)
    if not isinstance(doc, Manifest):
        raise MediaTypeConflict(f"media-type: expected manifest but found index ({doc.media_type})")
    return doc


def parse_index(raw: bytes, content_type: str | None = None, **kwargs: Any) -> Index:
    doc = parse_manifest_or_index(raw, content_type, **kwargs)
    if not isinstance(doc, Index):
        raise MediaTypeConflict(f"media-type: expected index but found manifest ({doc.media_type})")
    return doc


# --- writing ---------------------------------------------------------------------------------------


def build_docker_manifest(config: Descriptor, layers: Sequence[Descriptor]) -> bytes:
    """A schema 2 manifest as Docker's distribution library writes it on push (MarshalIndent, 3 spaces,
    descriptor keys ``mediaType, size, digest``, no trailing newline)."""
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST,
        "config": _docker_descriptor(config),
        "layers": [_docker_descriptor(layer) for layer in layers],
    }
    return go_json(doc, indent=3)


def _docker_descriptor(desc: Descriptor) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": desc.media_type, "size": desc.size, "digest": str(desc.digest)}
    if desc.urls:
        out["urls"] = list(desc.urls)
    if desc.annotations:
        out["annotations"] = {k: desc.annotations[k] for k in sorted(desc.annotations)}
    if desc.platform is not None:
        out["platform"] = desc.platform.to_json()
    return out


def _oci_descriptor(desc: Descriptor) -> dict[str, Any]:
    out = desc.to_json()
    if "annotations" in out:
        out["annotations"] = {k: out["annotations"][k] for k in sorted(out["annotations"])}
    return out


def _oci_document(
    body: dict[str, Any],
    media_type: str,
    *,
    artifact_type: str | None,
    subject: Descriptor | None,
    annotations: Mapping[str, str] | None,
    indent: int | None,
) -> bytes:
    # image-spec Go struct order: schemaVersion, mediaType, artifactType, <body>, subject, annotations.
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc.update(body)
    if subject is not None:
        doc["subject"] = _oci_descriptor(subject)
    if annotations:
        doc["annotations"] = {k: annotations[k] for k in sorted(annotations)}
    return go_json(doc, indent=indent)


def build_oci_manifest(
    config: Descriptor,
    layers: Sequence[Descriptor],
    *,
    annotations: Mapping[str, str] | None = None,
    subject: Descriptor | None = None,
    artifact_type: str | None = None,
    indent: int | None = 2,
) -> bytes:
    """An OCI image manifest in image-spec field order; ``indent=2`` is BuildKit/containerd's shape,
    ``indent=None`` the compact form."""
    body = {"config": _oci_descriptor(config), "layers": [_oci_descriptor(d) for d in layers]}
    return _oci_document(
        body, mt.OCI_MANIFEST, artifact_type=artifact_type, subject=subject, annotations=annotations,
        indent=indent,
    )


def build_oci_index(
    manifests: Sequence[Descriptor],
    *,
    annotations: Mapping[str, str] | None = None,
    subject: Descriptor | None = None,
    artifact_type: str | None = None,
    indent: int | None = 2,
) -> bytes:
    """An OCI index (also ``index.json`` of a layout) in image-spec field order."""
    body = {"manifests": [_oci_descriptor(d) for d in manifests]}
    return _oci_document(
        body, mt.OCI_INDEX, artifact_type=artifact_type, subject=subject, annotations=annotations,
        indent=indent,
    )
