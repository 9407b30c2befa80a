"""Applying layers safely: the escape table (hazards 1–6, formats.md §9.3), whiteouts, metadata, busybox."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard import errors
from dockyard.layers.apply import apply_layer, clean_name

pytestmark = pytest.mark.unit

Entry = Callable[[tarfile.TarFile], None]


def f(name: str, data: bytes = b"data", mode: int = 0o644, **attrs) -> Entry:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        for key, value in attrs.items():
            setattr(info, key, value)
        tar.addfile(info, io.BytesIO(data))
    return add


def special(name: str, type: bytes, linkname: str = "", mode: int = 0o755, **attrs) -> Entry:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode = type, linkname, mode
        for key, value in attrs.items():
            setattr(info, key, value)
        tar.addfile(info)
    return add


def d(name: str, mode: int = 0o755, **attrs) -> Entry:
    return special(name, tarfile.DIRTYPE, mode=mode, **attrs)


def sym(name: str, target: str) -> Entry:
    return special(name, tarfile.SYMTYPE, target, mode=0o777)


def hard(name: str, target: str, mode: int = 0o644) -> Entry:
    return special(name, tarfile.LNKTYPE, target, mode=mode)


def layer(*entries: Entry) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for add in entries:
            add(tar)
    return buf.getvalue()


def snapshot(top: Path, skip: Path) -> dict[str, tuple]:
    """Everything under ``top`` except ``skip``: type, mode, owner, mtime, content or link target."""
    seen: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        dirnames[:] = [n for n in dirnames if here / n != skip]
        for name in dirnames + filenames:
            p = here / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                body: object = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                body = p.read_bytes()
            else:
                body = None
            seen[str(p.relative_to(top))] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_nlink, body)
    return seen


@pytest.fixture
def world(tmp_path: Path):
    """A target root beside a sentinel directory that nothing may touch."""
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("sentinel\n")
    (outside / "passwd").chmod(0o600)
    (outside / "dir").mkdir()
    (outside / "dir" / "keep").write_text("keep\n")
    before = snapshot(tmp_path, root)

    class World:
        def __init__(self) -> None:
            self.root, self.outside = root, outside

        def apply(self, blob: bytes, **kw):
            return apply_layer(io.BytesIO(blob), root, **kw)

        def untouched(self) -> None:
            assert snapshot(tmp_path, root) == before

        def inside(self, absolute: Path) -> Path:
            """Where an absolute host path lands when re-rooted at the target."""
            return root / str(absolute).lstrip("/")

    return World()


# --- names -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("a/b", ("a", "b")),
        ("./a/b/", ("a", "b")),
        ("/a//b", ("a", "b")),
        ("//a", ("a",)),
        ("/../a", ("a",)),
        ("a/../b", ("b",)),
        (".", ()),
        ("./", ()),
        ("/", ()),
        ("", ()),
    ],
)
def test_clean_name(name: str, parts: tuple[str, ...]) -> None:
    assert clean_name(name) == parts


@pytest.mark.parametrize("name", ["..", "../x", "a/../../x", "./../x", "a/b/../../../x"])
def test_clean_name_refuses_breakouts(name: str) -> None:
    with pytest.raises(errors.BreakoutError):
        clean_name(name)


# --- the escape table --------------------------------------------------------------------------------

def test_absolute_symlink_parent_is_rerooted(world) -> None:
    # `a -> /etc` + `a/passwd`, with the sentinel standing in for /etc.
    world.apply(layer(sym("a", str(world.outside)), f("a/passwd", b"evil\n")))
    world.untouched()
    assert (world.inside(world.outside) / "passwd").read_bytes() == b"evil\n"
    assert os.readlink(world.root / "a") == str(world.outside)  # stored verbatim


def test_relative_symlink_parent_is_clamped(world) -> None:
    # `a -> ../../..` + `a/x`: `..` stops at the root.
    world.apply(layer(sym("a", "../../.."), f("a/x", b"x")))
    world.untouched()
    assert (world.root / "x").read_bytes() == b"x"


def test_relative_symlink_to_the_sentinel_stays_inside(world) -> None:
    world.apply(layer(sym("a", "../outside"), f("a/passwd", b"evil")))
    world.untouched()
    assert (world.root / "outside" / "passwd").read_bytes() == b"evil"


def test_symlink_in_a_lower_layer_then_write_through_it(world) -> None:
    world.apply(layer(sym("etc", str(world.outside))))
    world.apply(layer(f("etc/passwd", b"evil")))
    world.untouched()
    assert (world.inside(world.outside) / "passwd").read_bytes() == b"evil"


def test_symlink_chain_and_loop(world) -> None:
    world.apply(layer(sym("a", "b"), sym("b", "../c/.."), d("c"), f("a/x", b"1")))
    world.untouched()
    assert (world.root / "x").read_bytes() == b"1"
    with pytest.raises(errors.DataCorrupt):
        world.apply(layer(sym("l1", "l2"), sym("l2", "l1"), f("l1/x")))
    world.untouched()


@pytest.mark.parametrize("name", ["../x", "../outside/passwd", "a/../../x", "./../outside/new"])
def test_relative_breakout_name_fails(world, name: str) -> None:
    with pytest.raises(errors.BreakoutError):
        world.apply(layer(f(name, b"evil")))
    world.untouched()


def test_absolute_name_is_root_relative(world) -> None:
    world.apply(layer(f("/abs/x", b"abs"), f(str(world.outside / "passwd"), b"evil")))
    world.untouched()
    assert (world.root / "abs" / "x").read_bytes() == b"abs"
    assert (world.inside(world.outside) / "passwd").read_bytes() == b"evil"


@pytest.mark.parametrize("target", ["../../etc/shadow", "../outside/passwd", "a/../../outside/passwd"])
def test_hardlink_breakout_fails(world, target: str) -> None:
    with pytest.raises(errors.BreakoutError):
        world.apply(layer(hard("h", target)))
    world.untouched()


def test_hardlink_to_an_absolute_host_path_resolves_inside(world) -> None:
    # The host file exists, the in-root one does not: the link must fail, not reach the host.
    with pytest.raises(errors.DataCorrupt):
        world.apply(layer(hard("h", str(world.outside / "passwd"))))
    world.untouched()


def test_hardlink_through_a_symlinked_directory_resolves_inside(world) -> None:
    with pytest.raises(errors.DataCorrupt):
        world.apply(layer(sym("s", str(world.outside)), hard("h", "s/passwd")))
    world.untouched()
    # With an in-root file at the re-rooted place, the link is made to that file.
    world.apply(layer(f(str(world.outside / "passwd"), b"inner"), hard("h2", "s/passwd")))
    world.untouched()
    assert (world.root / "h2").read_bytes() == b"inner"
    assert (world.root / "h2").stat().st_ino == world.inside(world.outside / "passwd").stat().st_ino


def test_hardlink_to_a_symlink_then_chmod_cve_2021_32760(world) -> None:
    sentinel = world.outside / "passwd"
    world.apply(layer(sym("s", str(sentinel)), hard("h", "s", mode=0o777)))
    world.untouched()  # mode, owner and mtime of the host file unchanged
    assert os.readlink(world.root / "h") == str(sentinel)
    assert (world.root / "h").lstat().st_ino == (world.root / "s").lstat().st_ino


def test_existing_symlink_is_replaced_not_written_through(world) -> None:
    world.apply(layer(sym("f", str(world.outside / "passwd")), sym("d", str(world.outside / "dir"))))
    world.apply(layer(f("f", b"new", mode=0o777), d("d", mode=0o700), f("d/x", b"in")))
    world.untouched()
    assert stat.S_ISREG((world.root / "f").lstat().st_mode)
    assert (world.root / "f").read_bytes() == b"new"
    assert stat.S_ISDIR((world.root / "d").lstat().st_mode)
    assert (world.root / "d" / "x").read_bytes() == b"in"


def test_whiteout_through_a_symlinked_parent_stays_inside(world) -> None:
    inner = world.inside(world.outside)
    world.apply(layer(sym("a", str(world.outside)), f(str(world.outside / "passwd"), b"inner")))
    assert (inner / "passwd").exists()
    world.apply(layer(f("a/.wh.passwd", b""), f("a/.wh.dir", b"")))
    world.untouched()
    assert not (inner / "passwd").exists()


def test_dot_as_a_symlink_cve_2021_29136(world) -> None:
    world.apply(layer(sym(".", str(world.outside)), sym("./", ".."), f("x", b"x")))
    world.untouched()
    assert stat.S_ISDIR(world.root.lstat().st_mode)
    assert (world.root / "x").read_bytes() == b"x"


@pytest.mark.parametrize("name", [".wh...", "a/.wh...", "a/b/.wh.."])
def test_whiteout_of_dot_dot_fails(world, name: str) -> None:
    world.apply(layer(d("a"), d("a/b"), f("a/b/c")))
    with pytest.raises(errors.BreakoutError):
        world.apply(layer(f(name, b"")))
    world.untouched()
    assert (world.root / "a" / "b" / "c").exists()


def test_bare_whiteout_is_an_error(world) -> None:
    with pytest.raises(errors.DataCorrupt):
        world.apply(layer(f("a/.wh.", b"")))
    world.untouched()


# --- whiteouts ---------------------------------------------------------------------------------------

def lower(world) -> None:
    world.apply(layer(d("d"), f("d/old"), d("d/sub"), f("d/sub/oldest"), f("keep"), d("gone"), f("gone/x")))


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_explicit_whiteouts_remove_lower_entries(world) -> None:
    lower(world)
    stats = world.apply(layer(f(".wh.gone", b""), f("d/.wh.old", b""), f("d/.wh.missing", b"")))
    assert listing(world.root) == ["d", "d/sub", "d/sub/oldest", "keep"]
    assert stats.whiteouts == 3
    world.untouched()


def test_whiteout_does_not_remove_this_layers_entry(world) -> None:
    world.apply(layer(f("n", b"new"), f(".wh.n", b"")))
    assert (world.root / "n").read_bytes() == b"new"


def test_opaque_marker_before_new_entries(world) -> None:
    lower(world)
    world.apply(layer(d("d"), f("d/.wh..wh..opq", b""), f("d/new")))
    assert listing(world.root) == ["d", "d/new", "gone", "gone/x", "keep"]


def test_opaque_marker_after_new_entries(world) -> None:
    lower(world)
    world.apply(layer(d("d"), f("d/new"), d("d/sub"), f("d/sub/n2"), f("d/.wh..wh..opq", b"")))
    # Entries of this layer stay wherever the marker sits; lower ones go, at any depth.
    assert listing(world.root) == ["d", "d/new", "d/sub", "d/sub/n2", "gone", "gone/x", "keep"]


def test_aufs_metadata_is_skipped(world) -> None:
    stats = world.apply(layer(f(".wh..wh.plnk", b""), d(".wh..wh.orph")))
    assert listing(world.root) == []
    assert stats.skipped == 2


def test_whiteouts_are_never_extracted(world) -> None:
    world.apply(layer(d("d"), f("d/.wh.x", b""), f("d/.wh..wh..opq", b"")))
    assert listing(world.root) == ["d"]


# --- replacement and metadata ------------------------------------------------------------------------

def test_replacements_between_types(world) -> None:
    world.apply(layer(d("a"), f("a/x"), f("b"), sym("c", "b")))
    world.apply(layer(f("a", b"file now"), d("b"), f("c", b"plain")))
    assert (world.root / "a").read_bytes() == b"file now"
    assert stat.S_ISDIR((world.root / "b").lstat().st_mode)
    assert (world.root / "c").read_bytes() == b"plain"


def test_existing_directory_is_merged(world) -> None:
    world.apply(layer(d("a"), f("a/x")))
    world.apply(layer(d("a", mode=0o700), f("a/y")))
    assert listing(world.root) == ["a", "a/x", "a/y"]
    assert stat.S_IMODE((world.root / "a").stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership needs root")
def test_metadata_is_applied(world) -> None:
    blob = layer(
        d("dir", mode=0o555, mtime=1_000_000),
        f("dir/suid", b"#!", mode=0o4755, uid=1234, gid=5678, mtime=2_000_000),
        sym("dir/link", "suid"),
        special("dir/fifo", tarfile.FIFOTYPE, mode=0o640, mtime=3_000_000),
        special("dir/hard", tarfile.LNKTYPE, "dir/suid", mode=0o4755, uid=1234, gid=5678, mtime=2_000_000),
    )
    stats = world.apply(blob)
    st = (world.root / "dir" / "suid").stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (0o4755, 1234, 5678, 2_000_000)
    assert st.st_nlink == 2
    dst = (world.root / "dir").stat()
    assert (stat.S_IMODE(dst.st_mode), dst.st_mtime) == (0o555, 1_000_000)  # set after its children
    fifo = (world.root / "dir" / "fifo").lstat()
    assert stat.S_ISFIFO(fifo.st_mode) and stat.S_IMODE(fifo.st_mode) == 0o640
    assert os.readlink(world.root / "dir" / "link") == "suid"
    assert stats.warnings == []
    assert stats.entries == 5
    assert stats.diff_id.hex == hashlib.sha256(blob).hexdigest()


def test_rootless_skips_devices_and_ownership(world) -> None:
    blob = layer(
        special("null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        f("owned", b"x", uid=4321, gid=4321),
        f("mine", b"y"),
    )
    stats = world.apply(blob, rootless=True)
    assert not (world.root / "null").exists()
    assert (world.root / "owned").read_bytes() == b"x"
    assert (world.root / "owned").stat().st_uid == os.geteuid()
    assert stats.skipped == 1
    assert len(stats.warnings) == 2  # one for devices, one for ownership, each said once


@pytest.mark.skipif(os.geteuid() != 0, reason="device nodes need root")
def test_device_nodes_as_root(world) -> None:
    try:
        os.mknod(world.outside.parent / "probe", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("no CAP_MKNOD here")
    os.unlink(world.outside.parent / "probe")
    world.apply(layer(special("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)))
    st = (world.root / "dev" / "null").lstat()
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(st.st_mode) == 0o666


def test_xattrs_are_applied_or_warned(world) -> None:
    blob = layer(f("x", b"x", pax_headers={"SCHILY.xattr.user.dockyard": "yes"}))
    stats = world.apply(blob)
    try:
        value = os.getxattr(world.root / "x", "user.dockyard")
    except OSError:
        assert any("user.dockyard" in w for w in stats.warnings)
    else:
        assert value == b"yes"


def test_trailing_bytes_are_drained_into_the_diff_id(world) -> None:
    blob = layer(f("a")) + b"junk after the end" * 100
    stream = io.BytesIO(blob)
    stats = apply_layer(stream, world.root)
    assert stream.read() == b""
    assert stats.diff_id.hex == hashlib.sha256(blob).hexdigest()
    assert stats.size == len(blob)


def test_unknown_entry_type_is_unsupported(world) -> None:
    with pytest.raises(errors.Unsupported):
        world.apply(layer(special("weird", b"Z")))


# --- a real rootfs -----------------------------------------------------------------------------------

def test_busybox_layer_runs(busybox_tar: Path, tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    root.mkdir()
    with busybox_tar.open("rb") as stream:
        stats = apply_layer(stream, root)
    assert stats.diff_id.hex == hashlib.sha256(busybox_tar.read_bytes()).hexdigest()
    assert os.readlink(root / "bin" / "sh") == "busybox"
    assert stat.S_IMODE((root / "tmp").stat().st_mode) == 0o1777
    result = subprocess.run([str(root / "bin" / "busybox"), "true"], timeout=30)
    assert result.returncode == 0
    out = subprocess.run([str(root / "bin" / "sh"), "-c", "echo from-the-tree"], capture_output=True, timeout=30)
    assert out.stdout == b"from-the-tree\n"
