"""Hostile archives (hazards 8–12, 15, 17, 21): each is refused with a clear error and changes nothing.

Every row loads into a store that already holds a tagged image; afterwards the tags and images are what
they were, ``check()`` finds no errors and no ingest is left behind.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.archive.load import load
from dockyard.store import Store
from tests.helpers.archives import (
    ArchiveBuilder,
    Img,
    compress,
    gzip_bomb,
    image_config,
    layer_tar,
    legacy_archive,
    oci_archive,
    sha,
)
from tests.helpers.cli import DOCKYARD, run_cli, run_cli_process_binary

pytestmark = pytest.mark.integration

GOOD = Img([layer_tar({"x": b"x" * 300})], ["dyhaz/good:1"])
BASE = Img([layer_tar({"base": b"base"})], ["dyhaz/pre:1"])


def _config_path(img: Img) -> str:
    return f"{img.id[7:]}.json"


def manifest_with(**fields: object) -> bytes:
    entry = {"Config": _config_path(GOOD), "RepoTags": ["dyhaz/evil:1"], "Layers": ["l/layer.tar"]}
    entry.update(fields)
    return legacy_parts().json("manifest.json", [entry]).build()


def legacy_parts() -> ArchiveBuilder:
    return ArchiveBuilder().file("l/layer.tar", GOOD.layers[0]).file(_config_path(GOOD), GOOD.config)


def with_config(diff_ids: list[str]) -> bytes:
    config = image_config(diff_ids)
    return (
        ArchiveBuilder()
        .file("l/layer.tar", GOOD.layers[0])
        .file("c.json", config)
        .json("manifest.json", [{"Config": "c.json", "RepoTags": ["dyhaz/evil:1"], "Layers": ["l/layer.tar"]}])
        .build()
    )


def bad_blob_digest() -> bytes:
    b = oci_archive([(GOOD, {"io.containerd.image.name": "docker.io/dyhaz/evil:1"})])
    name, kind, data = next(e for e in b.entries if e[2] == GOOD.layers[0])
    b.entries = [(n, k, d) if n != name else (n, k, layer_tar({"other": b"o"})) for n, k, d in b.entries]
    return b.build()


def symlink_chain(links: dict[str, str]) -> bytes:
    b = ArchiveBuilder().file(_config_path(GOOD), GOOD.config).file("real/layer.tar", GOOD.layers[0])
    for name, target in links.items():
        b.symlink(name, target)
    return b.json("manifest.json", [{"Config": _config_path(GOOD), "RepoTags": ["dyhaz/evil:1"], "Layers": ["l/layer.tar"]}]).build()


def huge_manifest() -> bytes:
    entry = {"Config": _config_path(GOOD), "RepoTags": ["dyhaz/evil:1"] + [f"dyhaz/pad:{i}" for i in range(300_000)], "Layers": ["l/layer.tar"]}
    return legacy_parts().json("manifest.json", [entry]).build()


ROWS: list[tuple[str, Callable[[], bytes], str]] = [
    ("dotdot layer path", lambda: manifest_with(Layers=["../../etc/passwd"]), "points outside the archive"),
    ("absolute config path", lambda: manifest_with(Config="/etc/passwd"), "has an absolute path"),
    ("entry named with ..", lambda: ArchiveBuilder().file("../evil", b"x").build(), "points outside the archive"),
    ("absolute entry name", lambda: ArchiveBuilder().file("/abs/evil", b"x").build(), "has an absolute path"),
    ("symlink out of the archive", lambda: symlink_chain({"l/layer.tar": "../../../etc/passwd"}), "points outside the archive"),
    ("absolute symlink", lambda: symlink_chain({"l/layer.tar": "/etc/passwd"}), "points outside the archive"),
    ("symlink cycle", lambda: symlink_chain({"l/layer.tar": "../m/layer.tar", "m/layer.tar": "../l/layer.tar"}), "link cycle detected"),
    ("directory symlink cycle", lambda: symlink_chain({"l": "m", "m": "l"}), "link cycle detected"),
    ("duplicate entry", lambda: legacy_parts().file("l/layer.tar", GOOD.layers[0]).json("manifest.json", []).build(), "duplicate entry"),
    ("missing blobs listed", lambda: manifest_with(Layers=["l/layer.tar", "gone/layer.tar", "gone2/layer.tar"]), "missing blobs: gone/layer.tar, gone2/layer.tar"),
    ("missing config", lambda: manifest_with(Config="nope.json"), "missing blobs: nope.json"),
    ("too many diff_ids", lambda: with_config([sha(GOOD.layers[0]), sha(b"other")]), "layers length mismatch: expected 2, got 1"),
    ("diff_id mismatch", lambda: with_config([sha(b"other")]), "invalid diffID for layer 0"),
    ("blob bytes differ from their name", bad_blob_digest, "digest mismatch"),
    ("oversized manifest.json", huge_manifest, "exceeds the limit of 4194304 bytes"),
    ("trailing garbage after the archive", lambda: legacy_archive([GOOD]).build(trailing=b"\0" * 1024 + b"garbage"), "unexpected data after the end"),
    ("truncated archive", lambda: legacy_archive([GOOD]).build()[:3000], "unexpected EOF"),
    ("invalid tag", lambda: manifest_with(RepoTags=["dyhaz/Evil:1"]), "must be lowercase"),
    ("digest as a tag", lambda: manifest_with(RepoTags=["dyhaz/evil@" + sha(b"x")]), 'invalid tag "dyhaz/evil@'),
    ("layer that is not a tar", lambda: ArchiveBuilder().file("l/layer.tar", b"\x01" * 2000).file(_config_path(GOOD), GOOD.config)
        .json("manifest.json", [{"Config": _config_path(GOOD), "RepoTags": ["dyhaz/evil:1"], "Layers": ["l/layer.tar"]}]).build(), "layer l/layer.tar"),
    ("neither manifest.json nor index.json", lambda: ArchiveBuilder().file("x", b"y").build(), "neither manifest.json nor index.json"),
    ("not a tar at all", lambda: b"hello world" * 100, "invalid tar archive"),
]


@pytest.fixture
def seeded(store_root: Path, tmp_path: Path) -> Path:
    path = tmp_path / "base.tar"
    path.write_bytes(legacy_archive([BASE]).build())
    assert run_cli("load", "-i", str(path)).code == 0
    return store_root


def snapshot(root: Path) -> tuple[list[tuple[str, str]], list[str], list[str], list[str]]:
    with Store.open(root) as store:
        tags = [(t.name, t.image_id) for t in store.meta.all_tags()]
        images = [i.id for i in store.meta.list_images()]
        problems = [str(p) for p in store.check() if p.severity == "error"]
        ingests = [i.key for i in store.content.ingests()]
    return tags, images, problems, ingests


@pytest.mark.parametrize("name,make,message", ROWS, ids=[r[0] for r in ROWS])
def test_hostile_archive_is_refused(seeded, tmp_path, name, make, message):
    before = snapshot(seeded)
    path = tmp_path / "evil.tar"
    path.write_bytes(make())
    code, out, err = run_cli("load", "-i", str(path))
    assert code == 1
    assert out == ""
    assert message in err, err
    assert err.startswith("Error response from daemon: ")
    after = snapshot(seeded)
    assert after == before
    assert after[2] == [] and after[3] == []


@pytest.mark.parametrize("where", ["outer gzip", "gzip layer", "zstd layer", "plain layer"])
def test_decompression_bombs_are_capped(seeded, where):
    cap = 8 << 20
    big = 32 << 20
    if where == "outer gzip":
        data = gzip_bomb(big)
    else:
        huge_layer = layer_tar({"zeros": bytes(big)})
        kind = {"gzip layer": "gzip", "zstd layer": "zstd", "plain layer": None}[where]
        img = Img([huge_layer], ["dyhaz/bomb:1"], layer_compression=kind)
        data = legacy_archive([img]).build()
        if kind is None:
            data = compress(data, "gzip")  # small on disk, but more than the cap once read
    before = snapshot(seeded)
    with Store.open(seeded) as store, pytest.raises(Exception) as info:
        load(store, __import__("io").BytesIO(data), max_output=cap)
    assert "exceeds the limit" in str(info.value)
    assert snapshot(seeded) == before


def test_zstd_window_too_large_is_refused(seeded, tmp_path):
    import zstandard

    # Streamed without a content size, so the frame keeps declaring its 1 GiB window.
    params = zstandard.ZstdCompressionParameters(window_log=30, compression_level=3, write_content_size=False)
    writer = zstandard.ZstdCompressor(compression_params=params).compressobj()
    layer = writer.compress(GOOD.layers[0]) + writer.flush()
    img = Img(GOOD.layers, ["dyhaz/win:1"])
    b = ArchiveBuilder().file("l/layer.tar", layer).file(_config_path(img), img.config)
    b.json("manifest.json", [{"Config": _config_path(img), "RepoTags": ["dyhaz/win:1"], "Layers": ["l/layer.tar"]}])
    before = snapshot(seeded)
    path = tmp_path / "win.tar"
    path.write_bytes(b.build())
    code, _, err = run_cli("load", "-i", str(path))
    assert code == 1 and "window" in err
    assert snapshot(seeded) == before


def test_sigkill_during_load_then_retry(store_root, tmp_path):
    """Hazard 21: a load killed at random points leaves a consistent store; the retry succeeds."""
    rng = random.Random(7)
    layers = [layer_tar({f"f{i}": rng.randbytes(6 << 20)}) for i in range(4)]
    img = Img(layers, ["dyhaz/kill:1"])
    path = tmp_path / "big.tar"
    path.write_bytes(legacy_archive([img]).build())
    env = dict(os.environ)
    for delay in (0.05, 0.15, 0.3, 0.5):
        proc = subprocess.Popen([*DOCKYARD, "load", "-i", str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Store.open(store_root) as store:
            assert [p for p in store.check() if p.severity == "error"] == []
            tagged = store.meta.image_for_tag("docker.io/dyhaz/kill:1")
            assert tagged in (None, img.id)  # the tag comes with the whole image or not at all
            if tagged is None:
                assert not store.meta.image_exists(img.id)
    done = run_cli_process_binary("load", "-i", str(path), env=env)
    assert (done.code, done.out) == (0, b"Loaded image: dyhaz/kill:1\n")
    with Store.open(store_root) as store:
        assert [p for p in store.check() if p.severity == "error"] == []
        # What a killed load left is an unlocked ingest under its (expiring) lease: info for check(), and
        # gc's to take once the lease has expired; never a blob under a wrong name or a partial image.
        assert all(not info.locked and info.key.startswith("load/") for info in store.content.ingests())
        assert store.meta.image_for_tag("docker.io/dyhaz/kill:1") == img.id


def test_load_after_failure_leaves_only_gc_able_blobs(seeded):
    """A failure after some layers were stored: they stay unreferenced under no lease, and gc takes them."""
    data = manifest_with(Layers=["l/layer.tar", "gone/layer.tar"])
    with Store.open(seeded) as store:
        with pytest.raises(Exception):
            load(store, __import__("io").BytesIO(data))
        assert store.content.has(__import__("dockyard.digest", fromlist=["Digest"]).Digest.parse(sha(GOOD.layers[0])))
        store.gc()
        assert not store.content.has(__import__("dockyard.digest", fromlist=["Digest"]).Digest.parse(sha(GOOD.layers[0])))
        assert [str(p) for p in store.check() if p.severity == "error"] == []
        assert json.dumps([t.name for t in store.meta.all_tags()]) == '["docker.io/dyhaz/pre:1"]'
