"""``dockyard system check``: a healthy store passes; a damaged blob is named and the exit code is 1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.cli.main import run
from dockyard.store import Store
from tests.unit.test_listing import make_image

pytestmark = pytest.mark.integration


def dy(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run("dockyard", list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_empty_store(store_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dy(capsys, "system", "check") == (0, "checked 0 blobs, 0 images: no problems found\n", "")


def test_healthy_store(store_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open(store_root) as store:
        make_image(store, layers=[{"a": b"1"}, {"b": b"2"}], tags=("x",))
    assert dy(capsys, "system", "check") == (0, "checked 3 blobs, 1 image: no problems found\n", "")


def test_truncated_blob(store_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open(store_root) as store:
        make_image(store, layers=[{"a": b"1" * 5000}], tags=("x",))
        layer = store.meta.list_images()[0].layers[0].blob
        path = store.content.path(layer)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.truncate(100)
    code, out, err = dy(capsys, "system", "check")
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert any(line.startswith(f"error: corrupt-blob: {layer}: content hashes to ") for line in lines), lines
    assert lines[-1].startswith("checked 2 blobs, 1 image: ")
    assert "error" in lines[-1]
