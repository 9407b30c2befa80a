"""Image configs: read one (keeping its bytes, whose hash is the image ID) and write new ones as Docker does.

Docker 20.10 writes a config by marshalling its Go struct, reading the result back into a map and
marshalling the map, so top-level keys come out sorted while nested objects keep Go struct order. Go's
encoder also sorts map keys and escapes ``<``, ``>`` and ``&``. ``go_json`` reproduces those bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..digest import Digest
from ..errors import DataCorrupt, InvalidDigest, TooLarge

CONFIG_SIZE_LIMIT = 8 << 20  # configs with long histories outgrow the 4 MiB manifest cap

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_TABLE = str.maketrans(_GO_ESCAPES)


def go_json(value: Any, *, indent: int | None = None) -> bytes:
    """Serialise as Go's encoding/json would: compact (or MarshalIndent with ``indent`` spaces), UTF-8,
    HTML-sensitive characters escaped. Mapping order is kept; sort first where Go would."""
    if indent is None:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    else:
        text = json.dumps(value, ensure_ascii=False, indent=indent, separators=(",", ": "), allow_nan=False)
    # The escaped characters cannot occur in JSON outside strings, so a plain translation is exact.
    return text.translate(_GO_ESCAPE_TABLE).encode("utf-8", "replace")


# --- Docker's container.Config (moby 20.10), the type of "config" and "container_config" -------------

_MISSING = object()


def _sorted_map(value: Any, *, empty_values: bool = False) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return value
    return {k: ({} if empty_values else value[k]) for k in sorted(value)}


def _str_slice(value: Any) -> Any:
    # strslice.StrSlice also accepts a bare string.
    return [value] if isinstance(value, str) else value


def _healthcheck(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for key in ("Test", "Interval", "Timeout", "StartPeriod", "Retries"):
        if value.get(key):  # all omitempty
            out[key] = value[key]
    return out


# (key, omitempty, conversion); order = Go struct field order.
_CONTAINER_CONFIG_FIELDS: tuple[tuple[str, bool, Any, Any], ...] = (
    ("Hostname", False, "", None),
    ("Domainname", False, "", None),
    ("User", False, "", None),
    ("AttachStdin", False, False, None),
    ("AttachStdout", False, False, None),
    ("AttachStderr", False, False, None),
    ("ExposedPorts", True, None, lambda v: _sorted_map(v, empty_values=True)),
    ("Tty", False, False, None),
    ("OpenStdin", False, False, None),
    ("StdinOnce", False, False, None),
    ("Env", False, None, None),
    ("Cmd", False, None, _str_slice),
    ("Healthcheck", True, None, _healthcheck),
    ("ArgsEscaped", True, False, None),
    ("Image", False, "", None),
    ("Volumes", False, None, lambda v: _sorted_map(v, empty_values=True)),
    ("WorkingDir", False, "", None),
    ("Entrypoint", False, None, _str_slice),
    ("NetworkDisabled", True, False, None),
    ("MacAddress", True, "", None),
    ("OnBuild", False, None, None),
    ("Labels", False, None, _sorted_map),
    ("StopSignal", True, "", None),
    ("StopTimeout", True, None, None),
    ("Shell", True, None, _str_slice),
)
CONTAINER_CONFIG_KEYS = tuple(f[0] for f in _CONTAINER_CONFIG_FIELDS)
# (key, omitempty) in struct order, for code that lays the fields out its own way (inspect, --change).
CONTAINER_CONFIG_LAYOUT: tuple[tuple[str, bool], ...] = tuple((f[0], f[1]) for f in _CONTAINER_CONFIG_FIELDS)


def container_config_zero() -> dict[str, Any]:
    """The fields Go always writes (not omitempty), each at its zero value."""
    return {key: zero for key, omitempty, zero, _ in _CONTAINER_CONFIG_FIELDS if not omitempty}


def _is_empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == 0 and not isinstance(value, bool) \
        or (isinstance(value, (list, tuple, Mapping)) and len(value) == 0)


def go_container_config(config: Mapping[str, Any] | None, *, keep_unknown: bool = False) -> dict[str, Any]:
    """The container config as Docker 20.10 marshals it: every field in struct order, zero values filled
    in, ``omitempty`` fields dropped when empty, maps sorted. Unknown keys are dropped as Go drops them,
    unless ``keep_unknown`` (then they follow, in their order)."""
    config = config or {}
    out: dict[str, Any] = {}
    for key, omitempty, zero, convert in _CONTAINER_CONFIG_FIELDS:
        value = config.get(key, _MISSING)
        if value is _MISSING:
            value = zero
        elif convert is not None:
            value = convert(value)
        if omitempty and (_is_empty(value) and not (key == "StopTimeout" and value == 0)):
            continue
        out[key] = value
    if keep_unknown:
        for key, value in config.items():
            if key not in out and key not in CONTAINER_CONFIG_KEYS:
                out[key] = value
    return out


# --- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    created: str | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    empty_layer: bool = False

    @classmethod
    def from_json(cls, obj: Any) -> HistoryEntry:
        if not isinstance(obj, Mapping):
            raise DataCorrupt("image config history entry must be an object")
        return cls(
            created=_opt_str(obj, "created"),
            created_by=_opt_str(obj, "created_by"),
            author=_opt_str(obj, "author"),
            comment=_opt_str(obj, "comment"),
            empty_layer=bool(obj.get("empty_layer") or False),
        )

    def to_json(self) -> dict[str, Any]:
        """Go struct order: created, author, created_by, comment, empty_layer (all but created omitempty)."""
        out: dict[str, Any] = {}
        if self.created is not None:
            out["created"] = self.created
        if self.author:
            out["author"] = self.author
        if self.created_by:
            out["created_by"] = self.created_by
        if self.comment:
            out["comment"] = self.comment
        if self.empty_layer:
            out["empty_layer"] = True
        return out


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DataCorrupt(f"image config field {key!r} must be a string")
    return value


@dataclass(frozen=True, eq=False)
class ImageConfig:
    """A parsed image config. ``raw`` are the exact bytes; the image ID is their digest."""

    raw: bytes
    doc: Mapping[str, Any]

    @classmethod
    def parse(cls, raw: bytes, *, limit: int = CONFIG_SIZE_LIMIT) -> ImageConfig:
        if len(raw) > limit:
            raise TooLarge("image config", limit)
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise DataCorrupt(f"image config is not valid JSON: {err}") from err
        if not isinstance(doc, dict):
            raise DataCorrupt("image config must be a JSON object")
        config = cls(bytes(raw), doc)
        # Parse the parts with structure now, so a bad config fails here and not at first use.
        config.diff_ids
        config.history
        for key in ("config", "container_config"):
            if doc.get(key) is not None and not isinstance(doc[key], dict):
                raise DataCorrupt(f"image config field {key!r} must be an object")
        return config

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageConfig) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    @cached_property
    def id(self) -> Digest:
        return Digest.of(self.raw)

    def _str(self, key: str) -> str | None:
        return _opt_str(self.doc, key)

    @property
    def created(self) -> str | None:
        """As written (RFC 3339 with nanoseconds); Docker shows it verbatim in inspect."""
        return self._str("created")

    @property
    def architecture(self) -> str:
        return self._str("architecture") or ""

    @property
    def os(self) -> str:
        return self._str("os") or ""

    @property
    def variant(self) -> str | None:
        return self._str("variant") or None

    @property
    def os_version(self) -> str | None:
        return self._str("os.version") or None

    @property
    def os_features(self) -> tuple[str, ...]:
        return tuple(self.doc.get("os.features") or ())

    @property
    def author(self) -> str | None:
        return self._str("author")

    @property
    def comment(self) -> str | None:
        return self._str("comment")

    @property
    def docker_version(self) -> str | None:
        return self._str("docker_version")

    @property
    def container(self) -> str | None:
        return self._str("container")

    @property
    def parent(self) -> str | None:
        """The legacy parent image ID (classic builder and commit)."""
        return self._str("parent")

    @property
    def config(self) -> dict[str, Any] | None:
        """The container config exactly as stored (PascalCase keys), or None."""
        value = self.doc.get("config")
        return value if isinstance(value, dict) else None

    @property
    def container_config(self) -> dict[str, Any] | None:
        value = self.doc.get("container_config")
        return value if isinstance(value, dict) else None

    @property
    def labels(self) -> dict[str, str]:
        labels = (self.config or {}).get("Labels")
        return dict(labels) if isinstance(labels, dict) else {}

    @cached_property
    def diff_ids(self) -> tuple[Digest, ...]:
        rootfs = self.doc.get("rootfs")
        if rootfs is None:
            return ()
        if not isinstance(rootfs, dict):
            raise DataCorrupt("image config rootfs must be an object")
        if rootfs.get("type", "layers") != "layers":
            raise DataCorrupt(f"unsupported rootfs type {rootfs.get('type')!r}")
        ids = rootfs.get("diff_ids")
        if ids is None:
            return ()
        if not isinstance(ids, list):
            raise DataCorrupt("image config diff_ids must be a list")
        try:
            return tuple(Digest.parse(d) if isinstance(d, str) else _bad_diff_id(d) for d in ids)
        except InvalidDigest as err:
            raise DataCorrupt(f"image config has an invalid diff_id: {err}") from err

    @cached_property
    def history(self) -> tuple[HistoryEntry, ...]:
        entries = self.doc.get("history")
        if entries is None:
            return ()
        if not isinstance(entries, list):
            raise DataCorrupt("image config history must be a list")
        return tuple(HistoryEntry.from_json(e) for e in entries)

    def v1_fields(self) -> dict[str, Any]:
        """The keys of Docker's V1Image that this config carries (used for legacy v1 layer JSON)."""
        return {k: self.doc[k] for k in _V1_IMAGE_KEYS if k in self.doc}


def _bad_diff_id(value: Any) -> Digest:
    raise DataCorrupt(f"image config has an invalid diff_id {value!r}")


_V1_IMAGE_KEYS = (
    "id", "parent", "comment", "created", "container", "container_config", "docker_version", "author",
    "config", "architecture", "variant", "os", "Size",
)


# --- writing ---------------------------------------------------------------------------------------


def build_config(
    *,
    architecture: str,
    os: str,
    diff_ids: Sequence[Digest],
    history: Iterable[HistoryEntry],
    created: str,
    config: Mapping[str, Any] | None = None,
    container_config: Mapping[str, Any] | None = None,
    comment: str | None = None,
    author: str | None = None,
    docker_version: str | None = None,
    container: str | None = None,
    variant: str | None = None,
    os_version: str | None = None,
    os_features: Sequence[str] = (),
    parent: str | None = None,
) -> bytes:
    """A new config (import, commit, build) in the bytes Docker 20.10 would write for the same values.

    ``created`` is the RFC 3339 text to store (see ``render`` for Go's time format). ``config`` and
    ``container_config`` take Docker's PascalCase keys; missing fields get Go's zero values.
    """
    doc: dict[str, Any] = {
        "architecture": architecture,
        "container_config": go_container_config(container_config),
        "created": created,
        "history": [h.to_json() for h in history],
        "os": os,
        "rootfs": {"type": "layers", "diff_ids": [str(d) for d in diff_ids]},
    }
    if config is not None:
        doc["config"] = go_container_config(config)
    optional = {
        "author": author,
        "comment": comment,
        "container": container,
        "docker_version": docker_version,
        "variant": variant,
        "os.version": os_version,
        "parent": parent,
    }
    doc.update({k: v for k, v in optional.items() if v})
    if os_features:
        doc["os.features"] = list(os_features)
    if not doc["history"]:
        del doc["history"]
    if not diff_ids:
        del doc["rootfs"]["diff_ids"]
    return go_json({k: doc[k] for k in sorted(doc)})
