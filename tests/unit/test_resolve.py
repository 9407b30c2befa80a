"""Image lookup (``resolve_image``), tag moves and reference order, against a real store on disk."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.reference import parse_normalized
from dockyard.store import Store
from dockyard.store.images import (
    image_references,
    is_image_id_prefix,
    repo_digests,
    repo_tags,
    resolve,
    resolve_image,
    tag_image,
)
from tests.helpers.images import ImageMaker


def test_full_id_bare_and_prefixed(store: Store, make: ImageMaker) -> None:
    image_id = make.image("busybox:latest")
    assert resolve_image(store, image_id).id == image_id
    assert resolve_image(store, image_id.removeprefix("sha256:")).id == image_id


def test_missing_full_id_is_reported_as_digest(store: Store, make: ImageMaker) -> None:
    make.image("busybox")
    missing = "0" * 64
    for operand in (missing, "sha256:" + missing):
        with pytest.raises(NotFound) as err:
            resolve_image(store, operand)
        assert str(err.value) == f"No such image: sha256:{missing}"


def test_name_defaults_to_latest(store: Store, make: ImageMaker) -> None:
    latest = make.image("busybox:latest")
    other = make.image("busybox:1")
    assert resolve_image(store, "busybox").id == latest
    assert resolve_image(store, "docker.io/library/busybox:1").id == other
    assert resolve_image(store, "index.docker.io/library/busybox:latest").id == latest


def test_not_found_wording(store: Store, make: ImageMaker) -> None:
    make.image("busybox:1")
    cases = {
        "nosuch": "No such image: nosuch:latest",
        "busybox:2": "No such image: busybox:2",
        "docker.io/library/busybox": "No such image: busybox:latest",
        "localhost:5000/x": "No such image: localhost:5000/x:latest",
        "dyr@sha256:" + "a" * 64: "No such image: dyr@sha256:" + "a" * 64,
    }
    for operand, message in cases.items():
        with pytest.raises(NotFound) as err:
            resolve_image(store, operand)
        assert str(err.value) == message
        assert not err.value.client


def test_parse_errors_are_daemon_errors(store: Store) -> None:
    with pytest.raises(InvalidArgument) as err:
        resolve_image(store, "Dyr")
    assert not err.value.client
    assert str(err.value).startswith("invalid reference format")
    with pytest.raises(InvalidArgument) as err:
        resolve_image(store, "dyr@sha256:1234")
    assert str(err.value) == "invalid reference format"


def test_unique_prefix_and_sha256_prefix(store: Store, make: ImageMaker) -> None:
    image_id = make.image("busybox")
    hex_id = image_id.removeprefix("sha256:")
    assert resolve_image(store, hex_id[:4]).id == image_id
    assert resolve_image(store, "sha256:" + hex_id[:6]).id == image_id
    found = resolve(store, hex_id[:12])
    assert found.reference is None


def test_ambiguous_prefix_reads_as_not_found(store: Store, make: ImageMaker) -> None:
    ids = [make.image() for _ in range(40)]
    # With 40 random IDs some first hex digit is shared; find one.
    firsts = [i[7] for i in ids]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(NotFound) as err:
        resolve_image(store, shared)
    assert str(err.value) == f"No such image: {shared}:latest"


def test_tag_wins_over_id_prefix(store: Store, make: ImageMaker) -> None:
    target = make.image()
    prefix = target[7:11]
    other = make.image(prefix)  # a repository literally named like the prefix
    assert resolve_image(store, prefix).id == other
    assert resolve_image(store, "sha256:" + prefix).id == target


def test_repo_digest_lookup_ignores_tag_beside_digest(store: Store, make: ImageMaker) -> None:
    digest = "sha256:" + "b" * 64
    image_id = make.image("dyr:1", repo_digest=f"dyr@{digest}")
    assert resolve_image(store, f"dyr@{digest}").id == image_id
    assert resolve_image(store, f"dyr:nosuchtag@{digest}").id == image_id
    with pytest.raises(NotFound):
        resolve_image(store, f"other@{digest}")


def test_reference_order_is_full_string_order(store: Store, make: ImageMaker) -> None:
    digest = "sha256:" + "c" * 64
    image_id = make.image("zeta:1", "example.com/x:1", "alpha/b:2", "zeta:0", repo_digest=f"zeta@{digest}")
    # docker.io/alpha/b < docker.io/library/zeta:0 < …:1 < …@sha256 < example.com/x
    assert [r.familiar() for r in image_references(store, image_id)] == [
        "alpha/b:2", "zeta:0", "zeta:1", f"zeta@{digest}", "example.com/x:1",
    ]
    assert repo_tags(store, image_id) == ["alpha/b:2", "zeta:0", "zeta:1", "example.com/x:1"]
    assert repo_digests(store, image_id) == [f"zeta@{digest}"]


def test_tag_image_moves_tag_and_leaves_dangling(store: Store, make: ImageMaker) -> None:
    old = make.image("app:1")
    new = make.image("other:1")
    previous = tag_image(store, "other:1", parse_normalized("app:1"))
    assert previous == old
    assert resolve_image(store, "app:1").id == new
    assert repo_tags(store, old) == []
    assert store.meta.image_exists(old)
    assert tag_image(store, "app:1", parse_normalized("app")) is None
    assert repo_tags(store, new) == ["app:1", "app:latest", "other:1"]


def test_tag_image_missing_source(store: Store) -> None:
    with pytest.raises(NotFound) as err:
        tag_image(store, "nosuch", parse_normalized("x:1"))
    assert str(err.value) == "No such image: nosuch:latest"


def test_is_image_id_prefix() -> None:
    image_id = "sha256:" + "ab12" * 16
    assert is_image_id_prefix(image_id, "ab1")
    assert is_image_id_prefix(image_id, "sha256:ab")
    assert is_image_id_prefix(image_id, "sha25")
    assert not is_image_id_prefix(image_id, "busybox")
    assert not is_image_id_prefix(image_id, "b1")
