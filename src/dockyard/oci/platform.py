"""Platforms: parse ``os/arch/variant`` specifiers, normalise, match and pick an index entry.

Semantics and wording follow containerd's ``platforms`` package (as vendored by moby 28) and moby's
``filterManifests``: candidates that match the wanted platform or one of its fallbacks are kept, sorted
stably by the fallback order, entries without a platform go last, and the first one wins.
"""

from __future__ import annotations

import platform as _host
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument, NotFound
from ..goquote import go_quote
from . import mediatypes

if TYPE_CHECKING:
    from .descriptor import Descriptor

_SPECIFIER_RE = re.compile(r"[A-Za-z0-9_.-]+")
_OS_AND_VERSION_RE = re.compile(r"([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?")
# Shown verbatim in error messages, as Go prints regexp.String().
_SPECIFIER_PATTERN = "^[A-Za-z0-9_.-]+$"
_OS_AND_VERSION_PATTERN = r"^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?$"

KNOWN_OS = frozenset(
    "aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris "
    "windows zos".split()
)
KNOWN_ARCH = frozenset(
    "386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 mips64le mips64p32 "
    "mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm".split()
)

ATTESTATION_REFERENCE_TYPE = "attestation-manifest"
_REFERENCE_TYPE_ANNOTATION = "vnd.docker.reference.type"


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()
    features: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        """containerd's Format: ``os/arch[/variant]``."""
        return format_platform(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Platform:
        if not isinstance(data, Mapping):
            raise InvalidArgument("platform must be a JSON object")
        return cls(
            os=_str(data.get("os")),
            architecture=_str(data.get("architecture")),
            variant=_str(data.get("variant")) or None,
            os_version=_str(data.get("os.version")) or None,
            os_features=tuple(_str(f) for f in data.get("os.features") or ()),
            features=tuple(_str(f) for f in data.get("features") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        """The image-spec JSON object, in the Go struct's field order, empty fields left out."""
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        if self.features:
            out["features"] = list(self.features)
        return out

    @property
    def is_unknown(self) -> bool:
        """BuildKit's attestation entries say ``unknown/unknown``."""
        return self.os == "unknown" and self.architecture == "unknown"


def _str(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument("platform fields must be strings")
    return value


def format_platform(p: Platform) -> str:
    if not p.os:
        return "unknown"
    return "/".join(part for part in (p.os, p.architecture, p.variant or "") if part)


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(f"{message}: invalid argument")


def normalize_os(os_name: str) -> str:
    if not os_name:
        return host_os()
    os_name = os_name.lower()
    return "darwin" if os_name == "macos" else os_name


def normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's normalizeArch: canonical architecture and variant ("" = none)."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        if variant in ("8", "v8", "v8.0"):
            variant = ""
        elif variant in ("9", "9.0", "v9.0"):
            variant = "v9"
        return "arm64", variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
        return "arm", variant
    return arch, variant


def normalize(p: Platform) -> Platform:
    """Canonical os/arch/variant (``None`` for no variant), sorted unique os.features."""
    arch, variant = normalize_arch(p.architecture, p.variant or "")
    return replace(
        p,
        os=normalize_os(p.os),
        architecture=arch,
        variant=variant or None,
        os_features=tuple(sorted(set(p.os_features))),
    )


def host_os() -> str:
    return {"darwin": "darwin", "win32": "windows"}.get(sys.platform, "linux" if sys.platform.startswith("linux") else sys.platform)


_MACHINE_ARCH = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "i386": ("386", ""),
    "i486": ("386", ""),
    "i586": ("386", ""),
    "i686": ("386", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armv5l": ("arm", "v5"),
    "armv5tel": ("arm", "v5"),
    "armv6l": ("arm", "v6"),
    "armv7l": ("arm", "v7"),
    "armv8l": ("arm", "v8"),
    "ppc64le": ("ppc64le", ""),
    "ppc64": ("ppc64", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
    "mips64": ("mips64", ""),
    "loongarch64": ("loong64", ""),
}


def host_platform(machine: str | None = None) -> Platform:
    """The platform this process runs on, from ``platform.machine()`` (GOARCH names, CPU's ARM variant)."""
    machine = (machine if machine is not None else _host.machine()).lower()
    arch, variant = _MACHINE_ARCH.get(machine, normalize_arch(machine, ""))
    return Platform(os=host_os(), architecture=arch, variant=variant or None)


def parse_platform(specifier: str, *, host: Platform | None = None) -> Platform:
    """containerd's ``platforms.Parse``: ``<os>[(<osversion>)]``, ``<arch>`` or ``<os>/<arch>[/<variant>]``.

    Errors are ``InvalidArgument`` worded as containerd's (moby 28 prints them after the daemon prefix).
    """
    host = host or host_platform()
    quoted = go_quote(specifier)
    if "*" in specifier:
        raise _invalid(f"{quoted}: wildcards not yet supported")
    parts = specifier.split("/", 3)
    os_name, os_version = "", ""
    for i, part in enumerate(parts):
        if i == 0:
            m = _OS_AND_VERSION_RE.fullmatch(part)
            if m is None:
                raise _invalid(
                    f"{go_quote(part)} is an invalid OS component of {quoted}: OSAndVersion specifier "
                    f"component must match {go_quote(_OS_AND_VERSION_PATTERN)}"
                )
            os_name, os_version = normalize_os(m.group(1)), m.group(2) or ""
        elif not _SPECIFIER_RE.fullmatch(part):
            raise _invalid(
                f"{go_quote(part)} is an invalid component of {quoted}: platform specifier component "
                f"must match {go_quote(_SPECIFIER_PATTERN)}"
            )
    if len(parts) == 1:
        if os_name in KNOWN_OS:
            variant = host.variant if host.architecture == "arm" and host.variant != "v7" else None
            return Platform(os_name, host.architecture, variant or None, os_version or None)
        arch, variant = normalize_arch(parts[0], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        if arch in KNOWN_ARCH:
            return Platform(host.os, arch, variant or None)
        raise _invalid(f"{quoted}: unknown operating system or architecture")
    if len(parts) == 2:
        arch, variant = normalize_arch(parts[1], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        return Platform(os_name, arch, variant or None, os_version or None)
    if len(parts) == 3:
        arch, variant = normalize_arch(parts[1], parts[2])
        if arch == "arm64" and variant == "":
            variant = "v8"
        return Platform(os_name, arch, variant or None, os_version or None)
    raise _invalid(f"{quoted}: cannot parse platform specifier")


def matches(wanted: Platform, candidate: Platform) -> bool:
    """Exact match after normalisation; a candidate's os.features must all be among the wanted ones."""
    w, c = normalize(wanted), normalize(candidate)
    if (w.os, w.architecture, w.variant) != (c.os, c.architecture, c.variant):
        return False
    if c.os_features and not set(c.os_features) <= set(w.os_features):
        return False
    if w.os == "windows" and w.os_version and c.os_version:
        # Windows images run only on a host of the same build (major.minor.build).
        return _windows_build(w.os_version) == _windows_build(c.os_version)
    return True


def _windows_build(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:3])


_ARM64_VERSIONS: dict[str, tuple[tuple[int, int], ...]] = {
    **{f"v8.{minor}": ((8, minor),) for minor in range(1, 10)},
    "v8": ((8, 0),),
    "v8.0": ((8, 0),),
    "v9": ((9, 0), (8, 5)),
    "v9.0": ((9, 0), (8, 5)),
    **{f"v9.{minor}": ((9, minor), (8, min(minor + 5, 9))) for minor in range(1, 8)},
}


def fallback_order(wanted: Platform) -> list[Platform]:
    """containerd's ``platformVector`` for the normalised wanted platform: it first, then what it can run."""
    p = normalize(wanted)
    same = dict(os=p.os, os_version=p.os_version, os_features=p.os_features)
    vector = [p]
    variant = p.variant or ""
    if p.architecture == "amd64":
        level = _variant_number(variant)
        if level is not None and level > 1:
            vector += [Platform(architecture="amd64", variant=f"v{n}", **same) for n in range(level - 1, 0, -1)]
        vector.append(Platform(architecture="386", **same))
    elif p.architecture == "arm":
        level = _variant_number(variant)
        if level is not None and level > 5:
            vector += [Platform(architecture="arm", variant=f"v{n}", **same) for n in range(level - 1, 4, -1)]
    elif p.architecture == "arm64":
        variant = variant or "v8"
        vector = []
        for major, top_minor in _ARM64_VERSIONS.get(variant, ()):
            for minor in range(top_minor, -1, -1):
                vector.append(Platform(architecture="arm64", variant=f"v{major}" + (f".{minor}" if minor else ""), **same))
        if variant.startswith(("v8", "v9")):
            variant = "v8"
        vector += fallback_order(Platform(architecture="arm", variant=variant, **same))
    return vector


def _variant_number(variant: str) -> int | None:
    digits = variant[1:] if variant.startswith("v") else variant
    return int(digits) if digits.isdigit() else None


def _rank(order: Sequence[Platform], candidate: Platform) -> int | None:
    for i, option in enumerate(order):
        if matches(option, candidate):
            return i
    return None


def is_attestation(descriptor: Descriptor) -> bool:
    return descriptor.annotations.get(_REFERENCE_TYPE_ANNOTATION) == ATTESTATION_REFERENCE_TYPE


def select_manifests(descriptors: Iterable[Descriptor], wanted: Platform) -> list[Descriptor]:
    """All usable entries for ``wanted``, best first (moby's filterManifests with containerd's Only).

    Attestations and entries whose media type is not a manifest or index are skipped. Entries without a
    platform are kept, after every entry that has one.
    """
    order = fallback_order(wanted)
    ranked: list[tuple[int, int, Descriptor]] = []
    for position, desc in enumerate(descriptors):
        if not mediatypes.is_known_document(desc.media_type) or is_attestation(desc):
            continue
        if desc.platform is None:
            ranked.append((len(order), position, desc))
            continue
        rank = _rank(order, desc.platform)
        if rank is not None:
            ranked.append((rank, position, desc))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [desc for _, _, desc in ranked]


def no_match_error(wanted: Platform) -> NotFound:
    return NotFound(f"no matching manifest for {format_platform(wanted)} in the manifest list entries")


def select_manifest(descriptors: Iterable[Descriptor], wanted: Platform) -> Descriptor:
    """The entry ``docker pull`` would take for ``wanted``; NotFound when none fits."""
    found = select_manifests(descriptors, wanted)
    if not found:
        raise no_match_error(wanted)
    return found[0]
