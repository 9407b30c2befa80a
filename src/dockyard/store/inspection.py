"""What ``docker image inspect`` and ``docker history`` show about a local image, in the Engine API's shape.

``inspect_image`` returns the object of ``GET /images/{name}/json`` at API 1.43 (moby's
``image_routes.go`` version rules; keys in the order the engine writes them). ``history`` returns the
items of ``GET /images/{name}/history`` (moby ``daemon/images/image_history.go``).

GraphDriver: dockyard has no overlay2 driver. ``Name`` is ``overlay2`` as Docker reports, and ``Data``
names per-layer directories ``<root>/overlay2/<chain ID hex>/{diff,merged,work}`` (``LowerDir`` lists the
lower layers' ``diff`` directories, topmost first, as overlay2 does); they are stable names derived from
the chain IDs, not directories that necessarily exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..digest import Digest

if TYPE_CHECKING:
    from ..oci.config import ImageConfig
    from . import Store
    from .metadata import ImageRecord

ZERO_TIME = "0001-01-01T00:00:00Z"
ZERO_TIME_UNIX = -62135596800  # Go's time.Time{}.Unix()
MISSING_ID = "<missing>"
API_VERSION = "1.43"


@dataclass(frozen=True)
class HistoryItem:
    """One entry of ``GET /images/{name}/history`` (field names and order as the Engine API's JSON)."""

    Id: str
    Created: int  # Unix seconds
    CreatedBy: str
    Tags: list[str] | None  # null when the image has no tag
    Size: int
    Comment: str

    def to_json(self) -> dict[str, Any]:
        return {
            "Comment": self.Comment,
            "Created": self.Created,
            "CreatedBy": self.CreatedBy,
            "Id": self.Id,
            "Size": self.Size,
            "Tags": self.Tags,
        }


@dataclass(frozen=True)
class _Loaded:
    image: ImageRecord
    config: ImageConfig
    extra: dict[str, Any] = field(default_factory=dict)


def load_config(store: Store, image: ImageRecord) -> ImageConfig:
    from ..oci.config import CONFIG_SIZE_LIMIT, ImageConfig

    raw = store.content.read_bytes(Digest.parse(image.id), limit=CONFIG_SIZE_LIMIT)
    return ImageConfig.parse(raw)


def go_time_text(text: str | None) -> str:
    """A config's ``created`` as Go re-marshals it (RFC3339Nano, offset kept); the zero time if unset."""
    if not text:
        return ZERO_TIME
    from ..gotime import parse_rfc3339_nano, rfc3339_nano

    try:
        ns = parse_rfc3339_nano(text)
    except Exception:  # noqa: BLE001 - an unparsable time is shown as stored rather than failing inspect
        return text
    return rfc3339_nano(ns, _zone_of(text))


def _zone_of(text: str) -> timezone:
    tail = text[-6:]
    if len(tail) == 6 and tail[0] in "+-" and tail[3] == ":" and tail[1:3].isdigit() and tail[4:].isdigit():
        minutes = int(tail[1:3]) * 60 + int(tail[4:])
        return timezone(timedelta(minutes=minutes if tail[0] == "+" else -minutes))
    return timezone.utc


def unix_seconds(text: str | None) -> int:
    """``time.Time.Unix()`` of a config time; Go's zero time when absent or unparsable."""
    if not text:
        return ZERO_TIME_UNIX
    from ..gotime import parse_rfc3339_nano

    try:
        return parse_rfc3339_nano(text) // 1_000_000_000
    except Exception:  # noqa: BLE001 - moby would have refused to load it; show it as undated
        return ZERO_TIME_UNIX


def graph_driver(store: Store, image: ImageRecord) -> dict[str, Any]:
    from ..oci.chain import chain_ids

    base = store.root / "overlay2"
    chains = [c.hex for c in chain_ids(image.diff_ids)]
    if not chains:
        return {"Data": None, "Name": "overlay2"}
    top = base / chains[-1]
    data: dict[str, str] = {}
    if len(chains) > 1:
        data["LowerDir"] = ":".join(str(base / c / "diff") for c in reversed(chains[:-1]))
    data["MergedDir"] = str(top / "merged")
    data["UpperDir"] = str(top / "diff")
    data["WorkDir"] = str(top / "work")
    return {"Data": data, "Name": "overlay2"}


def inspect_image(store: Store, name: str) -> dict[str, Any]:
    """The Engine API's image inspect object (API 1.43) for the image ``name`` resolves to."""
    from ..oci.config import go_container_config
    from .images import repo_digests, repo_tags, resolve_image

    image = resolve_image(store, name)
    config = load_config(store, image)
    comment = config.comment or ""
    if not comment and config.history:
        comment = config.history[-1].comment or ""
    container_config = config.container_config
    image_config = config.config
    out: dict[str, Any] = {
        "Id": image.id,
        "RepoTags": repo_tags(store, image.id),
        "RepoDigests": repo_digests(store, image.id),
        "Parent": image.parent or "",
        "Comment": comment,
        "Created": go_time_text(config.created),
        "Container": config.container or "",
        "ContainerConfig": go_container_config(container_config),
        "DockerVersion": config.docker_version or "",
        "Author": config.author or "",
        "Config": go_container_config(image_config) if image_config is not None else None,
        "Architecture": config.architecture,
    }
    if config.variant:
        out["Variant"] = config.variant
    out["Os"] = config.os
    if config.os_version:
        out["OsVersion"] = config.os_version
    out["Size"] = image.size
    out["VirtualSize"] = image.size
    out["GraphDriver"] = graph_driver(store, image)
    out["RootFS"] = {"Type": "layers", "Layers": [str(d) for d in config.diff_ids]}
    out["Metadata"] = {"LastTagTime": image.last_tag_time or ZERO_TIME}
    return out


def _layer_sizes(image: ImageRecord) -> list[int]:
    return [layer.content_size for layer in image.layers]


def history(store: Store, name: str) -> list[HistoryItem]:
    """``docker history``: newest first; IDs follow the local parent chain, then ``<missing>``."""
    from ..errors import DataCorrupt
    from .images import repo_tags, resolve_image

    image = resolve_image(store, name)
    config = load_config(store, image)
    sizes = _layer_sizes(image)
    items: list[dict[str, Any]] = []
    layer_index = 0
    for entry in config.history:
        size = 0
        if not entry.empty_layer:
            if layer_index >= len(config.diff_ids):
                raise DataCorrupt("too many non-empty layers in History section")
            size = sizes[layer_index] if layer_index < len(sizes) else 0
            layer_index += 1
        items.append(
            {
                "Created": unix_seconds(entry.created),
                "CreatedBy": entry.created_by or "",
                "Size": size,
                "Comment": entry.comment or "",
            }
        )
    items.reverse()

    ids: list[tuple[str, list[str] | None]] = []
    current: ImageRecord | None = image
    while current is not None and len(ids) < len(items):
        tags = repo_tags(store, current.id)
        ids.append((current.id, tags or None))
        parent_id = current.parent
        current = store.meta.get_image(parent_id) if parent_id else None
    result = []
    for i, item in enumerate(items):
        image_id, tags = ids[i] if i < len(ids) else (MISSING_ID, None)
        result.append(HistoryItem(Id=image_id, Tags=tags, **item))
    return result
