"""What every hazard test shares: a store seeded with an image that must survive, and its state."""

from __future__ import annotations

from pathlib import Path

from dockyard.cli.main import run
from dockyard.store import Store
from tests.helpers.archives import Img, layer_tar, legacy_archive

BASE = Img([layer_tar({"base": b"base"})], ["dyhz/pre:1"])


def seed(store_root: Path, tmp_path: Path) -> None:
    """A store that already holds a tagged image (what must survive every hazard)."""
    path = tmp_path / "seed.tar"
    path.write_bytes(legacy_archive([BASE]).build())
    assert run("dockyard", ["load", "-q", "-i", str(path)]) == 0


def state(root: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """Tags and images, after asserting the store passes its own check."""
    with Store.open(root) as store:
        assert [str(p) for p in store.check() if p.severity == "error"] == []
        return sorted((t.name, t.image_id) for t in store.meta.all_tags()), sorted(
            i.id for i in store.meta.list_images())
