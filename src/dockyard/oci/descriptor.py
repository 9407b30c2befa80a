"""Content descriptors: what a manifest or index says about one blob."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..digest import Digest
from ..errors import DataCorrupt, DigestMismatch, InvalidArgument, InvalidDigest, SizeMismatch
from .platform import Platform

_KNOWN_FIELDS = frozenset(
    {"mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType"}
)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping)) if mapping else _EMPTY


@dataclass(frozen=True)
class Descriptor:
    """An image-spec descriptor. ``extra`` keeps fields this version does not know, in their order."""

    media_type: str
    digest: Digest
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    data: bytes | None = None
    platform: Platform | None = None
    artifact_type: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise InvalidArgument(f"invalid descriptor size {self.size!r}")
        object.__setattr__(self, "annotations", _frozen(self.annotations))
        object.__setattr__(self, "extra", _frozen(self.extra))
        object.__setattr__(self, "urls", tuple(self.urls))

    def __hash__(self) -> int:
        return hash((self.media_type, self.digest, self.size))

    @classmethod
    def from_json(cls, obj: Any) -> Descriptor:
        """Parse and check one descriptor object; a ``data`` field must match digest and size."""
        if not isinstance(obj, Mapping):
            raise DataCorrupt("descriptor must be a JSON object")
        media_type = obj.get("mediaType")
        if not isinstance(media_type, str) or not media_type:
            raise DataCorrupt("descriptor has no mediaType")
        digest_text = obj.get("digest")
        if not isinstance(digest_text, str):
            raise DataCorrupt("descriptor has no digest")
        try:
            digest = Digest.parse(digest_text)
        except InvalidDigest as err:
            raise DataCorrupt(f"descriptor digest {digest_text!r}: {err}") from err
        size = obj.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise DataCorrupt(f"descriptor {digest} has an invalid size")
        urls = obj.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise DataCorrupt(f"descriptor {digest} has invalid urls")
        annotations = obj.get("annotations") or {}
        if not isinstance(annotations, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise DataCorrupt(f"descriptor {digest} has invalid annotations")
        data = None
        if obj.get("data") is not None:
            encoded = obj["data"]
            if not isinstance(encoded, str):
                raise DataCorrupt(f"descriptor {digest} has invalid data")
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as err:
                raise DataCorrupt(f"descriptor {digest} has invalid base64 data") from err
        platform = None
        if obj.get("platform") is not None:
            try:
                platform = Platform.from_json(obj["platform"])
            except InvalidArgument as err:
                raise DataCorrupt(f"descriptor {digest}: {err}") from err
        artifact_type = obj.get("artifactType")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise DataCorrupt(f"descriptor {digest} has an invalid artifactType")
        desc = cls(
            media_type=media_type,
            digest=digest,
            size=size,
            urls=tuple(urls),
            annotations=annotations,
            data=data,
            platform=platform,
            artifact_type=artifact_type or None,
            extra={k: v for k, v in obj.items() if k not in _KNOWN_FIELDS},
        )
        desc.verify_data()
        return desc

    def verify_data(self) -> None:
        """Embedded ``data`` must be exactly the described content."""
        if self.data is None:
            return
        if len(self.data) != self.size:
            raise SizeMismatch(str(self.digest), self.size, len(self.data))
        actual = Digest.of(self.data, self.digest.algorithm)
        if actual != self.digest:
            raise DigestMismatch(str(self.digest), str(actual), len(self.data), what="descriptor data")

    def to_json(self, *, docker_order: bool = False) -> dict[str, Any]:
        """The JSON object, unknown fields kept after the known ones.

        OCI order is ``mediaType, digest, size, …``; Docker's distribution writes ``mediaType, size,
        digest``, which ``docker_order`` selects.
        """
        out: dict[str, Any] = {"mediaType": self.media_type}
        if docker_order:
            out["size"] = self.size
            out["digest"] = str(self.digest)
        else:
            out["digest"] = str(self.digest)
            out["size"] = self.size
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.data is not None:
            out["data"] = base64.b64encode(self.data).decode("ascii")
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    @classmethod
    def of(cls, media_type: str, content: bytes, **kwargs: Any) -> Descriptor:
        """A descriptor for bytes in hand."""
        return cls(media_type=media_type, digest=Digest.of(content), size=len(content), **kwargs)
