"""docker's tabwriter: column widths, column blocks, wide characters, trailing padding."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.render.tabwriter import TabWriter, display_width, tabulate

pytestmark = pytest.mark.unit


def test_docker_images_header_widths() -> None:
    text = "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n" "example.com:443/a/b/cd\tc\tfba402293dc5\t11 seconds ago\t1.98MB\n"
    assert tabulate(text) == (
        "REPOSITORY               TAG       IMAGE ID       CREATED          SIZE\n"
        "example.com:443/a/b/cd   c         fba402293dc5   11 seconds ago   1.98MB\n"
    )


def test_columns_have_a_minimum_width_of_ten() -> None:
    assert tabulate("a\tb\n") == "a         b\n"


def test_last_cell_is_never_padded() -> None:
    out = tabulate("x\tshort\ny\ta much longer last cell\n")
    assert out == "x         short\ny         a much longer last cell\n"


def test_empty_last_cell_leaves_trailing_padding() -> None:
    out = tabulate("NAME\tSTARS\tOFFICIAL\nsomeone/busybox-long\t12\t\n")
    assert out.splitlines()[1] == "someone/busybox-long   12        "


def test_text_without_final_newline_is_kept_unterminated() -> None:
    assert tabulate("a\tb\nc\td") == "a         b\nc         d"


def test_a_line_with_fewer_cells_splits_the_column_block() -> None:
    # column 1 is a block only over lines that have a TAB-terminated second cell
    text = "a\tbbbbbbbbbbbbbbb\tc\nx\n" "d\te\tf\n"
    assert tabulate(text) == (
        "a         bbbbbbbbbbbbbbb   c\n"
        "x\n"
        "d         e         f\n"
    )


def test_go_documentation_example_blocks() -> None:
    # Go's doc example: b and c are in distinct columns because the b column is not contiguous
    text = "aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n"
    assert tabulate(text) == (
        "aaaa      bbb       d\n"
        "aa        b         dd\n"
        "a         \n"
        "aa        cccc      eee\n"
    )


def test_inner_block_width_is_local_to_its_lines() -> None:
    # the second column's first block (lines 1-2) is wide; after line 3 breaks it, it is narrow again
    text = "a\t" + "w" * 20 + "\tx\nb\ty\tz\nc\td\ne\tf\tg\n"
    lines = tabulate(text).splitlines()
    assert lines[0] == "a         " + "w" * 20 + "   x"
    assert lines[1] == "b         y" + " " * 22 + "z"
    assert lines[2] == "c         d"
    assert lines[3] == "e         f         g"


def test_first_column_spans_lines_with_different_cell_counts() -> None:
    text = "中文\tfba402293dc5\tab\n" + "t" * 128 + "\t\t\nz\n"
    lines = tabulate(text).split("\n")
    assert lines[0] == "中文" + " " * 127 + "fba402293dc5   ab"
    assert lines[1] == "t" * 128 + " " * 3 + " " * 15
    assert lines[2] == "z"


def test_wide_characters_count_two_columns() -> None:
    assert tabulate("中文\tIMAGE ID\tab\nTAG\t\t\nz\n") == (
        "中文      IMAGE ID   ab\n" "TAG                  \n" "z\n"
    )


def test_display_width() -> None:
    assert display_width("abc") == 3
    assert display_width("中文") == 4
    assert display_width("ｱ") == 1  # half-width katakana
    assert display_width("Ａ") == 2  # full-width latin
    assert display_width("e\u0301") == 1  # combining accent joins its base
    assert display_width("…") == 1


def test_formfeed_ends_every_column_block_and_prints_as_newline() -> None:
    text = "a\t" + "b" * 12 + "\tc\f" + "d\te\tf\n"
    assert tabulate(text) == "a         " + "b" * 12 + "   c\n" + "d         e         f\n"


def test_vertical_tab_terminates_a_cell() -> None:
    assert tabulate("a\vb\nccc\vd\n") == "a         b\nccc       d\n"


def test_writer_buffers_until_flush() -> None:
    writer = TabWriter()
    writer.write("NAME\tDESC")
    writer.write("RIPTION\nx\ty\n")
    assert writer.flush() == "NAME      DESCRIPTION\nx         y\n"
    assert writer.flush() == ""


def test_empty_input() -> None:
    assert tabulate("") == ""
    assert tabulate("\n\n") == "\n\n"


def _docker(host: str, *args: str) -> str:
    env = dict(os.environ, DOCKER_HOST=host)
    return subprocess.run(["docker", *args], env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def docker_repo(docker_engine: str, busybox_tar: Path) -> Iterator[str]:
    """An imported image under a few tags of a fresh repository in the reference engine."""
    repo = f"dyr-tabwriter-{uuid.uuid4().hex[:8]}"
    tags = [f"{repo}:1", f"{repo}:" + "t" * 40, f"{repo}:x"]
    _docker(docker_engine, "import", str(busybox_tar), tags[0])
    for tag in tags[1:]:
        _docker(docker_engine, "tag", tags[0], tag)
    try:
        yield repo
    finally:
        _docker(docker_engine, "rmi", *tags)


@pytest.mark.interop
def test_matches_docker_table_output(docker_engine: str, docker_repo: str) -> None:
    # Rows mix wide characters, empty cells and lines with fewer cells; docker's raw (non-table) output of
    # the same template is fed through our tabwriter together with the header docker would render.
    template = "中文\t{{.ID}}\tab\n{{.Tag}}\t\t\n{{.Repository}}\tx\nz"
    header = "中文\tIMAGE ID\tab\nTAG\t\t\nREPOSITORY\tx\nz"
    listing = ("images", "--filter", f"reference={docker_repo}", "--format")
    for _ in range(5):  # rows of one image come in random order: wait for two listings that agree
        raw = _docker(docker_engine, *listing, template)
        table = _docker(docker_engine, *listing, "table " + template)
        tags_in_table = [line.split()[0] for line in table.splitlines()[5::4]]
        if tags_in_table == [line.split("\t")[0] for line in raw.splitlines()[1::4]]:
            break
    else:
        pytest.skip("docker listed the rows in a different order every time")
    assert len(raw.splitlines()) == 12
    assert tabulate(header + "\n" + raw) == table
