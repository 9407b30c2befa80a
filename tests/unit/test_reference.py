"""Image references, checked against what the docker 28.2.2 client says for the same text.

The TAG_TARGETS table was recorded with ``docker tag dyref-base:1 <target>`` on the reference engine; rows
the client accepted but the 20.10 daemon refused (its older parser counts the domain in the length limit
and rejects uppercase hosts and IPv6) are marked ``OK``, because dockyard follows the client's parser.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, InvalidReference
from dockyard.reference import (
    DigestTagRefused,
    InvalidTagTarget,
    Reference,
    is_id_prefix,
    is_valid_tag,
    looks_like_image_id,
    parse_any,
    parse_normalized,
    reference_for_tagging,
)

pytestmark = pytest.mark.unit

OK = None
FORMAT = "invalid reference format"
TOO_LONG = "repository name must not be more than 255 characters"
H64 = "a" * 64
B64 = "b" * 64
DIGEST = f"sha256:{B64}"


def lowercase(name: str) -> str:
    return f"invalid reference format: repository name ({name}) must be lowercase"


# target -> bare cause (None: accepted by the client parser)
TAG_TARGETS: list[tuple[str, str | None]] = [
    ("", FORMAT),
    ("dyr", OK),
    ("dyr:1", OK),
    ("Dyr", lowercase("library/Dyr")),
    ("FOO", lowercase("library/FOO")),
    ("dyr:TAG", OK),
    ("dyr/Sub", lowercase("dyr/Sub")),
    ("foo/Bar:tag", lowercase("foo/Bar")),
    ("UPPER.com:5000/lower/Upper", lowercase("lower/Upper")),
    ("A" * 64, lowercase("library/" + "A" * 64)),
    ("DYR.example.com/dyr:x", OK),
    ("Dyr/dyr", OK),  # an uppercase first segment is a domain
    ("DYR/dyr", OK),
    ("Foo:5000/bar", OK),
    ("foo__bar", OK),
    ("foo--bar", OK),
    ("foo---bar", OK),
    ("foo___bar", FORMAT),
    ("foo.-bar", FORMAT),
    ("-dyr", FORMAT),
    ("dyr-", FORMAT),
    ("foo.bar", OK),
    ("foo..bar", FORMAT),
    ("foo_bar", OK),
    ("foo/bar", OK),
    ("foo/bar/baz", OK),
    ("a/b/c/d/e", OK),
    ("localhost/x", OK),
    ("localhost:5000/x", OK),
    ("localhost:5000/x:1", OK),
    ("localhost", OK),
    ("localhost:5000", OK),  # the Hub repository library/localhost, tag 5000
    ("example.com", OK),
    ("example.com/x", OK),
    ("example.com:443/a/b:c", OK),
    ("index.docker.io/x", OK),
    ("index.docker.io/library/x", OK),
    ("docker.io/x", OK),
    ("docker.io/library/x", OK),
    ("docker.io/foo/bar", OK),
    ("registry/x", OK),
    ("registry:5000/x", OK),
    ("[::1]:5000/x", OK),
    ("[::1]/x", OK),
    ("[fe80::1%eth0]/x", FORMAT),
    ("1.2.3.4:5000/x", OK),
    ("-host.com/x", FORMAT),
    ("host-.com/x", FORMAT),
    ("ho-st.com/x", OK),
    ("host.com:/x", FORMAT),
    ("host.com:abc/x", FORMAT),
    ("x:", FORMAT),
    ("x@", FORMAT),
    (":tag", FORMAT),
    (f"@{DIGEST}", FORMAT),
    ("x:" + "t" * 128, OK),
    ("x:" + "t" * 129, FORMAT),
    ("x:-tag", FORMAT),
    ("x:.tag", FORMAT),
    ("x:_tag", OK),
    ("x:t.a-g_", OK),
    ("x:ta/g", FORMAT),
    ("x:tä", FORMAT),
    ("x@sha256:" + "b" * 63, "invalid checksum digest length"),
    ("x@sha256:" + "b" * 65, "invalid checksum digest length"),
    ("x@sha256:" + "B" * 64, "invalid checksum digest format"),
    ("x@sha256:" + "b" * 31, FORMAT),  # the grammar wants at least 32 hex characters
    ("x@sha256:" + "b" * 32, "invalid checksum digest length"),
    ("x@md5:" + "b" * 32, "unsupported digest algorithm"),
    ("x@sha256+b64:" + B64, "unsupported digest algorithm"),
    ("x@SHA256:" + B64, lowercase("library/x@SHA256")),  # Go's check looks up to the first ':'
    (f"Dyr@{DIGEST}", lowercase("library/Dyr@sha256")),
    ("x@sha256:../../x", FORMAT),
    (H64, f"invalid repository name ({H64}), cannot specify 64-byte hexadecimal strings"),
    (H64 + ":1", OK),
    ("sha256:" + H64, OK),  # parses as repository sha256, tag <hex>; only the daemon refuses it
    ("a" * 63, OK),
    ("a" * 65, OK),
    ("library/" + H64, OK),
    ("a" * 247, OK),
    ("a" * 248, TOO_LONG),  # library/ counts towards the 255
    ("foo/" + "a" * 251, OK),
    ("foo/" + "a" * 252, TOO_LONG),
    ("example.com/" + "a" * 255, OK),  # the domain does not count
    ("example.com/" + "a" * 256, TOO_LONG),
    ("x y", FORMAT),
    (" x", FORMAT),
    ("x/", FORMAT),
    ("/x", FORMAT),
    ("x//y", FORMAT),
    ("foo/bar:x/y", FORMAT),
    ("a:b/c", FORMAT),
    ("foo@bar", FORMAT),
    ("foo:bar:baz", FORMAT),
    ("busybox:latest", OK),
    ("ubuntu:22.04", OK),
]

DIGEST_TARGETS = [f"x@{DIGEST}", f"x:1@{DIGEST}", "x@sha512:" + "b" * 128]


@pytest.mark.parametrize(("target", "cause"), TAG_TARGETS, ids=lambda v: str(v)[:40])
def test_tag_target_matches_docker_client(target: str, cause: str | None) -> None:
    if cause is None:
        ref = reference_for_tagging(target)
        assert ref.tag is not None
        return
    with pytest.raises(InvalidTagTarget) as info:
        reference_for_tagging(target)
    err = info.value
    assert err.cause == cause
    assert err.target == target
    assert str(err) == f'Error parsing reference: "{target}" is not a valid repository/tag: {cause}'
    assert err.client is True
    assert err.exit_code == 1


@pytest.mark.parametrize(("target", "cause"), [row for row in TAG_TARGETS if row[1] is not None])
def test_parse_normalized_gives_the_bare_cause(target: str, cause: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_normalized(target)
    assert str(info.value) == cause
    assert isinstance(info.value, InvalidArgument)


@pytest.mark.parametrize("target", DIGEST_TARGETS)
def test_tag_target_with_digest_is_refused(target: str) -> None:
    with pytest.raises(DigestTagRefused) as info:
        reference_for_tagging(target)
    assert str(info.value) == "refusing to create a tag with a digest reference"
    # the digest itself is fine for pulls
    assert parse_normalized(target).digest is not None


# text -> (domain, path, tag, digest, str, familiar)
NORMALISED = [
    ("busybox", ("docker.io", "library/busybox", None, None, "docker.io/library/busybox", "busybox")),
    ("busybox:1.36", ("docker.io", "library/busybox", "1.36", None, "docker.io/library/busybox:1.36", "busybox:1.36")),
    ("foo/bar", ("docker.io", "foo/bar", None, None, "docker.io/foo/bar", "foo/bar")),
    ("docker.io/foo", ("docker.io", "library/foo", None, None, "docker.io/library/foo", "foo")),
    ("index.docker.io/foo/bar:x", ("docker.io", "foo/bar", "x", None, "docker.io/foo/bar:x", "foo/bar:x")),
    ("library/foo/bar", ("docker.io", "library/foo/bar", None, None, "docker.io/library/foo/bar", "library/foo/bar")),
    ("localhost/x", ("localhost", "x", None, None, "localhost/x", "localhost/x")),
    ("localhost:5000/x:1", ("localhost:5000", "x", "1", None, "localhost:5000/x:1", "localhost:5000/x:1")),
    ("ghcr.io/o/r:v", ("ghcr.io", "o/r", "v", None, "ghcr.io/o/r:v", "ghcr.io/o/r:v")),
    ("DYR.example.com/dyr", ("DYR.example.com", "dyr", None, None, "DYR.example.com/dyr", "DYR.example.com/dyr")),
    ("[::1]:5000/x", ("[::1]:5000", "x", None, None, "[::1]:5000/x", "[::1]:5000/x")),
    ("localhost:5000", ("docker.io", "library/localhost", "5000", None, "docker.io/library/localhost:5000", "localhost:5000")),
    (
        f"x:1@{DIGEST}",
        ("docker.io", "library/x", "1", Digest.parse(DIGEST), f"docker.io/library/x:1@{DIGEST}", f"x:1@{DIGEST}"),
    ),
    (
        f"quay.io/a/b@{DIGEST}",
        ("quay.io", "a/b", None, Digest.parse(DIGEST), f"quay.io/a/b@{DIGEST}", f"quay.io/a/b@{DIGEST}"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), NORMALISED, ids=[n[0][:30] for n in NORMALISED])
def test_normalised_and_familiar_forms(text: str, expected: tuple) -> None:
    domain, path, tag, digest, full, familiar = expected
    ref = parse_normalized(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert str(ref) == full
    assert ref.familiar() == familiar
    assert ref.name == f"{domain}/{path}"
    # the normalised and familiar forms both parse back to the same reference
    assert parse_normalized(str(ref)) == ref
    assert parse_normalized(ref.familiar()) == ref


def test_is_docker_hub() -> None:
    assert parse_normalized("busybox").is_docker_hub
    assert parse_normalized("index.docker.io/a/b").is_docker_hub
    assert not parse_normalized("localhost/busybox").is_docker_hub


def test_default_tag_only_when_neither_tag_nor_digest() -> None:
    assert str(parse_normalized("busybox").with_default_tag()) == "docker.io/library/busybox:latest"
    assert parse_normalized("busybox:1").with_default_tag().tag == "1"
    with_digest = parse_normalized(f"busybox@{DIGEST}").with_default_tag()
    assert with_digest.tag is None and with_digest.digest == Digest.parse(DIGEST)


def test_with_tag_and_digest() -> None:
    ref = parse_normalized(f"foo/bar@{DIGEST}")
    tagged = ref.with_tag("v2")
    assert tagged.familiar() == f"foo/bar:v2@{DIGEST}"
    other = Digest.of(b"x")
    assert parse_normalized("foo").with_digest(other).familiar() == f"foo@{other}"
    assert tagged.repository() == Reference("docker.io", "foo/bar")
    with pytest.raises(InvalidReference, match="invalid tag format"):
        ref.with_tag("-bad")


def test_reference_is_immutable_and_hashable() -> None:
    ref = parse_normalized("busybox:1")
    with pytest.raises(AttributeError):
        ref.tag = "2"  # type: ignore[misc]
    assert len({ref, parse_normalized("docker.io/library/busybox:1")}) == 1


def test_parse_any_reference() -> None:
    assert parse_any(H64) == Digest("sha256", H64)
    assert parse_any(f"sha256:{H64}") == Digest("sha256", H64)
    assert parse_any("busybox") == parse_normalized("busybox")
    # a short sha256: text is not a digest; it is the repository "sha256" with a tag
    assert parse_any("sha256:fba4") == Reference("docker.io", "library/sha256", "fba4")
    with pytest.raises(InvalidReference):
        parse_any("Busybox")


@pytest.mark.parametrize(
    ("text", "is_id", "is_prefix"),
    [
        (H64, True, True),
        (f"sha256:{H64}", True, True),
        ("fba4", False, True),
        ("sha256:fba4", False, True),
        ("FBA4", False, False),
        ("a" * 65, False, False),
        (f"sha512:{H64}", False, False),
        ("", False, False),
        ("sha256:", False, False),
        ("busybox", False, False),
        ("A" * 64, False, False),
    ],
)
def test_image_id_forms(text: str, is_id: bool, is_prefix: bool) -> None:
    assert looks_like_image_id(text) is is_id
    assert is_id_prefix(text) is is_prefix


def test_tag_grammar() -> None:
    assert is_valid_tag("_")
    assert is_valid_tag("A.b-C_9")
    assert is_valid_tag("t" * 128)
    assert not is_valid_tag("t" * 129)
    assert not is_valid_tag(".x")
    assert not is_valid_tag("")


_component = st.from_regex(r"[a-z0-9]{1,5}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,5}){0,2}", fullmatch=True)


@given(parts=st.lists(_component, min_size=1, max_size=4), tag=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}", fullmatch=True))
def test_grammar_round_trip(parts: list[str], tag: str) -> None:
    path = "/".join(parts)
    ref = parse_normalized(f"example.com/{path}:{tag}")
    assert (ref.domain, ref.path, ref.tag) == ("example.com", path, tag)
    assert parse_normalized(str(ref)) == ref


@pytest.mark.parametrize(
    ("target", "cause"), [row for row in TAG_TARGETS if row[1] is not None], ids=lambda v: str(v)[:40]
)
def test_against_live_docker_client(docker_engine: str, target: str, cause: str) -> None:
    """Re-checks the refused targets against the real client when an engine is running.

    Uses the first ``docker`` on PATH: the parenthesised uppercase wording is the 28.x client's. The
    source image need not exist, since the client refuses the target before calling the daemon.
    """
    proc = subprocess.run(
        ["docker", "tag", "no-such-image-dyref:1", target],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_HOST": docker_engine},
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == str(InvalidTagTarget(target, cause))


def test_first_segment_that_is_no_valid_host_leaves_no_domain() -> None:
    # "a.b-c_d" has a dot, so it is split off as a domain, but "_" is no host character: the whole name
    # then parses as a path with an empty domain, and Docker shows it as typed (not "/a.b-c_d/x").
    ref = parse_normalized("a.b-c_d/x:1")
    assert (ref.familiar(), str(ref), ref.name) == ("a.b-c_d/x:1", "a.b-c_d/x:1", "a.b-c_d/x")
