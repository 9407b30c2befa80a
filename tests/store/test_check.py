"""check(): damage to blobs, records that point nowhere, config/record disagreement, leftovers."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.store import Problem, Store
from tests.store import commit_image

pytestmark = pytest.mark.unit


def errors(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.kind, p.subject) for p in problems if p.severity == "error"]


def tagged_image(store: Store, layers: list[bytes]):  # type: ignore[no-untyped-def]
    image = store.meta.add_image(**commit_image(store, "img", layers))
    store.meta.set_tag("docker.io/library/img:latest", "docker.io/library/img", "latest", image.id)
    return image


def damage(store: Store, d: Digest, content: bytes) -> None:
    path = store.content.path(d)
    os.chmod(path, 0o644)
    path.write_bytes(content)
    os.chmod(path, 0o444)


def test_a_sound_store_has_no_problems(store: Store) -> None:
    tagged_image(store, [b"l1", b"l2"])
    store.meta.add_blob_source(Digest.of(b"l1"), "docker.io", "library/img")
    assert store.check() == []


def test_edited_blob_is_reported(store: Store) -> None:
    image = tagged_image(store, [b"original layer"])
    layer = image.layers[0].blob
    damage(store, layer, b"Original layer")
    problems = store.check()
    assert errors(problems) == [("corrupt-blob", str(layer))]
    assert str(Digest.of(b"Original layer")) in str(problems[0])


def test_truncated_blob_is_reported(store: Store) -> None:
    image = tagged_image(store, [b"a layer that will be cut short"])
    layer = image.layers[0].blob
    damage(store, layer, b"a layer")
    assert errors(store.check()) == [("corrupt-blob", str(layer))]


def test_corrupt_config_is_reported(store: Store) -> None:
    image = tagged_image(store, [b"l"])
    damage(store, image.config_digest, b"{}")
    assert errors(store.check()) == [("corrupt-blob", image.id)]


def test_missing_layer_and_config_are_reported(store: Store) -> None:
    image = tagged_image(store, [b"l1", b"l2"])
    store.content.delete(image.layers[1].blob)
    assert errors(store.check()) == [("missing-layer", image.id)]
    store.content.delete(image.config_digest)
    assert sorted(errors(store.check())) == [("missing-config", image.id), ("missing-layer", image.id)]


def test_diff_ids_disagreeing_with_the_config_are_reported(store: Store) -> None:
    args = commit_image(store, "x", [b"l1", b"l2"])
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [str(Digest.of(b"l1"))]}}).encode()
    args["config_digest"] = store.content.put_bytes(config)
    args["config_size"] = len(config)
    image = store.meta.add_image(**args)
    problems = store.check()
    assert errors(problems) == [("diff-ids-mismatch", image.id)]
    assert "1 layer(s)" in problems[0].detail and "recorded 2" in problems[0].detail


def test_recorded_size_disagreeing_with_the_blob_is_reported(store: Store) -> None:
    args = commit_image(store, "x", [b"l1"])
    args["config_size"] += 1
    image = store.meta.add_image(**args)
    assert errors(store.check()) == [("size-mismatch", image.id)]


def test_records_pointing_at_missing_images_are_reported(store: Store) -> None:
    image = tagged_image(store, [b"l"])
    store.meta.add_repo_digest("docker.io/library/img", str(Digest.of(b"m")), image.id)
    store.meta.add_container("c1", image.id, "c")
    # Simulate a damaged database (or a buggy writer) that lost the image row only.
    conn = sqlite3.connect(store.paths.database, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("DELETE FROM image_layers WHERE image_id = ?", (image.id,))
    conn.execute("DELETE FROM images WHERE id = ?", (image.id,))
    conn.close()
    store.content.path(Digest.parse(image.id)).unlink()
    assert sorted(errors(store.check())) == [
        ("dangling-container", "c1"),
        ("dangling-repo-digest", f"docker.io/library/img@{Digest.of(b'm')}"),
        ("dangling-tag", "docker.io/library/img:latest"),
    ]


def test_container_of_a_force_removed_image_keeps_its_layers(store: Store) -> None:
    # `rmi -f` may delete the image of a stopped container, as Docker allows; the container keeps
    # what it was made from, so GC must keep the config and the layers and check() must not complain.
    image = tagged_image(store, [b"layer-one", b"layer-two"])
    store.meta.add_container("c1", image.id, "c")
    store.meta.remove_tag("docker.io/library/img:latest")
    store.meta.delete_image(image.id)
    store.gc()
    assert store.content.has(Digest.parse(image.id))
    for layer in image.layers:
        assert store.content.has(layer.blob)
    problems = store.check()
    assert errors(problems) == []
    assert [(p.kind, p.subject, p.severity) for p in problems] == [("removed-image-container", "c1", "info")]
    store.meta.remove_container("c1")
    store.gc()
    assert not any(store.content.has(layer.blob) for layer in image.layers)


def test_leftover_ingest_is_information_not_an_error(store: Store) -> None:
    with store.content.writer("pull/abandoned") as w:
        w.write(b"12345")
    [problem] = store.check()
    assert (problem.kind, problem.subject, problem.severity) == ("leftover-ingest", "pull/abandoned", "info")
    assert str(problem).startswith("info: leftover-ingest: pull/abandoned: 5 bytes written")
    # An ingest held by a live lease is not a leftover, nor one being written.
    with store.lease():
        with store.content.writer("pull/kept") as w:
            w.write(b"x")
        with store.content.writer("pull/abandoned"):
            assert [p.subject for p in store.check()] == []


def test_stray_files_and_writable_blobs_are_noticed(store: Store) -> None:
    d = store.content.put_bytes(b"blob")
    os.chmod(store.content.path(d), 0o644)
    (store.paths.blobs / "sha256" / "not-a-digest").write_bytes(b"")
    problems = store.check()
    assert sorted((p.kind, p.severity) for p in problems) == [("stray-file", "error"), ("writable-blob", "info")]


def test_missing_snapshot_directory_is_reported(store: Store) -> None:
    store.meta.add_snapshot(Digest.of(b"c"), "gone")
    assert errors(store.check()) == [("missing-snapshot", str(Digest.of(b"c")))]


def test_a_damaged_database_file_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Store.open(root) as s:
        for i in range(200):
            s.meta.add_blob_source(Digest.of(str(i).encode()), "r" * 200, f"repo{i}")
        conn = s.meta._conn()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        index_root = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_blob_sources_1'"
        ).fetchone()[0]
    with open(root / "dockyard.db", "r+b") as f:
        f.seek((index_root - 1) * page_size + 200)
        f.write(os.urandom(page_size - 400))
    with Store.open(root) as s:
        assert "database" in [p.kind for p in s.check()]
