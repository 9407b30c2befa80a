"""Change sets between two trees: the entries emitted, and that applying them reproduces the upper tree."""

from __future__ import annotations

import io
import os
import shutil
import stat
from pathlib import Path

import pytest

from dockyard.layers.apply import apply_layer
from dockyard.layers.diff import write_changes
from dockyard.layers.scan import TarStream
from dockyard.layers.tarwrite import write_tree_tar

pytestmark = pytest.mark.unit


def make_lower(root: Path) -> None:
    for d in ("etc", "usr/lib/deep", "gone/sub", "var/cache", "swap-to-file", "untouched/a"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")
    (root / "etc/removed").write_text("bye")
    (root / "etc/mode").write_text("m")
    (root / "etc/link").symlink_to("hosts")
    (root / "usr/lib/deep/lib.so").write_bytes(b"\x7fELF")
    (root / "gone/sub/x").write_text("x")
    (root / "swap-to-file/inner").write_text("i")
    (root / "swap-to-dir").write_text("file")
    (root / "untouched/a/b").write_text("b")
    for p in root.rglob("*"):
        os.utime(p, (1_600_000_000, 1_600_000_000), follow_symlinks=False)


def make_upper(lower: Path, upper: Path) -> None:
    shutil.copytree(lower, upper, symlinks=True)
    (upper / "etc/hosts").write_text("127.0.0.1 localhost changed\n")
    (upper / "etc/removed").unlink()
    (upper / "etc/mode").chmod(0o600)
    (upper / "etc/link").unlink()
    (upper / "etc/link").symlink_to("elsewhere")
    (upper / "usr/lib/deep/new.so").write_text("new")
    os.link(upper / "usr/lib/deep/new.so", upper / "usr/lib/deep/new-hard.so")
    shutil.rmtree(upper / "gone")
    shutil.rmtree(upper / "swap-to-file")
    (upper / "swap-to-file").write_text("now a file")
    (upper / "swap-to-dir").unlink()
    (upper / "swap-to-dir" / "child").mkdir(parents=True)
    (upper / "swap-to-dir" / "child" / "f").write_text("f")
    (upper / "brand-new").mkdir()


def names(blob: bytes) -> list[str]:
    return [e.name for e in TarStream(io.BytesIO(blob)).entries()]


def snapshot(root: Path) -> dict[str, tuple]:
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        body = os.readlink(p) if p.is_symlink() else p.read_bytes() if stat.S_ISREG(st.st_mode) else None
        out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, body)
    return out


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    make_lower(lower)
    make_upper(lower, upper)
    return lower, upper


def test_entries_of_the_change_set(trees: tuple[Path, Path]) -> None:
    lower, upper = trees
    sink = io.BytesIO()
    write_changes(lower, upper, sink)
    assert names(sink.getvalue()) == [
        "brand-new/",
        "etc/",
        "etc/hosts",
        "etc/link",
        "etc/mode",
        "etc/.wh.removed",
        ".wh.gone",
        "swap-to-dir/",
        "swap-to-dir/child/",
        "swap-to-dir/child/f",
        "swap-to-file",
        "usr/",
        "usr/lib/",
        "usr/lib/deep/",
        "usr/lib/deep/new-hard.so",
        "usr/lib/deep/new.so",
    ]
    entries = {e.name: e for e in TarStream(io.BytesIO(sink.getvalue())).entries()}
    assert entries["usr/lib/deep/new.so"].type == "1"  # second path of the inode in sorted order
    assert entries["usr/lib/deep/new.so"].linkname == "usr/lib/deep/new-hard.so"
    assert entries[".wh.gone"].mtime_ns == 0 and entries[".wh.gone"].size == 0


def test_applying_the_changes_reproduces_upper(trees: tuple[Path, Path], tmp_path: Path) -> None:
    lower, upper = trees
    base, changes = io.BytesIO(), io.BytesIO()
    write_tree_tar(lower, base)
    write_changes(lower, upper, changes)
    target = tmp_path / "target"
    target.mkdir()
    apply_layer(io.BytesIO(base.getvalue()), target)
    apply_layer(io.BytesIO(changes.getvalue()), target)
    assert snapshot(target) == snapshot(upper)


def test_identical_trees_give_an_empty_layer(trees: tuple[Path, Path]) -> None:
    lower, _ = trees
    sink = io.BytesIO()
    assert write_changes(lower, lower, sink) == 0
    assert sink.getvalue() == bytes(1024)
