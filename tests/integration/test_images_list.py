"""``dockyard images``: the classic table, row expansion, formats, filters and errors, against a real store."""

from __future__ import annotations

import json
import re

import pytest

from dockyard.store import Store
from tests.helpers.cli import run_cli
from tests.helpers.images import DIGEST_A, DIGEST_B, make_image

pytestmark = pytest.mark.integration

HEADER = "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"


@pytest.fixture
def three(store: Store) -> dict[str, str]:
    """A tagged image with two repos and a digest, an untagged one, a digest-only one."""
    ids = {
        "busy": make_image(store, created=1_700_000_300, tags=("busybox:1", "busybox:2", "foo/bar"),
                           digests=(f"busybox@{DIGEST_A}",), salt="busy"),
        "digonly": make_image(store, created=1_700_000_200, digests=(f"dig@{DIGEST_B}",), salt="dig"),
        "none": make_image(store, created=1_700_000_100, salt="none"),
    }
    return ids


def short(image_id: str) -> str:
    return image_id[7:19]


def test_empty_store_prints_header_only(store: Store) -> None:
    assert run_cli("images") == (0, HEADER, "")
    code, out, _ = run_cli("images", "--digests")
    assert out == "REPOSITORY   TAG       DIGEST    IMAGE ID   CREATED   SIZE\n"
    assert run_cli("images", "-q") == (0, "", "")
    code, out, _ = run_cli("images", "--format", "table {{.ID}}\t{{.Containers}}")
    assert out == "IMAGE ID   CONTAINERS\n"


def test_default_table_rows(three: dict[str, str]) -> None:
    code, out, err = run_cli("images")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE"
    cells = [re.split(r" {2,}", line) for line in lines[1:]]
    busy, dig, none = short(three["busy"]), short(three["digonly"]), short(three["none"])
    assert sorted(cells[:3]) == sorted([["busybox", "1", busy, "3 years ago", "100B"],
                                        ["busybox", "2", busy, "3 years ago", "100B"],
                                        ["foo/bar", "latest", busy, "3 years ago", "100B"]])
    assert cells[3] == ["dig", "<none>", dig, "3 years ago", "100B"]
    assert cells[4] == ["<none>", "<none>", none, "3 years ago", "100B"]


def test_digests_expand_tag_by_digest(three: dict[str, str]) -> None:
    code, out, _ = run_cli("images", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}", "--digests")
    lines = out.splitlines()
    # Repositories of one image come in no fixed order (Go map order), tags keep theirs.
    assert sorted(lines[:3]) == [f"busybox 1 {DIGEST_A}", f"busybox 2 {DIGEST_A}", "foo/bar latest <none>"]
    assert lines.index(f"busybox 1 {DIGEST_A}") < lines.index(f"busybox 2 {DIGEST_A}")
    assert lines[3:] == [f"dig <none> {DIGEST_B}", "<none> <none> <none>"]
    # Without digests requested, a digest-only repo shows Digest "" and tagged rows "<none>".
    code, out, _ = run_cli("images", "--format", "{{.Repository}}|{{.Tag}}|{{.ID}}")
    assert "dig|<none>|" + short(three["digonly"]) in out.splitlines()
    # docker looks for the literal "{{.Digest}}"; other spellings do not switch digest rows on.
    code, out, _ = run_cli("images", "--format", "{{json .Digest}}")
    assert out.splitlines() == ['"<none>"', '"<none>"', '"<none>"', '""', '"<none>"']


def test_digest_in_format_expands_tags_but_not_digest_only_repos(three: dict[str, str]) -> None:
    # docker/cli: {{.Digest}} turns on digests for tagged rows (needDigest), while a digest-only
    # repository gets its digest rows only with --digests (ctx.Digest); otherwise one row with "".
    code, out, _ = run_cli("images", "--format", "{{.Repository}} {{.Tag}} [{{.Digest}}]")
    lines = out.splitlines()
    assert sorted(lines[:3]) == [f"busybox 1 [{DIGEST_A}]", f"busybox 2 [{DIGEST_A}]", "foo/bar latest [<none>]"]
    assert lines[3:] == ["dig <none> []", "<none> <none> [<none>]"]


def test_quiet_repeats_ids_per_row(three: dict[str, str]) -> None:
    code, out, _ = run_cli("images", "-q")
    b, d, n = short(three["busy"]), short(three["digonly"]), short(three["none"])
    assert out == f"{b}\n{b}\n{b}\n{d}\n{n}\n"
    code, out, _ = run_cli("images", "-q", "--no-trunc")
    assert out.splitlines()[0] == three["busy"]
    # A custom format wins over -q.
    code, out, _ = run_cli("images", "-q", "--format", "{{.Repository}}")
    assert out.splitlines()[0] in ("busybox", "foo/bar")


def test_json_rows(three: dict[str, str]) -> None:
    code, out, _ = run_cli("images", "--format", "json", "none*")
    assert out == ""  # a reference filter never shows untagged images
    code, out, _ = run_cli("images", "--format", "json", "foo/bar")
    (line,) = out.splitlines()
    assert re.fullmatch(
        r'\{"Containers":"N/A","CreatedAt":"2023-11-14 22:1\d:\d\d [+-]\d{4} \w+","CreatedSince":"3 years ago",'
        r'"Digest":"\\u003cnone\\u003e","ID":"' + short(three["busy"]) + r'","Repository":"foo/bar",'
        r'"SharedSize":"N/A","Size":"100B","Tag":"latest","UniqueSize":"N/A","VirtualSize":"100B"\}',
        line,
    ), line
    assert json.loads(line)["Digest"] == "<none>"


def test_created_at_is_go_time_string(store: Store,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    make_image(store, created=1_700_000_000, tags=("t",))
    make_image(store, created=None, tags=("epoch",), salt="e")
    code, out, _ = run_cli("images", "--format", "{{.Repository}} {{.CreatedAt}} {{.CreatedSince}}")
    lines = out.splitlines()
    assert lines[0] == "t 2023-11-14 22:13:20 +0000 UTC 3 years ago"
    assert re.fullmatch(r"epoch 1970-01-01 00:00:00 \+0000 UTC \d\d years ago", lines[1])


def test_custom_table_gets_digest_column(three: dict[str, str]) -> None:
    code, out, _ = run_cli("images", "--digests", "--format", "table {{.Repository}}", "dig")
    assert out == f"REPOSITORY   DIGEST\ndig          {DIGEST_B}\n"
    code, out, _ = run_cli("images", "--format", "table {{.Repository}}\\t{{.Size}}\\t{{.VirtualSize}}", "dig")
    assert out == "REPOSITORY   SIZE      SIZE\ndig          100B      100B\n"


def test_raw_format(three: dict[str, str], monkeypatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    code, out, _ = run_cli("images", "--format", "raw", "dig")
    assert out == (f"repository: dig\ntag: <none>\nimage_id: {short(three['digonly'])}\n"
                   "created_at: 2023-11-14 22:16:40 +0000 UTC\nvirtual_size: 100B\n\n")
    code, out, _ = run_cli("images", "--format", "raw", "--digests", "dig")
    assert f"digest: {DIGEST_B}\n" in out
    code, out, _ = run_cli("images", "--format", "raw", "-q", "dig")
    assert out == f"image_id: {short(three['digonly'])}\n"


def test_template_errors(three: dict[str, str]) -> None:
    code, out, err = run_cli("images", "--format", "{{.Foo}}")
    assert (code, out) == (1, "")
    assert err == ('template parsing error: template: :1:2: executing "" at <.Foo>: '
                   "can't evaluate field Foo in type *formatter.imageContext\n")
    code, out, err = run_cli("images", "--format", "{{.ID")
    assert (code, out) == (1, "")
    assert err.startswith("template parsing error: template: :1: ")


def test_filters_through_cli(three: dict[str, str]) -> None:
    code, out, _ = run_cli("images", "-q", "-f", "dangling=true")
    assert out.split() == [short(three["digonly"]), short(three["none"])]
    # digest-only images are dangling for dangling=true, yet still listed by dangling=false (moby)
    code, out, _ = run_cli("images", "-q", "--filter", "Dangling=false")
    assert set(out.split()) == {short(three["busy"]), short(three["digonly"])}
    code, out, _ = run_cli("images", "-q", "-f", f"before={short(three['busy'])}")
    assert out.split() == [short(three["digonly"]), short(three["none"])]
    code, out, _ = run_cli("images", "-q", "-f", "since=dig@" + DIGEST_B)
    assert set(out.split()) == {short(three["busy"])}
    code, out, _ = run_cli("images", "--format", "{{.Repository}}:{{.Tag}}", "busybox")
    assert out.splitlines() == ["busybox:1", "busybox:2"]
    code, out, _ = run_cli("images", "--format", "{{.Repository}}:{{.Tag}}", "-f", "reference=*:2")
    assert out.splitlines() == ["busybox:2"]


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("label!=a", "Error response from daemon: invalid filter 'label!'\n"),
        ("foo=bar", "Error response from daemon: invalid filter 'foo'\n"),
        ("dangling=maybe", "Error response from daemon: invalid filter 'dangling=[maybe]'\n"),
        ("before=nothere", "Error response from daemon: No such image: nothere:latest\n"),
        ("since=nothere:2", "Error response from daemon: No such image: nothere:2\n"),
        ("reference=[", "Error response from daemon: syntax error in pattern\n"),
        ("until=abc", 'Error response from daemon: failed to parse value as time or duration: "abc"\n'),
    ],
)
def test_filter_errors(three: dict[str, str], flag: str, message: str) -> None:
    assert run_cli("images", "-f", flag) == (1, "", message)


def test_filter_without_equals_is_a_flag_error(store: Store) -> None:
    code, out, err = run_cli("images", "-f", "dangling")
    assert code == 125
    assert err.startswith('invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)')


def test_label_filter(store: Store) -> None:
    make_image(store, labels={"app": "web", "tier": "1"}, tags=("web",), salt="w")
    make_image(store, labels={"app": "db"}, tags=("db",), salt="d")
    make_image(store, container_config=False, tags=("bare",), salt="b")
    code, out, _ = run_cli("images", "--format", "{{.Repository}}", "-f", "label=app")
    assert sorted(out.split()) == ["db", "web"]
    code, out, _ = run_cli("images", "--format", "{{.Repository}}", "-f", "label=app=web", "-f", "label=tier")
    assert out.split() == ["web"]


def test_all_shows_intermediate(store: Store) -> None:
    base = make_image(store, created=1, salt="base")
    make_image(store, created=2, parent=base, tags=("child",), salt="c")
    assert short(base) not in run_cli("images", "-q")[1]
    assert short(base) in run_cli("images", "-q", "-a")[1]


def test_tag_via_cli_then_list(three: dict[str, str]) -> None:
    assert run_cli("tag", short(three["none"]), "localhost:5000/x/y:v1")[0] == 0
    code, out, _ = run_cli("images", "--format", "{{.Repository}} {{.Tag}}", "localhost:5000/*/*")
    assert out == "localhost:5000/x/y v1\n"


def test_did_you_mean_hint(store: Store) -> None:
    code, out, err = run_cli("images", "ls")
    assert (code, out) == (0, HEADER)
    assert err == '\nNo images found matching "ls": did you mean "dockyard image ls"?\n'  # 28: blank line first
    assert run_cli("image", "ls", "ls")[2] == ""
    assert run_cli("images", "nothing")[2] == ""


def test_sort_option(store: Store) -> None:
    make_image(store, created=100, layers=[{"a": b"a" * 5000}], tags=("zeta:1", "alpha:9"), salt="big")
    make_image(store, created=300, layers=[{"a": b"a" * 10}], tags=("mid:5",), salt="small")
    make_image(store, created=200, layers=[{"a": b"a" * 700}], tags=("beta:2",), salt="medium")
    fmt = ("--format", "{{.Repository}}:{{.Tag}}")
    assert run_cli("images", *fmt)[1].split() == ["mid:5", "beta:2", "alpha:9", "zeta:1"]
    assert run_cli("images", *fmt, "--sort", "created")[1].split() == ["mid:5", "beta:2", "alpha:9", "zeta:1"]
    assert run_cli("images", *fmt, "--sort", "size")[1].split() == ["alpha:9", "zeta:1", "beta:2", "mid:5"]
    assert run_cli("images", *fmt, "--sort", "repository")[1].split() == ["alpha:9", "beta:2", "mid:5", "zeta:1"]
    assert run_cli("images", *fmt, "--sort", "tag")[1].split() == ["zeta:1", "beta:2", "mid:5", "alpha:9"]
    code, _, err = run_cli("images", "--sort", "bogus")
    assert code != 0 and "bogus" in err


def test_builtin_fast_path_matches_template_engine(three: dict[str, str]) -> None:
    from dockyard.cli.images import (
        DEFAULT_TABLE, DEFAULT_TABLE_WITH_DIGEST, IMAGE_HEADERS, QUIET_FORMAT, expand_rows, render_builtin,
    )
    from dockyard.engine import Engine
    from dockyard.render.formatter import FormatSpec, render_rows

    with Engine() as engine:
        images = engine.images(all=True)
    for template, digests in ((DEFAULT_TABLE, False), (DEFAULT_TABLE_WITH_DIGEST, True), (QUIET_FORMAT, False)):
        rows = expand_rows(images, digests=digests, trunc=True, now=1_800_000_000)
        fast = render_builtin(template, rows)
        assert fast is not None
        assert fast == render_rows(FormatSpec.parse(template), rows, IMAGE_HEADERS, DEFAULT_TABLE)


def test_tree_by_default_only_on_a_terminal(three: dict[str, str], monkeypatch) -> None:
    from dockyard.cli.context import Context

    monkeypatch.setattr(Context, "stdout_isatty", lambda self: True)
    code, out, _ = run_cli("images")
    assert "DISK USAGE" in out and "REPOSITORY" not in out
    for flags in (["-q"], ["--no-trunc"], ["--digests"], ["--format", "table"]):
        out = run_cli("images", *flags)[1]
        assert "DISK USAGE" not in out, flags
