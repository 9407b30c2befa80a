"""``dockyard system check``: a healthy store passes; a damaged blob is named and the exit code is 1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.cli import run_cli
from tests.helpers.images import make_image

pytestmark = pytest.mark.integration


def test_empty_store(store_root: Path) -> None:
    assert run_cli("system", "check") == (0, "checked 0 blobs, 0 images: no problems found\n", "")


def test_healthy_store(store_root: Path) -> None:
    with Store.open(store_root) as store:
        make_image(store, layers=[{"a": b"1"}, {"b": b"2"}], tags=("x",))
    assert run_cli("system", "check") == (0, "checked 3 blobs, 1 image: no problems found\n", "")


def test_truncated_blob(store_root: Path) -> None:
    with Store.open(store_root) as store:
        make_image(store, layers=[{"a": b"1" * 5000}], tags=("x",))
        layer = store.meta.list_images()[0].layers[0].blob
        path = store.content.path(layer)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.truncate(100)
    code, out, err = run_cli("system", "check")
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert any(line.startswith(f"error: corrupt-blob: {layer}: content hashes to ") for line in lines), lines
    assert lines[-1].startswith("checked 2 blobs, 1 image: ")
    assert "error" in lines[-1]
