"""The tree view of ``dockyard images``: fixed-width layout, untagged rows, children, flag conflicts."""

from __future__ import annotations


import pytest

from dockyard.cli.tree import Child, Details, TopRow, render_tree
from dockyard.digest import Digest
from dockyard.store import ManifestRecord, Store
from tests.helpers.cli import run_cli
from tests.helpers.images import make_image

pytestmark = pytest.mark.integration


ID = "sha256:" + "0123456789ab" + "c" * 52


def test_layout_fixed_widths() -> None:
    rows = [
        TopRow("busybox:latest", Details(ID, "4.98MB", "2.1MB", False)),
        TopRow(None, Details(ID, "100B", "10.5kB", True)),
    ]
    text = render_tree(rows, width=80, tty=False, expanded=False)
    assert text == (
        "IMAGE            ID             DISK USAGE   CONTENT SIZE   EXTRA\n"
        "busybox:latest   0123456789ab       4.98MB          2.1MB        \n"
        "<untagged>       0123456789ab         100B         10.5kB   U    \n"
    )


def test_expanded_children_and_spacing() -> None:
    kids = [Child("linux/amd64", True, Details(ID, "1MB", "500kB", False)),
            Child("linux/arm64/v8", False, Details("sha256:" + "f" * 64, "0B", "0B", False))]
    rows = [TopRow("multi:1", Details(ID, "1MB", "500kB", False), kids),
            TopRow("single:1", Details(ID, "2MB", "1MB", False))]
    text = render_tree(rows, width=80, tty=False, expanded=True)
    assert text == (
        "IMAGE" + " " * 19 + "ID             DISK USAGE   CONTENT SIZE   EXTRA\n"
        "multi:1" + " " * 17 + "0123456789ab          1MB          500kB        \n"
        "├─ linux/amd64" + " " * 10 + "0123456789ab          1MB          500kB        \n"
        "└─ linux/arm64/v8" + " " * 7 + "ffffffffffff           0B             0B        \n"
        "\n"
        "single:1" + " " * 16 + "0123456789ab          2MB            1MB        \n"
        "\n"
    )
    # collapsed: no children, no spacing
    assert render_tree(rows, width=80, tty=False, expanded=False).count("\n") == 3


def test_narrow_terminal_drops_columns() -> None:
    rows = [TopRow("a:1", Details(ID, "1MB", "1MB", False))]
    text = render_tree(rows, width=40, tty=False, expanded=False)
    assert text.splitlines()[0] == "IMAGE   ID             DISK USAGE"


def test_legend_and_colours_only_on_terminal() -> None:
    rows = [TopRow("a:1", Details(ID, "1MB", "1MB", True))]
    text = render_tree(rows, width=60, tty=True, expanded=False)
    first = text.splitlines()[0]
    assert first == " " * (60 - len("Info -> U In Use")) + "Info -> U In Use"
    assert "\x1b[" in text
    assert "Info" not in render_tree(rows, width=60, tty=False, expanded=False)


def test_tree_cli(store: Store) -> None:
    amd = make_image(store, created=200, tags=("multi:1", "alias:x"), salt="amd")
    arm = make_image(store, created=100, arch="arm64", salt="arm")
    make_image(store, created=300, salt="untagged")
    with store.lease():
        m_amd = store.content.put_bytes(b'{"a":1}')
        m_arm = store.content.put_bytes(b'{"b":2}')
        index = store.content.put_bytes(b'{"i":3}')
        store.meta.add_manifest(ManifestRecord(m_amd, "application/vnd.oci.image.manifest.v1+json", 7, "linux/amd64"), amd)
        store.meta.add_manifest(ManifestRecord(m_arm, "application/vnd.oci.image.manifest.v1+json", 7, "linux/arm64"), arm)
        store.meta.add_manifest(ManifestRecord(index, "application/vnd.oci.image.index.v1+json", 7, None,
                                               (m_amd, m_arm, Digest.parse("sha256:" + "d" * 64))), amd)
    store.meta.add_container("c1", arm, "user")
    code, out, err = run_cli("images", "--tree")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    # IMAGE is 18 wide: "├─ linux/amd64" measured in bytes, as docker measures it
    assert lines[0] == "IMAGE" + " " * 16 + "ID             DISK USAGE   CONTENT SIZE   EXTRA"
    assert lines[1].startswith("alias:x" + " " * 14 + amd[7:19])
    assert lines[1].endswith("   U    ")  # a platform of it is used by a container
    assert lines[2].startswith("├─ linux/amd64" + " " * 7 + amd[7:19])
    assert lines[3].startswith("├─ linux/arm64" + " " * 7 + arm[7:19])
    assert lines[3].endswith("U    ")
    assert lines[4].startswith("└─ unknown" + " " * 11 + "dddddddddddd")
    assert lines[6].startswith("multi:1")
    assert "<untagged>" not in out  # hidden without -a
    out = run_cli("images", "--tree", "-a")[1]
    assert out.count("<untagged>") == 2  # the arm64 image and the untagged one, after the tagged rows
    assert out.index("<untagged>") > out.index("multi:1")


@pytest.mark.parametrize(
    ("flag", "message"),
    [("-q", "--quiet is not yet supported with --tree"),
     ("--no-trunc", "--no-trunc is not yet supported with --tree"),
     ("--digests", "--show-digest is not yet supported with --tree"),
     ("--format=json", "--format is not yet supported with --tree")],
)
def test_tree_refuses_flags(store: Store, flag: str, message: str) -> None:
    assert run_cli("images", "--tree", flag) == (1, "", message + "\n")
