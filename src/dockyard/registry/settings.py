"""dockyard's settings file: the registry part of Docker's daemon.json, in TOML.

``$DOCKYARD_CONFIG``, else ``~/.config/dockyard/config.toml`` (``$XDG_CONFIG_HOME`` honoured). Keys keep
daemon.json's names so a Docker user recognises them::

    registry-mirrors = ["https://mirror.example"]
    insecure-registries = ["reg.internal:5000", "10.0.0.0/8"]
    max-concurrent-downloads = 3
    max-concurrent-uploads = 5

    [mirrors."quay.io"]            # per-registry pull mirrors (dockyard's addition)
    endpoints = ["https://quay-cache.internal"]

A missing file means the defaults.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InvalidArgument

DEFAULT_MAX_DOWNLOADS = 3
DEFAULT_MAX_UPLOADS = 5


@dataclass(frozen=True)
class Settings:
    registry_mirrors: tuple[str, ...] = ()  # normalised, ending in "/"
    insecure_registries: tuple[str, ...] = ()  # host[:port] names (CIDRs are in insecure_networks)
    insecure_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    max_concurrent_downloads: int = DEFAULT_MAX_DOWNLOADS
    max_concurrent_uploads: int = DEFAULT_MAX_UPLOADS
    mirrors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # registry host -> mirror URLs
    path: Path | None = None  # the file these came from, for messages


def settings_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    explicit = env.get("DOCKYARD_CONFIG")
    if explicit:
        return Path(explicit)
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "dockyard" / "config.toml"


def validate_mirror(value: str) -> str:
    """moby's ValidateMirror: http(s) URL, no query/fragment/userinfo; normalised to end in ``/``."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument(f'invalid mirror: unsupported scheme "{parts.scheme}" in "{value}"')
    if parts.query or parts.fragment:
        raise InvalidArgument(f'invalid mirror: query or fragment at end of the URI "{value}"')
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument(f'invalid mirror: username/password not allowed in URI "{value}"')
    if not parts.hostname:
        raise InvalidArgument(f'invalid mirror: "{value}" is not a valid URI')
    return value.rstrip("/") + "/"


def _validate_insecure(value: str) -> str | ipaddress.IPv4Network | ipaddress.IPv6Network:
    if "://" in value:
        raise InvalidArgument(f"insecure registry {value} should not contain '://'")
    if "/" in value:
        try:
            return ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise InvalidArgument(f"insecure registry {value} is not valid: invalid CIDR") from None
    return value


def _int_setting(doc: Mapping[str, object], key: str, default: int) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgument(f"invalid value for {key}: {value!r} (a positive integer is required)")
    return value


def _string_list(doc: Mapping[str, object], key: str) -> list[str]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"invalid value for {key}: a list of strings is required")
    return list(value)


def parse_settings(doc: Mapping[str, object], path: Path | None = None) -> Settings:
    mirrors = tuple(validate_mirror(m) for m in _string_list(doc, "registry-mirrors"))
    names: list[str] = []
    networks = []
    for entry in _string_list(doc, "insecure-registries"):
        parsed = _validate_insecure(entry)
        if isinstance(parsed, str):
            names.append(parsed)
        else:
            networks.append(parsed)
    per_registry: dict[str, tuple[str, ...]] = {}
    raw_mirrors = doc.get("mirrors", {})
    if not isinstance(raw_mirrors, dict):
        raise InvalidArgument("invalid value for mirrors: a table of registries is required")
    for host, table in raw_mirrors.items():
        if not isinstance(table, dict):
            raise InvalidArgument(f'invalid value for mirrors."{host}": a table is required')
        per_registry[host] = tuple(validate_mirror(m) for m in _string_list(table, "endpoints"))
    return Settings(
        registry_mirrors=mirrors,
        insecure_registries=tuple(names),
        insecure_networks=tuple(networks),
        max_concurrent_downloads=_int_setting(doc, "max-concurrent-downloads", DEFAULT_MAX_DOWNLOADS),
        max_concurrent_uploads=_int_setting(doc, "max-concurrent-uploads", DEFAULT_MAX_UPLOADS),
        mirrors=per_registry,
        path=path,
    )


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    path = path if path is not None else settings_path(env)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings(path=path)
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"invalid settings file {path}: {e}") from None
    return parse_settings(doc, path)
