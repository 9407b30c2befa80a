"""GC: what images, digests, containers and live leases reference stays; the rest goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import Conflict
from dockyard.store import ManifestRecord, Store
from dockyard.store.gc import ORPHAN_SNAPSHOT_GRACE, chain_ids
from tests.store import commit_image

pytestmark = pytest.mark.unit


def blobs(store: Store) -> set[Digest]:
    return {d for d, _ in store.content.iter_blobs()}


def test_unreferenced_blobs_go_and_referenced_ones_stay(store: Store) -> None:
    args = commit_image(store, "kept", [b"layer one", b"layer two"])
    image = store.meta.add_image(**args)
    store.meta.set_tag("r:t", "r", "t", image.id)
    gz = store.content.put_bytes(b"gzip representation of layer one")
    store.meta.add_layer_blob(gz, image.layers[0].diff_id, "application/vnd.oci.image.layer.v1.tar+gzip", 32)
    child = store.content.put_bytes(b"platform manifest")
    nested = store.content.put_bytes(b"nested index")
    index = store.content.put_bytes(b"top index")
    store.meta.add_manifest(ManifestRecord(child, "m", 17, "linux/amd64"), image.id)
    store.meta.add_manifest(ManifestRecord(nested, "i", 12, None, (child,)))
    store.meta.add_manifest(ManifestRecord(index, "i", 9, None, (nested,)), image.id)
    garbage = store.content.put_bytes(b"nobody wants me" * 10)
    expected_kept = {image.config_digest, *(layer.blob for layer in image.layers), gz, child, nested, index}

    result = store.gc()
    assert result.removed == [garbage]
    assert result.reclaimed == 150
    assert blobs(store) == expected_kept
    assert store.check() == []


def test_removing_the_image_frees_its_blobs(store: Store) -> None:
    shared = b"shared base layer"
    a = store.meta.add_image(**commit_image(store, "a", [shared, b"only a"]))
    b = store.meta.add_image(**commit_image(store, "b", [shared]))
    store.meta.delete_image(a.id)
    result = store.gc()
    assert set(result.removed) == {a.config_digest, Digest.of(b"only a")}
    assert blobs(store) == {b.config_digest, Digest.of(shared)}


def test_dry_run_reports_without_removing(store: Store) -> None:
    garbage = store.content.put_bytes(b"garbage")
    with store.content.writer("stale") as w:
        w.write(b"partial")
    result = store.gc(dry_run=True)
    assert result.removed == [garbage] and result.reclaimed == 7 and result.ingests_removed == 1
    assert blobs(store) == {garbage}
    assert [i.key for i in store.content.ingests()] == ["stale"]
    assert store.gc().removed == [garbage]
    assert store.content.ingests() == []


def test_repo_digest_and_container_keep_their_content(store: Store) -> None:
    image = store.meta.add_image(**commit_image(store, "a", [b"l"]))
    manifest = store.content.put_bytes(b"manifest pushed later")
    store.meta.add_repo_digest("r", str(manifest), image.id)
    store.meta.add_container("c1", image.id, "c")
    assert store.gc().removed == []
    assert manifest in blobs(store)


def test_a_lease_protects_blobs_and_ingests_until_released(store: Store) -> None:
    with store.lease() as lease:
        d = store.content.put_bytes(b"pulled, not yet registered")
        with store.content.writer("pull/next") as w:
            w.write(b"half")
        lease.add("blob", str(Digest.of(b"announced before download")))
        result = store.gc()
        assert result.removed == [] and result.ingests_removed == 0
        assert d in blobs(store)
        assert [i.key for i in store.content.ingests()] == ["pull/next"]
    result = store.gc()
    assert result.removed == [d] and result.ingests_removed == 1


def test_lease_in_a_worker_thread_is_found_through_the_store(store: Store) -> None:
    import threading

    with store.lease():
        t = threading.Thread(target=store.content.put_bytes, args=(b"downloaded by a thread",))
        t.start()
        t.join()
        assert store.gc().removed == []
    assert store.gc().removed == [Digest.of(b"downloaded by a thread")]


def test_live_lease_holder_outlives_its_ttl(store: Store) -> None:
    with store.lease(ttl=0):
        d = store.content.put_bytes(b"slow pull")
        time.sleep(0.01)
        assert store.gc().removed == []
    assert store.gc().removed == [d]


LEASE_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dockyard.store import Store
    s = Store.open(Path(sys.argv[1]))
    lease = s.lease(ttl=float(sys.argv[2])).__enter__()
    s.content.put_bytes(b"held by a process that will be killed")
    with s.content.writer("pull/killed") as w:
        w.write(b"partial")
    w = s.content.writer("pull/killed")
    print("ready", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.integration
def test_sigkilled_lease_holder_is_honoured_until_its_lease_expires(store: Store) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", LEASE_HOLDER, str(store.root), "2"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert store.gc().removed == []  # holder alive
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        d = Digest.of(b"held by a process that will be killed")
        # Dead holder, lease not expired: a restarted pull could still resume.
        result = store.gc()
        assert result.removed == [] and result.ingests_removed == 0
        [info] = store.content.ingests()
        assert (info.key, info.offset, info.locked) == ("pull/killed", 7, False)
        [lease_info] = store.leases.leases()
        assert lease_info.held is False
        time.sleep(2.1)
        result = store.gc()
        assert result.removed == [d] and result.ingests_removed == 1
        assert store.leases.leases() == []
        assert list((store.root / "leases").iterdir()) == []
    finally:
        child.kill()
        child.wait()


def test_a_second_gc_is_refused(store: Store) -> None:
    other = Store.open(store.root)
    try:
        with other.prune_lock():
            with pytest.raises(Conflict) as info:
                store.gc()
            assert str(info.value) == "a prune operation is already running"
            assert other.gc().removed == []  # the holder itself may run gc
        store.gc()
    finally:
        other.close()


def test_locked_ingest_without_lease_is_left_alone(store: Store) -> None:
    with store.content.writer("in-flight") as w:
        w.write(b"busy")
        assert store.gc().ingests_removed == 0
    assert store.gc().ingests_removed == 1


def make_snapshot(store: Store, name: str) -> Path:
    path = store.paths.snapshot_dir(name)
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "sh").write_text("#!")
    os.chmod(path / "bin", 0o555)  # unpacked layers have read-only directories
    return path


def test_snapshots_of_image_chains_stay_and_others_go(store: Store) -> None:
    image = store.meta.add_image(**commit_image(store, "a", [b"l1", b"l2"]))
    chains = chain_ids([str(d) for d in image.diff_ids])
    for i, chain in enumerate(chains):
        make_snapshot(store, f"s{i}")
        store.meta.add_snapshot(Digest.parse(chain), f"s{i}", Digest.parse(chains[i - 1]) if i else None)
    unused = Digest.of(b"some other stack")
    make_snapshot(store, "s-unused")
    store.meta.add_snapshot(unused, "s-unused")
    recent_orphan = make_snapshot(store, "orphan-new")
    old_orphan = make_snapshot(store, "orphan-old")
    os.utime(old_orphan, (time.time() - ORPHAN_SNAPSHOT_GRACE - 10,) * 2)

    assert store.gc(dry_run=True).snapshots_removed == 2
    result = store.gc()
    assert result.snapshots_removed == 2
    assert sorted(result.removed_snapshot_names) == ["orphan-old", "s-unused"]
    assert sorted(p.name for p in store.paths.snapshots.iterdir()) == ["orphan-new", "s0", "s1"]
    assert [s.name for s in store.meta.all_snapshots()] == ["s0", "s1"]
    assert recent_orphan.exists()


def test_leased_snapshot_keeps_its_parents(store: Store) -> None:
    a, b = Digest.of(b"a"), Digest.of(b"b")
    make_snapshot(store, "base")
    make_snapshot(store, "top")
    store.meta.add_snapshot(a, "base")
    store.meta.add_snapshot(b, "top", a)
    with store.lease() as lease:
        lease.add("snapshot", "top")
        assert store.gc().snapshots_removed == 0
    assert store.gc().snapshots_removed == 2
    assert list(store.paths.snapshots.iterdir()) == []


def test_chain_ids_follow_the_definition() -> None:
    # formats.md §2.2: the rule, with short inputs checked by hand against the definition.
    d0, d1 = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    import hashlib

    assert chain_ids([d0, d1]) == [d0, "sha256:" + hashlib.sha256(f"{d0} {d1}".encode()).hexdigest()]
