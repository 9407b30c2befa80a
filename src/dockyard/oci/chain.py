"""Layer chain IDs, and the legacy v1 layer IDs that name the directories of a classic ``docker save``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from ..digest import Digest
from .config import ImageConfig, go_container_config, go_json

# time.Unix(0, 0) as Go marshals it in a daemon running in UTC.
_EPOCH = "1970-01-01T00:00:00Z"
_RFC3339 = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?P<zone>Z|z|[+-]\d{2}:\d{2})"
)


def chain_ids(diff_ids: Sequence[Digest]) -> list[Digest]:
    """ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln))."""
    chain: list[Digest] = []
    for diff_id in diff_ids:
        if not chain:
            chain.append(diff_id)
        else:
            chain.append(Digest.of(f"{chain[-1]} {diff_id}".encode("ascii")))
    return chain


def chain_id(diff_ids: Sequence[Digest]) -> Digest | None:
    """The chain ID of the whole stack; None for an image without layers."""
    ids = chain_ids(diff_ids)
    return ids[-1] if ids else None


def go_time_text(text: str) -> str:
    """An RFC 3339 time as Go re-marshals it after parsing: trailing fraction zeros dropped, UTC as Z."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        return text
    frac = (m.group("frac") or "")[:9].rstrip("0")
    zone = m.group("zone")
    if zone in ("z", "+00:00", "-00:00"):
        zone = "Z"
    return m.group("base") + (f".{frac}" if frac else "") + zone


def _v1_json_for_id(v1: dict[str, Any]) -> dict[str, Any]:
    """Re-marshal a V1Image the way Go does before hashing: struct fields only, zero values where Go
    always writes them, empty optional ones dropped."""
    out: dict[str, Any] = {}
    for key in ("parent", "comment"):
        if v1.get(key):
            out[key] = v1[key]
    out["created"] = go_time_text(v1.get("created") or _EPOCH)
    if v1.get("container"):
        out["container"] = v1["container"]
    out["container_config"] = go_container_config(v1.get("container_config"))
    for key in ("docker_version", "author"):
        if v1.get(key):
            out[key] = v1[key]
    if v1.get("config") is not None:
        out["config"] = go_container_config(v1["config"])
    for key in ("architecture", "variant", "os"):
        if v1.get(key):
            out[key] = v1[key]
    if v1.get("Size"):
        out["Size"] = v1["Size"]
    return out


def v1_layer_id(v1: dict[str, Any], layer_chain_id: Digest, parent: Digest | None) -> Digest:
    """moby's v1.CreateID: the V1Image without ``id``, plus ``layer_id`` and ``parent``, keys sorted."""
    doc = _v1_json_for_id({k: v for k, v in v1.items() if k not in ("id", "parent")})
    doc["layer_id"] = str(layer_chain_id)
    if parent is not None:
        doc["parent"] = str(parent)
    return Digest("sha256", hashlib.sha256(go_json({k: doc[k] for k in sorted(doc)})).hexdigest())


def v1_layer_ids(config: ImageConfig) -> list[str]:
    """The hex v1 IDs of each layer's directory in a legacy ``docker save``, base first.

    Lower layers hash an empty V1Image created at the epoch; the top one the image's own v1 fields.
    """
    chains = chain_ids(config.diff_ids)
    ids: list[str] = []
    parent: Digest | None = None
    for i, chain in enumerate(chains):
        v1 = config.v1_fields() if i == len(chains) - 1 else {"created": _EPOCH}
        digest = v1_layer_id(v1, chain, parent)
        ids.append(digest.hex)
        parent = digest
    return ids


def v1_layer_json(config: ImageConfig, index: int, ids: Sequence[str]) -> bytes:
    """The ``<v1id>/json`` file of a legacy save: V1Image struct order with ``id`` and ``parent`` set."""
    top = index == len(ids) - 1
    v1 = config.v1_fields() if top else {"created": _EPOCH}
    body = _v1_json_for_id({k: v for k, v in v1.items() if k not in ("id", "parent")})
    out: dict[str, Any] = {"id": ids[index]}
    if index > 0:
        out["parent"] = ids[index - 1]
    out.update(body)
    if not top and config.os:
        out["os"] = config.os
    return go_json(out)


__all__ = ["chain_id", "chain_ids", "go_time_text", "v1_layer_id", "v1_layer_ids", "v1_layer_json"]
