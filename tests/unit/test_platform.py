"""Platforms: containerd's specifier parsing and normalisation, and moby's choice among index entries."""

from __future__ import annotations

import pytest

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import mediatypes as mt
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.platform import (
    Platform,
    fallback_order,
    format_platform,
    host_platform,
    matches,
    normalize,
    parse_platform,
    select_manifest,
    select_manifests,
)

pytestmark = pytest.mark.unit

AMD64_HOST = Platform("linux", "amd64")
ARM_HOST = Platform("linux", "arm", "v6")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", Platform("linux", "amd64")),
        ("linux/arm64/v8", Platform("linux", "arm64", "v8")),
        ("linux/arm64", Platform("linux", "arm64")),
        ("linux/aarch64", Platform("linux", "arm64")),
        ("linux/arm64/8", Platform("linux", "arm64", "v8")),  # a given arm64 variant is spelled v8
        ("Linux/X86_64", Platform("linux", "amd64")),
        ("linux/x86-64/v1", Platform("linux", "amd64")),
        ("linux/amd64/v3", Platform("linux", "amd64", "v3")),
        ("linux/arm", Platform("linux", "arm")),  # v7 is the default, shown as nothing
        ("linux/arm/7", Platform("linux", "arm", "v7")),
        ("linux/arm/v6", Platform("linux", "arm", "v6")),
        ("linux/armhf", Platform("linux", "arm")),
        ("linux/armel", Platform("linux", "arm", "v6")),
        ("linux/i386", Platform("linux", "386")),
        ("macos/arm64", Platform("darwin", "arm64")),
        ("windows(10.0.17763)/amd64", Platform("windows", "amd64", os_version="10.0.17763")),
        ("linux", AMD64_HOST),
        ("windows", Platform("windows", "amd64")),
        ("arm64", Platform("linux", "arm64")),
        ("armhf", Platform("linux", "arm")),
        ("s390x", Platform("linux", "s390x")),
        ("linux/riscv64", Platform("linux", "riscv64")),
        ("linux/anything", Platform("linux", "anything")),  # os/arch pairs are not checked
    ],
)
def test_parse_platform(text: str, expected: Platform) -> None:
    assert parse_platform(text, host=AMD64_HOST) == expected


def test_parse_os_only_uses_host_arm_variant() -> None:
    assert parse_platform("linux", host=ARM_HOST) == Platform("linux", "arm", "v6")
    assert parse_platform("linux", host=Platform("linux", "arm", "v7")) == Platform("linux", "arm")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("linux/*", '"linux/*": wildcards not yet supported: invalid argument'),
        ("foo", '"foo": unknown operating system or architecture: invalid argument'),
        ("", '"" is an invalid OS component of "": OSAndVersion specifier component must match '
             '"^([A-Za-z0-9_-]+)(?:\\\\(([A-Za-z0-9_.-]*)\\\\))?$": invalid argument'),
        ("linux/a b", '"a b" is an invalid component of "linux/a b": platform specifier component must match '
                      '"^[A-Za-z0-9_.-]+$": invalid argument'),
        ("linux/", '"" is an invalid component of "linux/": platform specifier component must match '
                   '"^[A-Za-z0-9_.-]+$": invalid argument'),
        ("a/b/c/d", '"a/b/c/d": cannot parse platform specifier: invalid argument'),
        # split into at most 4 parts, so the last part keeps its slash
        ("a/b/c/d/e", '"d/e" is an invalid component of "a/b/c/d/e": platform specifier component must '
                      'match "^[A-Za-z0-9_.-]+$": invalid argument'),
    ],
)
def test_parse_platform_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_platform(text, host=AMD64_HOST)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        (Platform("Linux", "AMD64", "V1"), Platform("linux", "amd64")),
        (Platform("linux", "x86_64", "v2"), Platform("linux", "amd64", "v2")),
        (Platform("linux", "arm64", "v8.0"), Platform("linux", "arm64")),
        (Platform("linux", "aarch64", "9"), Platform("linux", "arm64", "v9")),
        (Platform("linux", "arm64", "v9.0"), Platform("linux", "arm64", "v9")),
        (Platform("linux", "arm64", "v8.2"), Platform("linux", "arm64", "v8.2")),
        (Platform("linux", "arm"), Platform("linux", "arm", "v7")),
        (Platform("linux", "arm", "5"), Platform("linux", "arm", "v5")),
        (Platform("linux", "armel"), Platform("linux", "arm", "v6")),
        (Platform("linux", "i386", "x"), Platform("linux", "386")),
        (Platform("macos", "arm64"), Platform("darwin", "arm64")),
        (Platform("linux", "amd64", os_features=("b", "a", "b")), Platform("linux", "amd64", os_features=("a", "b"))),
    ],
)
def test_normalize(given: Platform, normal: Platform) -> None:
    assert normalize(given) == normal
    assert normalize(normal) == normal


def test_empty_os_is_host_os() -> None:
    assert normalize(Platform("", "amd64")).os == "linux"


def test_matches() -> None:
    assert matches(Platform("linux", "arm64", "v8"), Platform("linux", "arm64"))
    assert matches(Platform("linux", "arm"), Platform("linux", "arm", "v7"))
    assert not matches(Platform("linux", "arm", "v7"), Platform("linux", "arm", "v6"))  # fallbacks are separate
    assert not matches(Platform("linux", "amd64"), Platform("windows", "amd64"))
    # a candidate's os.features must be wanted
    assert not matches(Platform("windows", "amd64"), Platform("windows", "amd64", os_features=("win32k",)))
    assert matches(Platform("windows", "amd64", os_features=("win32k",)),
                   Platform("windows", "amd64", os_features=("win32k",)))
    assert matches(Platform("linux", "amd64", os_features=("x",)), Platform("linux", "amd64"))


@pytest.mark.parametrize(
    ("wanted", "order"),
    [
        ("linux/amd64", ["linux/amd64", "linux/386"]),
        ("linux/amd64/v3", ["linux/amd64/v3", "linux/amd64/v2", "linux/amd64/v1", "linux/386"]),
        ("linux/arm/v7", ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]),
        ("linux/arm/v5", ["linux/arm/v5"]),
        ("linux/arm64", ["linux/arm64/v8", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]),
        ("linux/arm64/v8.2", ["linux/arm64/v8.2", "linux/arm64/v8.1", "linux/arm64/v8", "linux/arm/v8",
                              "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]),
        ("linux/arm64/v9.1", ["linux/arm64/v9.1", "linux/arm64/v9", "linux/arm64/v8.6", "linux/arm64/v8.5",
                              "linux/arm64/v8.4", "linux/arm64/v8.3", "linux/arm64/v8.2", "linux/arm64/v8.1",
                              "linux/arm64/v8", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6",
                              "linux/arm/v5"]),
        ("linux/s390x", ["linux/s390x"]),
    ],
)
def test_fallback_order(wanted: str, order: list[str]) -> None:
    assert [format_platform(p) for p in fallback_order(parse_platform(wanted, host=AMD64_HOST))] == order


def entry(n: int, platform: Platform | None, media_type: str = mt.OCI_MANIFEST, **annotations: str) -> Descriptor:
    return Descriptor(media_type, Digest.of(str(n).encode()), 100 + n, platform=platform, annotations=annotations)


def test_select_prefers_exact_then_fallbacks_then_no_platform() -> None:
    no_platform = entry(0, None)
    v5 = entry(1, Platform("linux", "arm", "v5"))
    v7 = entry(2, Platform("linux", "arm", "v7"))
    v6 = entry(3, Platform("linux", "arm", "v6"))
    amd = entry(4, Platform("linux", "amd64"))
    entries = [no_platform, v5, v7, v6, amd]
    assert select_manifests(entries, Platform("linux", "arm", "v7")) == [v7, v6, v5, no_platform]
    assert select_manifest(entries, Platform("linux", "arm", "v6")) == v6
    assert select_manifests(entries, Platform("linux", "arm64")) == [v7, v6, v5, no_platform]
    assert select_manifests(entries, Platform("linux", "amd64")) == [amd, no_platform]


def test_select_is_stable_first_match_wins() -> None:
    first = entry(1, Platform("linux", "amd64"))
    second = entry(2, Platform("linux", "x86_64"))
    assert select_manifest([first, second], Platform("linux", "amd64")) == first
    assert select_manifest([second, first], Platform("linux", "amd64")) == second


def test_select_skips_attestations_and_unknown_types_and_uses_nested_indexes() -> None:
    attestation = entry(1, Platform("unknown", "unknown"), **{"vnd.docker.reference.type": "attestation-manifest"})
    # even if an attestation claimed a real platform, it is never chosen
    fake = entry(2, Platform("linux", "amd64"), **{"vnd.docker.reference.type": "attestation-manifest"})
    unknown = entry(3, Platform("linux", "amd64"), media_type="application/vnd.example")
    nested = entry(4, Platform("linux", "amd64"), media_type=mt.OCI_INDEX)
    docker = entry(5, Platform("linux", "amd64"), media_type=mt.DOCKER_MANIFEST)
    assert select_manifests([attestation, fake, unknown, nested, docker], Platform("linux", "amd64")) == [nested, docker]


def test_no_match_error() -> None:
    entries = [entry(1, Platform("linux", "amd64"))]
    with pytest.raises(NotFound) as info:
        select_manifest(entries, parse_platform("linux/arm64/v8"))
    assert str(info.value) == "no matching manifest for linux/arm64/v8 in the manifest list entries"
    with pytest.raises(NotFound):
        select_manifest([], Platform("linux", "amd64"))


def test_windows_os_version_must_share_the_build() -> None:
    ltsc2019 = entry(1, Platform("windows", "amd64", os_version="10.0.17763.1234"))
    ltsc2022 = entry(2, Platform("windows", "amd64", os_version="10.0.20348.100"))
    host = Platform("windows", "amd64", os_version="10.0.20348.5")
    assert select_manifests([ltsc2019, ltsc2022], host) == [ltsc2022]


@pytest.mark.parametrize(
    ("machine", "platform"),
    [
        ("x86_64", Platform("linux", "amd64")),
        ("aarch64", Platform("linux", "arm64")),
        ("armv7l", Platform("linux", "arm", "v7")),
        ("armv6l", Platform("linux", "arm", "v6")),
        ("i686", Platform("linux", "386")),
        ("ppc64le", Platform("linux", "ppc64le")),
    ],
)
def test_host_platform(machine: str, platform: Platform) -> None:
    assert host_platform(machine) == platform


def test_platform_json_round_trip() -> None:
    p = Platform("windows", "amd64", "v2", "10.0.1", ("win32k",))
    assert list(p.to_json()) == ["architecture", "os", "os.version", "os.features", "variant"]
    assert Platform.from_json(p.to_json()) == p
    assert str(p) == "windows/amd64/v2"
    assert format_platform(Platform("", "amd64")) == "unknown"
