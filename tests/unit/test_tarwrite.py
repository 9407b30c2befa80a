"""Writing directory trees as deterministic tars, and reading them back through apply_layer."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockyard.layers.apply import apply_layer
from dockyard.layers.scan import TarStream
from dockyard.layers.tarwrite import write_tree_tar

pytestmark = pytest.mark.unit

LONG = "long-" + "x" * 150


def build_tree(root: Path, outside: Path) -> None:
    (root / "b-dir" / "nested").mkdir(parents=True)
    (root / "a-file").write_bytes(b"A" * 1000)
    (root / "a-file").chmod(0o4755)
    (root / "b-dir" / "nested" / "deep").write_bytes(b"deep")
    (root / "b-dir" / "hard").write_bytes(b"shared")
    os.link(root / "b-dir" / "hard", root / "z-hard")
    os.link(root / "b-dir" / "hard", root / "c-hard")
    (root / "empty-dir").mkdir(mode=0o700)
    (root / "empty-dir").chmod(0o700)
    (root / "escape").symlink_to(outside)  # must be stored as a link, never followed
    (root / "rel").symlink_to("../b-dir/nested/deep")
    os.mkfifo(root / "fifo", 0o640)
    (root / "ünïcode").write_text("u")
    (root / LONG).write_text("long")
    os.utime(root / "a-file", ns=(1_700_000_000_987_654_321, 1_700_000_000_987_654_321))
    if os.geteuid() == 0:
        os.chown(root / "a-file", 4_000_000, 12)  # too big for ustar's octal field: needs PAX
        (root / "a-file").chmod(0o4755)  # chown cleared setuid


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("do not archive me")
    build_tree(root, outside)
    return root


def tar_bytes(root: Path, **kw) -> bytes:
    sink = io.BytesIO()
    write_tree_tar(root, sink, **kw)
    return sink.getvalue()


def test_deterministic_and_go_shaped(tree: Path) -> None:
    first, second = tar_bytes(tree), tar_bytes(tree)
    assert first == second
    assert first.endswith(bytes(1024)) and len(first) % 512 == 0
    assert not first[:-1024].endswith(bytes(512))  # no padding past the two end blocks
    assert b"do not archive me" not in first

    members = tarfile.open(fileobj=io.BytesIO(first)).getmembers()
    names = [m.name for m in members]
    assert names == [
        "a-file", "b-dir", "b-dir/hard", "b-dir/nested", "b-dir/nested/deep", "c-hard", "empty-dir",
        "escape", "fifo", LONG, "rel", "z-hard", "ünïcode",
    ]
    by_name = {m.name: m for m in members}
    assert by_name["c-hard"].islnk() and by_name["c-hard"].linkname == "b-dir/hard"
    assert by_name["z-hard"].islnk() and by_name["z-hard"].linkname == "b-dir/hard"
    assert by_name["escape"].issym() and by_name["escape"].linkname == str(tree.parent / "outside")
    assert by_name["fifo"].isfifo()
    assert by_name["a-file"].mtime == 1_700_000_000  # truncated to seconds
    assert all(m.uname == "" and m.gname == "" for m in members)
    assert by_name["a-file"].mode & 0o7777 == 0o4755
    assert by_name["a-file"].uid == (4_000_000 if os.geteuid() == 0 else os.geteuid())

    raw = {e.name: e for e in TarStream(io.BytesIO(first)).entries()}
    assert "b-dir/" in raw and "empty-dir/" in raw  # directories carry a trailing slash


def test_mode_field_has_go_type_bits(tree: Path) -> None:
    blob = tar_bytes(tree)
    modes = {}
    offset = 0
    while blob[offset : offset + 512] != bytes(512):
        header = blob[offset : offset + 512]
        typeflag = header[156:157]
        size = int(header[124:136].strip(b"\0 ") or b"0", 8)
        if typeflag != b"x":
            name = header[:100].rstrip(b"\0").decode()
            modes[name] = int(header[100:108].strip(b"\0 "), 8)
            assert int(header[148:155].strip(b"\0 "), 8) == sum(header[:148]) + 256 + sum(header[156:])
        offset += 512 + -(-size // 512) * 512
    assert modes["a-file"] == 0o104755
    assert modes["b-dir/"] == 0o40755
    assert modes["rel"] & 0o170000 == 0o120000
    assert modes["fifo"] == 0o10640
    assert modes["c-hard"] & 0o170000 == 0o100000


def test_mtime_clamp(tree: Path) -> None:
    members = tarfile.open(fileobj=io.BytesIO(tar_bytes(tree, mtime_clamp=1000))).getmembers()
    assert {m.mtime for m in members} == {1000}


def snapshot(root: Path) -> dict[str, tuple]:
    seen = {}
    inodes: dict[int, str] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        rel = str(p.relative_to(root))
        link_group = inodes.setdefault(st.st_ino, rel) if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode) else None
        body = os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() and not p.is_symlink() else None
        seen[rel] = (st.st_mode, st.st_uid, st.st_gid, int(st.st_mtime), link_group, body)
    return seen


def test_round_trip_through_apply(tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    blob = tar_bytes(tree)
    apply_layer(io.BytesIO(blob), copy)
    assert snapshot(copy) == snapshot(tree)
    # And the copy tars to the very same bytes.
    assert tar_bytes(copy) == blob


def test_empty_tree(tmp_path: Path) -> None:
    assert tar_bytes(tmp_path) == bytes(1024)
