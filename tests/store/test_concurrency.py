"""Several OS processes on one store; SIGKILL in the middle of writes. The store must stay consistent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.store import Store

pytestmark = pytest.mark.integration

STRESS_WORKER = textwrap.dedent(
    """
    import json, random, sys
    from pathlib import Path
    from dockyard.errors import Conflict
    from dockyard.store import LayerRecord, Store

    root, worker, iterations = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(worker)
    store = Store.open(root)
    layer = lambda d, n: LayerRecord(d, d, "application/vnd.oci.image.layer.v1.tar", n, n, n)
    shared_bytes = b"a base layer every worker pulls" * 2000
    for i in range(iterations):
        variant = rng.randrange(4)
        with store.lease():
            shared = store.content.put_bytes(shared_bytes)
            own_bytes = f"worker {worker} variant {variant}".encode() * 500
            own = store.content.put_bytes(own_bytes)
            config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [str(shared), str(own)]},
                                 "worker": worker, "variant": variant}).encode()
            config_digest = store.content.put_bytes(config)
            image = store.meta.add_image(
                config_digest=config_digest, config_media_type="application/vnd.oci.image.config.v1+json",
                config_size=len(config), created=None, created_ns=None, os="linux", architecture="amd64",
                variant=None, layers=[layer(shared, len(shared_bytes)), layer(own, len(own_bytes))])
            repo = f"docker.io/library/w{worker}"
            store.meta.set_tag(f"{repo}:{variant}", repo, str(variant), image.id)
            if rng.random() < 0.5:
                store.meta.set_tag("docker.io/library/shared:latest", "docker.io/library/shared", "latest", image.id)
        roll = rng.random()
        if roll < 0.4:
            # rmi: untag, and delete the image if nothing else names it, in one transaction.
            name = f"docker.io/library/w{worker}:{rng.randrange(4)}"
            with store.meta.transaction():
                image_id = store.meta.image_for_tag(name)
                if image_id is not None:
                    store.meta.remove_tag(name)
                    if not store.meta.tags_for(image_id) and not store.meta.repo_digests_for(image_id):
                        store.meta.delete_image(image_id)
        elif roll < 0.7:
            try:
                store.gc()
            except Conflict:
                pass
        with store.meta.transaction():  # a consistent view: nothing can change while we look
            for tag in store.meta.all_tags():
                image = store.meta.get_image(tag.image_id)
                assert image is not None, tag
                assert store.content.has(image.config_digest), image.id
                for l in image.layers:
                    assert store.content.has(l.blob), (image.id, l.blob)
    store.close()
    print("ok")
    """
)


def test_processes_share_a_store_and_leave_it_consistent(store_root: Path) -> None:
    Store.open(store_root).close()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", STRESS_WORKER, str(store_root), str(n), "20"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(4)
    ]
    results = [w.communicate(timeout=120) for w in workers]
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0, err
        assert out.strip() == "ok"
    with Store.open(store_root) as store:
        assert store.check() == []
        store.gc()
        referenced = set()
        for image in store.meta.list_images():
            referenced.add(image.config_digest)
            referenced.update(layer.blob for layer in image.layers)
        assert {d for d, _ in store.content.iter_blobs()} == referenced
        assert store.leases.leases() == []
        assert store.check() == []


SAME_KEY_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from dockyard.digest import Digest
    from dockyard.store import Store
    store = Store.open(Path(sys.argv[1]))
    with open(sys.argv[2], "rb") as f:
        digest, size = store.content.put_stream(f, key="pull/same", expected=Digest.parse(sys.argv[3]))
    print(digest, size)
    """
)


def test_same_blob_pulled_by_several_processes_at_once(store_root: Path, tmp_path: Path) -> None:
    data = os.urandom(8 * 1024 * 1024)
    source = tmp_path / "blob"
    source.write_bytes(data)
    d = Digest.of(data)
    Store.open(store_root).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", SAME_KEY_WRITER, str(store_root), str(source), str(d)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outputs]
    assert [o.strip() for o, _ in outputs] == [f"{d} {len(data)}"] * 3
    with Store.open(store_root) as store:
        assert list(store.content.iter_blobs()) == [(d, len(data))]
        assert store.content.ingests() == []
        assert store.check() == []


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dockyard.digest import Digest
    from dockyard.store import Store

    class Slow:
        # A download that reports each chunk, so the test can kill it at a chosen point.
        def __init__(self, f): self.f = f
        def seekable(self): return True
        def seek(self, offset, whence=0): return self.f.seek(offset, whence)
        def read(self, n=-1):
            chunk = self.f.read(n)
            print("chunk", flush=True)
            time.sleep(0.002)
            return chunk

    store = Store.open(Path(sys.argv[1]))
    with store.lease(ttl=600):
        with open(sys.argv[2], "rb") as f:
            store.content.put_stream(Slow(f), key="pull/big", expected=Digest.parse(sys.argv[3]),
                                     expected_size=int(sys.argv[4]))
    print("done", flush=True)
    """
)


def test_sigkill_during_put_stream_leaves_a_consistent_resumable_store(store_root: Path, tmp_path: Path) -> None:
    data = os.urandom(24 * 1024 * 1024)
    source = tmp_path / "big"
    source.write_bytes(data)
    d = Digest.of(data)
    rng = random.Random(1234)
    Store.open(store_root).close()
    offsets_seen = []
    # Kill after a chosen number of chunks (mid-write), then at random instants (which may land in commit).
    plans = [("chunks", rng.randrange(2, 20)) for _ in range(3)] + [("time", rng.uniform(0.05, 0.6)) for _ in range(3)]
    for how, when in plans:
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(store_root), str(source), str(d), str(len(data))],
            stdout=subprocess.PIPE, text=True,
        )
        assert child.stdout is not None
        try:
            if how == "chunks":
                for _ in range(int(when)):
                    if child.stdout.readline() == "":
                        break
            else:
                assert child.stdout.readline()  # the first chunk: imports are done, writing has begun
                try:
                    child.wait(timeout=when)
                except subprocess.TimeoutExpired:
                    pass
            child.send_signal(signal.SIGKILL)  # a no-op if it already finished
        finally:
            child.kill()
            child.wait()

        with Store.open(store_root) as store:
            assert [p for p in store.check() if p.severity == "error"] == []
            if store.content.has(d):
                assert store.content.read_bytes(d, limit=len(data)) == data
            for info in store.content.ingests():
                assert (info.key, info.locked) == ("pull/big", False)
                assert info.offset <= len(data)
                offsets_seen.append(info.offset)
                partial = (store.paths.ingest_dir("pull/big") / "data").read_bytes()
                assert data.startswith(partial)
            # The killed pull's lease is still unexpired, so GC must keep its partial ingest.
            before = [i.offset for i in store.content.ingests()]
            store.gc()
            assert [i.offset for i in store.content.ingests()] == before
            if store.content.has(d) and not before:
                store.content.delete(d)  # the kill came after the commit: start the next round afresh

    assert any(offset > 0 for offset in offsets_seen), offsets_seen
    with Store.open(store_root) as store:
        if not store.content.ingests():
            # The last kill came after the commit; leave a partial ingest behind by hand for the resume.
            store.content.delete(d)
            with store.content.writer("pull/big", expected=d, expected_size=len(data)) as w:
                w.write(data[: 5 * 1024 * 1024 + 3])
        [info] = store.content.ingests()
        served = 0

        class Counting:
            def __init__(self, f):  # type: ignore[no-untyped-def]
                self.f = f

            def seekable(self) -> bool:
                return True

            def seek(self, offset: int, whence: int = 0) -> int:
                return self.f.seek(offset, whence)

            def read(self, n: int = -1) -> bytes:
                nonlocal served
                chunk = self.f.read(n)
                served += len(chunk)
                return chunk

        with open(source, "rb") as f:
            result = store.content.put_stream(Counting(f), key="pull/big", expected=d, expected_size=len(data))
        assert result == (d, len(data))
        assert served == len(data) - info.offset  # resumed: only the missing tail was read
        assert store.content.read_bytes(d, limit=len(data)) == data
        assert store.content.ingests() == []
        assert store.check() == []
