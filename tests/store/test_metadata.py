"""Metadata: images refuse missing blobs, tags move and keep insertion order, migrations are idempotent."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound
from dockyard.store import ManifestRecord, Store
from dockyard.store.metadata import LATEST_VERSION, MIGRATIONS, migrate, schema_version
from tests.store import commit_image

pytestmark = pytest.mark.unit


def test_add_and_get_image(store: Store) -> None:
    args = commit_image(store, "one", [b"layer-a" * 10, b"layer-b" * 3])
    record = store.meta.add_image(**args)
    assert record.id == str(args["config_digest"])
    assert record.config_digest == args["config_digest"]
    assert [layer.blob for layer in record.layers] == [layer.blob for layer in args["layers"]]
    assert record.size == 35 + 10  # content sizes summed: 70 // 2 + 21 // 2
    assert record.created == "2024-01-02T03:04:05.123456789Z"
    assert store.meta.get_image(record.id) == record
    assert store.meta.list_images() == [record]
    assert store.meta.get_image("sha256:" + "0" * 64) is None


def test_add_image_is_idempotent(store: Store) -> None:
    args = commit_image(store, "one", [b"l1"])
    first = store.meta.add_image(**args)
    assert store.meta.add_image(**args) == first
    assert len(store.meta.list_images()) == 1


@pytest.mark.parametrize("missing", ["config", "layer"])
def test_add_image_refuses_uncommitted_content(store: Store, missing: str) -> None:
    args = commit_image(
        store, "x", [b"l1", b"l2"], commit_config=missing != "config", commit_layers=missing != "layer"
    )
    with pytest.raises(FailedPrecondition):
        store.meta.add_image(**args)
    assert store.meta.list_images() == []
    assert store.meta.layer_blobs_for(args["layers"][0].diff_id) == []


def test_add_image_refuses_an_uncommitted_manifest(store: Store) -> None:
    args = commit_image(store, "x", [b"l1"])
    manifest = ManifestRecord(Digest.of(b"not stored"), "application/vnd.oci.image.manifest.v1+json", 10)
    with pytest.raises(FailedPrecondition):
        store.meta.add_image(**args, manifests=[manifest])
    assert store.meta.list_images() == []


def test_tags_move_and_keep_insertion_order(store: Store) -> None:
    a = store.meta.add_image(**commit_image(store, "a", [b"a"])).id
    b = store.meta.add_image(**commit_image(store, "b", [b"b"])).id
    assert store.meta.set_tag("docker.io/library/x:2", "docker.io/library/x", "2", a) is None
    assert store.meta.set_tag("docker.io/library/x:1", "docker.io/library/x", "1", a) is None
    assert store.meta.set_tag("docker.io/library/y:latest", "docker.io/library/y", "latest", b) is None
    assert [t.name for t in store.meta.tags_for(a)] == ["docker.io/library/x:2", "docker.io/library/x:1"]
    # Re-tagging the same image keeps the tag's place; moving it makes it the newest of its new image.
    assert store.meta.set_tag("docker.io/library/x:2", "docker.io/library/x", "2", a) == a
    assert [t.name for t in store.meta.tags_for(a)] == ["docker.io/library/x:2", "docker.io/library/x:1"]
    assert store.meta.set_tag("docker.io/library/x:2", "docker.io/library/x", "2", b) == a
    assert [t.name for t in store.meta.tags_for(a)] == ["docker.io/library/x:1"]
    assert [t.name for t in store.meta.tags_for(b)] == ["docker.io/library/y:latest", "docker.io/library/x:2"]
    assert store.meta.image_for_tag("docker.io/library/x:2") == b
    assert [t.name for t in store.meta.all_tags()] == [
        "docker.io/library/x:1", "docker.io/library/y:latest", "docker.io/library/x:2"
    ]
    tag = store.meta.get_tag("docker.io/library/x:2")
    assert tag is not None and (tag.repository, tag.tag) == ("docker.io/library/x", "2")


def test_set_tag_records_last_tag_time(store: Store) -> None:
    a = store.meta.add_image(**commit_image(store, "a", [b"a"])).id
    assert store.meta.get_image(a).last_tag_time is None
    store.meta.set_tag("r:t", "r", "t", a)
    stamp = store.meta.get_image(a).last_tag_time
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", stamp)


def test_set_tag_to_a_missing_image_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.meta.set_tag("r:t", "r", "t", "sha256:" + "1" * 64)
    assert store.meta.all_tags() == []


def test_remove_tag(store: Store) -> None:
    a = store.meta.add_image(**commit_image(store, "a", [b"a"])).id
    store.meta.set_tag("r:t", "r", "t", a)
    assert store.meta.remove_tag("r:t") is True
    assert store.meta.remove_tag("r:t") is False
    assert store.meta.image_for_tag("r:t") is None


def test_delete_image_needs_its_references_gone(store: Store) -> None:
    manifest_bytes = b'{"schemaVersion":2}'
    manifest = ManifestRecord(
        store.content.put_bytes(manifest_bytes), "application/vnd.oci.image.manifest.v1+json", len(manifest_bytes)
    )
    a = store.meta.add_image(**commit_image(store, "a", [b"a"]), manifests=[manifest]).id
    store.meta.set_tag("r:t", "r", "t", a)
    store.meta.add_repo_digest("r", str(manifest.digest), a)
    with pytest.raises(FailedPrecondition):
        store.meta.delete_image(a)
    store.meta.remove_tag("r:t")
    with pytest.raises(FailedPrecondition):
        store.meta.delete_image(a)
    assert store.meta.remove_repo_digest("r", str(manifest.digest))
    store.meta.delete_image(a)
    assert store.meta.get_image(a) is None
    assert store.meta.get_manifest(manifest.digest) is None
    with pytest.raises(NotFound):
        store.meta.delete_image(a)


def test_transaction_is_all_or_nothing(store: Store) -> None:
    a = store.meta.add_image(**commit_image(store, "a", [b"a"])).id
    store.meta.set_tag("r:t", "r", "t", a)
    with pytest.raises(RuntimeError):
        with store.meta.transaction():
            store.meta.remove_tag("r:t")
            store.meta.delete_image(a)
            raise RuntimeError("interrupted between steps")
    assert store.meta.image_for_tag("r:t") == a
    with store.meta.transaction():
        store.meta.remove_tag("r:t")
        store.meta.delete_image(a)
    assert store.meta.list_images() == []


def test_images_by_prefix_and_children(store: Store) -> None:
    base = store.meta.add_image(**commit_image(store, "base", [b"a"]))
    args = commit_image(store, "child", [b"a", b"b"])
    child = store.meta.add_image(**args, parent=base.config_digest)
    assert child.parent == base.id
    assert store.meta.children(base.id) == [child.id]
    assert store.meta.images_by_prefix(base.id[7:19]) == [base.id]
    assert sorted(store.meta.images_by_prefix("")) == []
    assert store.meta.images_by_prefix("%") == []
    ids = [base.id, child.id]
    for image_id in ids:
        first = image_id[7]
        assert store.meta.images_by_prefix(first) == sorted(i for i in ids if i[7] == first)


def test_repo_digests(store: Store) -> None:
    a = store.meta.add_image(**commit_image(store, "a", [b"a"])).id
    d1, d2 = str(Digest.of(b"m1")), str(Digest.of(b"m2"))
    store.meta.add_repo_digest("docker.io/library/b", d2, a)
    store.meta.add_repo_digest("docker.io/library/a", d1, a)
    store.meta.add_repo_digest("docker.io/library/b", d2, a)
    assert [r.reference for r in store.meta.repo_digests_for(a)] == [
        f"docker.io/library/b@{d2}", f"docker.io/library/a@{d1}"
    ]
    with pytest.raises(InvalidArgument):
        store.meta.add_repo_digest("r", "sha256:nothex", a)


def test_layer_representations_and_manifest_children(store: Store) -> None:
    args = commit_image(store, "a", [b"plain layer"])
    record = store.meta.add_image(**args)
    diff_id = record.layers[0].diff_id
    gz = Digest.of(b"gzip form")
    store.meta.add_layer_blob(gz, diff_id, "application/vnd.oci.image.layer.v1.tar+gzip", 9)
    assert [b for b, _, _ in store.meta.layer_blobs_for(diff_id)] == sorted([diff_id, gz])
    assert store.meta.layer_for_blob(gz) == diff_id
    child = store.content.put_bytes(b"child manifest")
    index = store.content.put_bytes(b"index")
    store.meta.add_manifest(ManifestRecord(child, "m", 14, "linux/amd64"), record.id)
    store.meta.add_manifest(ManifestRecord(index, "i", 5, None, (child, Digest.of(b"other platform"))), record.id)
    assert store.meta.get_manifest(index).children == (child, Digest.of(b"other platform"))
    assert [m.digest for m in store.meta.manifests_for(record.id)] == [child, index]
    assert store.meta.image_for_manifest(child) == record.id


def test_containers(store: Store) -> None:
    a = store.meta.add_image(**commit_image(store, "a", [b"a"])).id
    c = store.meta.add_container("c1", a, "happy_turing")
    assert c.state == "created"
    store.meta.set_container_state("c1", "running")
    assert [(r.id, r.state) for r in store.meta.containers_for(a)] == [("c1", "running")]
    with pytest.raises(InvalidArgument):
        store.meta.set_container_state("c1", "flying")
    with pytest.raises(NotFound):
        store.meta.set_container_state("nope", "exited")
    assert store.meta.remove_container("c1") is True
    assert store.meta.containers_for(a) == []


def test_blob_sources(store: Store) -> None:
    d = Digest.of(b"blob")
    store.meta.add_blob_source(d, "registry-1.docker.io", "library/busybox")
    store.meta.add_blob_source(d, "registry-1.docker.io", "library/busybox")
    store.meta.add_blob_source(d, "ghcr.io", "o/r")
    assert [(s.registry, s.repository) for s in store.meta.blob_sources(d)] == [
        ("registry-1.docker.io", "library/busybox"), ("ghcr.io", "o/r")
    ]


def test_store_forwards_metadata_methods(store: Store) -> None:
    record = store.meta.add_image(**commit_image(store, "a", [b"a"]))
    assert store.meta.get_image(record.id) == record
    with pytest.raises(AttributeError):
        store.no_such_method  # noqa: B018


def test_data_survives_reopening(store_root: Path) -> None:
    with Store.open(store_root) as s:
        a = s.meta.add_image(**commit_image(s, "a", [b"a"])).id
        s.meta.set_tag("r:t", "r", "t", a)
    with Store.open(store_root) as s:
        assert s.meta.image_for_tag("r:t") == a
        assert s.meta.version() == LATEST_VERSION


def test_database_is_wal_with_a_busy_timeout(store: Store) -> None:
    conn = store.meta._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


def test_migrations_run_pending_steps_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db", isolation_level=None)
    assert migrate(conn) == LATEST_VERSION
    extra = (LATEST_VERSION + 1, ("CREATE TABLE extra(x INTEGER)", "INSERT INTO extra VALUES (42)"))
    steps = [*MIGRATIONS, extra]
    assert migrate(conn, steps) == LATEST_VERSION + 1
    assert migrate(conn, steps) == LATEST_VERSION + 1
    assert conn.execute("SELECT COUNT(*) FROM extra").fetchone()[0] == 1


def test_failed_migration_step_leaves_the_previous_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db", isolation_level=None)
    migrate(conn)
    broken = (LATEST_VERSION + 1, ("CREATE TABLE half(x INTEGER)", "THIS IS NOT SQL"))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, [*MIGRATIONS, broken])
    assert schema_version(conn) == LATEST_VERSION
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None


@pytest.mark.integration
def test_several_processes_open_a_fresh_store_at_once(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from dockyard.store import Store
        with Store.open(Path(sys.argv[1])) as s:
            print(s.meta.version())
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(root)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    assert outputs == [str(LATEST_VERSION)] * 4
    conn = sqlite3.connect(root / "dockyard.db")
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


def test_images_by_prefix_accepts_the_algorithm(store: Store) -> None:
    image = store.meta.add_image(**commit_image(store, "a", [b"a"]))
    assert store.meta.images_by_prefix(image.id[:19]) == [image.id]


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from dockyard.store.paths import default_root

    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "explicit"))
    assert default_root() == tmp_path / "explicit"
    monkeypatch.delenv("DOCKYARD_ROOT")
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert default_root() == Path("/var/lib/dockyard")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "dockyard"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home" / ".local" / "share" / "dockyard"


def test_a_store_opened_before_fork_works_in_the_child(store: Store) -> None:
    image = store.meta.add_image(**commit_image(store, "a", [b"a"]))
    pid = os.fork()
    if pid == 0:  # child: use the inherited Store object, then leave without running pytest's teardown
        code = 0
        try:
            store.meta.set_tag("r:child", "r", "child", image.id)
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.meta.image_for_tag("r:child") == image.id


def test_a_database_held_too_long_is_reported_as_locked(
    store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockyard.errors import Locked

    monkeypatch.setattr("dockyard.store.metadata.BUSY_TIMEOUT_MS", 200)
    with Store.open(store_root) as s:
        image = s.meta.add_image(**commit_image(s, "a", [b"a"]))
        other = sqlite3.connect(s.paths.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(Locked):
                s.meta.set_tag("r:t", "r", "t", image.id)
        finally:
            other.execute("ROLLBACK")
            other.close()
        s.meta.set_tag("r:t", "r", "t", image.id)
        assert s.meta.image_for_tag("r:t") == image.id
