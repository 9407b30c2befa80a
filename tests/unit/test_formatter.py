"""The --format driver: flag parsing, table/JSON/raw rendering, headers, row JSON, template errors."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.cli.images import DEFAULT_TABLE as IMAGES_DEFAULT_TABLE, IMAGE_HEADERS
from dockyard.errors import TemplateError
from dockyard.render.formatter import FormatSpec, RowContext, go_json_dumps, preprocess, render_rows

pytestmark = pytest.mark.unit

DEFAULT_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"
HEADER = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Size": "SIZE", "Digest": "DIGEST"}


class ImageRow(RowContext):
    __go_type__ = "*formatter.imageContext"

    def __init__(self, repository: str, tag: str, image_id: str, size: str) -> None:
        self._repository = repository
        self._tag = tag
        self._id = image_id
        self._size = size

    def Repository(self) -> str:  # noqa: N802 - Go's exported accessor names are the placeholders
        return self._repository

    def Tag(self) -> str:  # noqa: N802
        return self._tag

    def ID(self) -> str:  # noqa: N802
        return self._id

    def Size(self) -> str:  # noqa: N802
        return self._size

    def Label(self, name: str) -> str:  # noqa: N802 - takes an argument: not part of {{json .}}
        return name

    def FullHeader(self) -> str:  # noqa: N802 - docker leaves it out of {{json .}}
        return "x"

    def helper(self) -> str:
        return "not exported"


ROWS = [
    ImageRow("example.com:443/a/b/cd", "c", "fba402293dc5", "1.98MB"),
    ImageRow("<none>", "<none>", "c6725616c74a", "247MB"),
]


# --- FormatSpec -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "table"])
def test_default_table(value: str) -> None:
    spec = FormatSpec.parse(value)
    assert spec.is_table and spec.is_default
    assert spec.resolve(DEFAULT_TABLE) == "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"


@pytest.mark.parametrize(
    ("value", "is_table", "template"),
    [
        ("table {{.ID}}\\t{{.Tag}}", True, "{{.ID}}\t{{.Tag}}"),
        ("table{{.ID}}", True, "{{.ID}}"),  # a plain prefix match, as docker's strings.HasPrefix
        ("tablex", True, "x"),
        ("table   ", True, ""),  # not exactly "table": an empty custom table
        ("TABLE {{.ID}}", False, "TABLE {{.ID}}"),
        (" table {{.ID}}", False, "table {{.ID}}"),
        ("json", False, "{{json .}}"),
        (" json", False, "json"),
        ("JSON", False, "JSON"),
        ("{{.ID}}\\n", False, "{{.ID}}\n"),
        ("\t{{.ID}} ", False, "\t{{.ID}}"),  # only spaces are trimmed
    ],
)
def test_parse_format_value(value: str, is_table: bool, template: str) -> None:
    spec = FormatSpec.parse(value)
    assert spec.is_table is is_table
    assert spec.template == template
    assert spec.resolve(DEFAULT_TABLE) == template


def test_json_flag() -> None:
    spec = FormatSpec.parse("json")
    assert spec.is_json and not spec.is_table


def test_contains_looks_at_the_flag_value() -> None:
    assert FormatSpec.parse("table {{.ID}}\t{{.Digest}}").contains("{{.Digest}}")
    assert not FormatSpec.parse("table {{.ID}}").contains("{{.Digest}}")


def test_preprocess() -> None:
    assert preprocess("  a\\tb\\nc  ") == "a\tb\nc"
    assert preprocess("a\\\\tb") == "a\\\tb"
    assert preprocess("\\x") == "\\x"


# --- row JSON ---------------------------------------------------------------------------------------------


def test_row_accessors_are_exported_zero_argument_methods() -> None:
    assert ImageRow.accessor_names() == ["ID", "Repository", "Size", "Tag"]


def test_row_json_sorted_strings_html_escaped() -> None:
    row = ImageRow("a&b", "<none>", "x>y", "1…")
    assert row.__go_json__() == (
        '{"ID":"x\\u003ey","Repository":"a\\u0026b","Size":"1…","Tag":"\\u003cnone\\u003e"}'
    )


@pytest.mark.parametrize(
    ("value", "escape_html", "expected"),
    [
        ({"b": 1, "a": [True, None]}, True, '{"a":[true,null],"b":1}'),
        ("<&>", False, '"<&>"'),
        ("<&>", True, '"\\u003c\\u0026\\u003e"'),
        ("\u2028\t\x01\x7f", True, '"\\u2028\\t\\u0001\x7f"'),
        (1.0, True, "1"),
        (0.5, True, "0.5"),
        (1e21, True, "1e+21"),
        (1e-7, True, "1e-7"),
        (123456789.0, True, "123456789"),
    ],
)
def test_go_json_dumps(value: Any, escape_html: bool, expected: str) -> None:
    assert go_json_dumps(value, escape_html=escape_html) == expected


# --- rendering --------------------------------------------------------------------------------------------


def render(value: str, rows: list[Any] = ROWS) -> str:
    return render_rows(FormatSpec.parse(value), rows, HEADER, DEFAULT_TABLE)


def test_default_table_output() -> None:
    assert render("") == (
        "REPOSITORY               TAG       IMAGE ID       SIZE\n"
        "example.com:443/a/b/cd   c         fba402293dc5   1.98MB\n"
        "<none>                   <none>    c6725616c74a   247MB\n"
    )


def test_header_is_printed_without_rows() -> None:
    assert render("", []) == "REPOSITORY   TAG       IMAGE ID   SIZE\n"


def test_custom_table() -> None:
    assert render("table {{.ID}}\\t{{.Tag}}") == (
        "IMAGE ID       TAG\nfba402293dc5   c\nc6725616c74a   <none>\n"
    )


def test_unlabelled_placeholder_header_shows_no_value() -> None:
    assert render("table {{.Foo}}\\t{{.ID}}", []) == "<no value>   IMAGE ID\n"


def test_header_functions_keep_labels_but_pad_pads() -> None:
    out = render("table {{.ID}}\\t{{upper .Tag}}|{{pad .ID 1 1}}")
    assert out.splitlines() == [
        "IMAGE ID       TAG| IMAGE ID ",
        "fba402293dc5   C| fba402293dc5 ",
        "c6725616c74a   <NONE>| c6725616c74a ",
    ]


def test_table_json_prints_an_empty_header_line() -> None:
    out = render("table {{json .}}")
    lines = out.split("\n")
    assert lines[0] == ""
    assert json.loads(lines[1]) == {
        "ID": "fba402293dc5",
        "Repository": "example.com:443/a/b/cd",
        "Size": "1.98MB",
        "Tag": "c",
    }
    assert lines[2] == (
        '{"ID":"c6725616c74a","Repository":"\\u003cnone\\u003e","Size":"247MB","Tag":"\\u003cnone\\u003e"}'
    )


def test_json_is_one_object_per_line() -> None:
    lines = render("json").splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["ID"] for line in lines] == ["fba402293dc5", "c6725616c74a"]


def test_json_of_a_string_field_is_not_html_escaped() -> None:
    assert render("{{json .Tag}}") == '"c"\n"<none>"\n'


def test_raw_template_is_not_aligned() -> None:
    assert render("{{.ID}}\\t{{.Tag}}") == "fba402293dc5\tc\nc6725616c74a\t<none>\n"
    assert render("{{.ID}}", []) == ""


def test_template_parse_error() -> None:
    with pytest.raises(TemplateError) as caught:
        render("{{.ID")
    assert str(caught.value).startswith("template parsing error: template: :1:")
    assert caught.value.parse
    assert caught.value.client


def test_unclosed_action() -> None:
    with pytest.raises(TemplateError) as caught:
        render("table {{")
    assert str(caught.value) == "template parsing error: template: :1: unclosed action"


def test_execution_error_names_the_go_type() -> None:
    with pytest.raises(TemplateError) as caught:
        render("table {{.Foo}}")
    assert str(caught.value) == (
        'template parsing error: template: :1:2: executing "" at <.Foo>: '
        "can't evaluate field Foo in type *formatter.imageContext"
    )
    assert not caught.value.parse


# --- against docker ---------------------------------------------------------------------------------------


def _docker(host: str, *args: str) -> str:
    env = dict(os.environ, DOCKER_HOST=host)
    return subprocess.run(["docker", *args], env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def docker_images(docker_engine: str, busybox_tar: Path) -> Iterator[list[str]]:
    """A few tags of one imported image in the reference engine; yields the filter flags that list them."""
    repo = f"dyr-render-{uuid.uuid4().hex[:8]}"
    refs = [f"{repo}:1", f"{repo}:a-much-longer-tag-name", f"{repo}/sub:latest"]
    _docker(docker_engine, "import", str(busybox_tar), refs[0])
    for ref in refs[1:]:
        _docker(docker_engine, "tag", refs[0], ref)
    try:
        # * does not cross "/", and several reference filters are ORed
        yield ["--filter", f"reference={repo}*", "--filter", f"reference={repo}/*"]
    finally:
        _docker(docker_engine, "rmi", *refs)


def _row_from_json(values: dict[str, str]) -> RowContext:
    def accessor(value: str) -> Any:
        return lambda self: value

    methods = {name: accessor(value) for name, value in values.items()}
    row_type = type("DockerImageRow", (RowContext,), {"__go_type__": "*formatter.imageContext", **methods})
    return row_type()


@pytest.mark.interop
@pytest.mark.parametrize(
    "value",
    [
        "",
        "json",
        "table {{.ID}}\\t{{.Repository}}:{{.Tag}}\\t{{.VirtualSize}}",
        "table {{json .}}",
        "table {{.Containers}}\\t{{lower .Repository}}\\t{{pad .Tag 2 0}}",
        "{{.ID}}\\t{{.Tag}}",
    ],
)
def test_matches_docker_images(docker_engine: str, docker_images: list[str], value: str) -> None:
    listing = ("images", *docker_images, "--format")
    for _ in range(3):  # CREATED may tick over between the calls
        before = _docker(docker_engine, *listing, "{{json .}}")
        expected = _docker(docker_engine, *listing, value)
        if before == _docker(docker_engine, *listing, "{{json .}}"):
            break
    else:
        pytest.skip("the engine's images kept changing")
    rows = [_row_from_json(json.loads(line)) for line in before.splitlines()]
    assert len(rows) == 3
    ours = render_rows(FormatSpec.parse(value), rows, IMAGE_HEADERS, IMAGES_DEFAULT_TABLE).split("\n")
    theirs = expected.split("\n")
    spec = FormatSpec.parse(value)
    if spec.is_table:  # the header comes first; rows of one image come in random order (a Go map)
        assert ours[0] == theirs[0]
        ours, theirs = ours[1:], theirs[1:]
    assert sorted(ours) == sorted(theirs)
