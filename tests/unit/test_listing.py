"""store/listing.py: the engine side of ``images`` and ``system df`` against a real store."""

from __future__ import annotations

import pytest

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, NotFound
from dockyard.reference import parse_normalized
from dockyard.filters import Filters
from dockyard.store import ManifestRecord, Store
from dockyard.store.images import set_tag
from dockyard.store.listing import disk_usage, familiar_name, fill_platforms, list_images
from tests.helpers.images import DIGEST_A, DIGEST_B, make_image

pytestmark = pytest.mark.unit


def test_familiar_names() -> None:
    assert familiar_name("docker.io/library/busybox") == "busybox"
    assert familiar_name("docker.io/library/a/b") == "library/a/b"
    assert familiar_name("docker.io/foo/bar") == "foo/bar"
    assert familiar_name("localhost:5000/x") == "localhost:5000/x"


def test_summary_fields_and_order(store: Store) -> None:
    old = make_image(store, created=1_600_000_000, tags=("old:1",), salt="o")
    new = make_image(store, created=1_700_000_000, tags=("new:2", "new:1", "other/x"), salt="n",
                     digests=(f"new@{DIGEST_B}", f"new@{DIGEST_A}"))
    epoch = make_image(store, created=None, tags=("nodate",), salt="e")
    result = list_images(store)
    assert [s.Id for s in result] == [new, old, epoch]
    top = result[0]
    assert top.RepoTags == ["new:1", "new:2", "other/x:latest"]  # sorted by the full reference text
    assert top.RepoDigests == [f"new@{DIGEST_A}", f"new@{DIGEST_B}"]
    assert top.Created == 1_700_000_000
    assert top.Size == 100 and top.SharedSize == -1 and top.Containers == -1
    assert top.ParentId == "" and top.Labels is None
    assert result[2].Created == 0
    assert top.to_api()["RepoTags"] == top.RepoTags


def test_intermediate_images_hidden_without_all(store: Store) -> None:
    base = make_image(store, created=1, salt="base")
    child = make_image(store, created=2, parent=base, tags=("child",), salt="child")
    lone = make_image(store, created=3, salt="lone")
    assert [s.Id for s in list_images(store)] == [lone, child]
    assert [s.Id for s in list_images(store, all=True)] == [lone, child, base]
    # dangling=true lists only the heads of the graph, even with -a
    assert [s.Id for s in list_images(store, all=True, filters=Filters([("dangling", "true")]))] == [lone]
    assert [s.Id for s in list_images(store, filters=Filters([("dangling", "false")]))] == [child]
    assert [s.Id for s in list_images(store, filters=Filters([("dangling", "1")]))] == [lone]


def test_digest_only_images_count_as_dangling(store: Store) -> None:
    only_digest = make_image(store, digests=(f"busybox@{DIGEST_A}",), salt="d")
    make_image(store, tags=("t",), salt="t")
    assert [s.Id for s in list_images(store, filters=Filters([("dangling", "true")]))] == [only_digest]


def test_bad_filters(store: Store) -> None:
    make_image(store, tags=("a",))
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'label!'$"):
        list_images(store, filters=Filters([("label!", "x")]))
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'dangling=\[maybe\]'$"):
        list_images(store, filters=Filters([("dangling", "maybe")]))
    with pytest.raises(InvalidArgument, match=r"^invalid filter 'dangling=\[false true\]'$"):
        list_images(store, filters=Filters([("dangling", "true"), ("dangling", "false")]))
    with pytest.raises(NotFound, match=r"^No such image: nothere:latest$"):
        list_images(store, filters=Filters([("before", "nothere")]))
    with pytest.raises(InvalidArgument, match=r"^syntax error in pattern$"):
        list_images(store, filters=Filters([("reference", "a[")]))
    with pytest.raises(InvalidArgument, match="failed to parse value as time or duration"):
        list_images(store, filters=Filters([("until", "abc")]))


def test_label_filter_reads_configs(store: Store) -> None:
    both = make_image(store, labels={"a": "1", "b": "2"}, tags=("both",), salt="1")
    only_a = make_image(store, labels={"a": "3"}, tags=("onlya",), salt="2")
    make_image(store, container_config=False, tags=("noconfig",), salt="3")
    make_image(store, labels={}, tags=("nolabels",), salt="4")
    ids = lambda *pairs: {s.Id for s in list_images(store, filters=Filters(pairs))}  # noqa: E731
    assert ids(("label", "a")) == {both, only_a}
    assert ids(("label", "a=1")) == {both}
    assert ids(("label", "a"), ("label", "b=2")) == {both}
    assert ids(("label", "b=3")) == set()
    labelled = {s.Id: s.Labels for s in list_images(store, labels=True)}
    assert labelled[both] == {"a": "1", "b": "2"}


def test_before_since_until(store: Store) -> None:
    a = make_image(store, created=100, tags=("a",), salt="a")
    b = make_image(store, created=200, tags=("b",), salt="b")
    c = make_image(store, created=300, tags=("c",), salt="c")
    nodate = make_image(store, created=None, tags=("n",), salt="n")
    ids = lambda *pairs: [s.Id for s in list_images(store, filters=Filters(pairs))]  # noqa: E731
    assert ids(("before", "c")) == [b, a]
    assert ids(("since", "a")) == [c, b]
    assert ids(("since", "a"), ("before", "c")) == [b]
    assert ids(("before", b[7:19])) == [a]  # an ID prefix
    assert ids(("until", "250")) == [b, a]  # Unix seconds
    assert ids(("until", "1970-01-01T00:03:20Z")) == [a]
    assert nodate not in ids(("until", "999999999999"))


def test_reference_filter_reduces_refs(store: Store) -> None:
    img = make_image(store, tags=("foo/bar:1", "foo/bar:2", "baz:1"), digests=(f"foo/bar@{DIGEST_A}",))
    make_image(store, tags=("other",), salt="o")
    make_image(store, salt="untagged")
    (s,) = list_images(store, filters=Filters([("reference", "foo/bar:1")]))
    assert s.Id == img and s.RepoTags == ["foo/bar:1"] and s.RepoDigests == []
    (s,) = list_images(store, filters=Filters([("reference", "foo/*")]))
    assert s.RepoTags == ["foo/bar:1", "foo/bar:2"] and s.RepoDigests == [f"foo/bar@{DIGEST_A}"]
    assert list_images(store, filters=Filters([("reference", "*")])) != []
    assert {t for s in list_images(store, filters=Filters([("reference", "*")])) for t in s.RepoTags} == {
        "baz:1", "other:latest"}  # `*` does not cross `/`
    assert list_images(store, filters=Filters([("reference", "FOO/*")])) == []
    (s,) = list_images(store, filters=Filters([("reference", "baz:*"), ("reference", "foo/bar:2")]))
    assert s.RepoTags == ["foo/bar:2", "baz:1"]  # docker.io/foo/… sorts before docker.io/library/…


def test_platform_children_and_in_use(store: Store) -> None:
    amd = make_image(store, tags=("multi",), salt="amd")
    arm = make_image(store, arch="arm64", salt="arm")
    with store.lease():
        m_amd = store.content.put_bytes(b'{"m":"amd"}')
        m_arm = store.content.put_bytes(b'{"m":"arm"}')
        m_missing = Digest.parse("sha256:" + "c" * 64)
        index = store.content.put_bytes(b'{"index":1}')
        store.meta.add_manifest(ManifestRecord(m_amd, "application/vnd.oci.image.manifest.v1+json", 11, "linux/amd64"), amd)
        store.meta.add_manifest(ManifestRecord(m_arm, "application/vnd.oci.image.manifest.v1+json", 11, "linux/arm64"), arm)
        store.meta.add_manifest(
            ManifestRecord(index, "application/vnd.oci.image.index.v1+json", len(b'{"index":1}'), None, (m_amd, m_arm, m_missing)), amd
        )
    store.meta.add_container("c1", amd, "one")
    (s,) = list_images(store, platforms=True, filters=Filters([("reference", "multi")]))
    assert s.platform == "linux/amd64" and s.in_use and s.container_count == 1
    assert [(c.platform, c.available, c.in_use) for c in s.children] == [
        ("linux/amd64", True, True), ("linux/arm64", True, False), ("unknown", False, False)]
    assert s.content_size > s.Size  # blobs + config + manifest
    fill_platforms(store, [])


def test_disk_usage_shared_sizes(store: Store) -> None:
    shared = {"base": b"b" * 1000}
    a = make_image(store, layers=[shared, {"a": b"a" * 10}], tags=("a",), salt="a")
    b = make_image(store, layers=[shared], tags=("b",), salt="b")
    make_image(store, layers=[{"c": b"c" * 5}], salt="c")
    store.meta.add_container("c1", a, "x")
    du = disk_usage(store)
    by_id = {i.Id: i for i in du.Images}
    assert du.LayersSize == 1000 + 10 + 5
    assert by_id[a].SharedSize == 1000 and by_id[a].Containers == 1
    assert by_id[b].SharedSize == 1000 and by_id[b].Containers == 0
    assert len(du.Images) == 3


def test_thousand_tags_fast(store: Store) -> None:
    import time

    ids = [make_image(store, salt=str(i)) for i in range(20)]
    with store.meta.transaction():
        for n in range(1000):
            set_tag(store, parse_normalized(f"repo{n % 50}:t{n}"), ids[n % 20])
    start = time.perf_counter()
    result = list_images(store)
    elapsed = time.perf_counter() - start
    assert sum(len(s.RepoTags) for s in result) == 1000
    assert elapsed < 0.5, elapsed
