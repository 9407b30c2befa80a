"""The pflag-compatible parser: grammar, value conversion, error words and help layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.cli.flags import (
    FlagSet,
    bool_flag,
    bytes_flag,
    filter_flag,
    format_flag_usages,
    go_quote,
    int_flag,
    list_flag,
    string_flag,
    strings_flag,
)
from dockyard.errors import UsageError

pytestmark = pytest.mark.unit

IMAGES_LIKE = (
    bool_flag("all", "Show all images", short="a"),
    bool_flag("digests", "Show digests"),
    filter_flag("filter", "Filter output", short="f"),
    string_flag("format", "Format output"),
    bool_flag("no-trunc", "Don't truncate output"),
    bool_flag("quiet", "Only show image IDs", short="q"),
    int_flag("limit", "Max number of results"),
    list_flag("change", "Apply Dockerfile instruction", short="c"),
    bool_flag("human", "Human sizes", short="H", default=True),
    string_flag("output", "Write to a file", short="o"),
    strings_flag("platform", "Platforms"),
    string_flag("sort", "Sort", choices=("created", "size")),
    bytes_flag("memory", "Memory limit", short="m"),
    bytes_flag("memory-swap", "Swap limit", minus_one_unlimited=True),
)


def parse(argv: list[str], *, interspersed: bool = True):
    return FlagSet(IMAGES_LIKE, interspersed=interspersed).parse(argv)


def parse_error(argv: list[str]) -> str:
    with pytest.raises(UsageError) as info:
        parse(argv)
    assert info.value.exit_code == 125
    return info.value.message


@pytest.mark.parametrize(
    ("argv", "attr", "expected"),
    [
        (["--format", "{{.ID}}"], "format", "{{.ID}}"),
        (["--format={{.ID}}"], "format", "{{.ID}}"),
        (["--format="], "format", ""),
        (["-o", "out.tar"], "output", "out.tar"),
        (["-oout.tar"], "output", "out.tar"),
        (["-o=out.tar"], "output", "out.tar"),
        (["-o", "-"], "output", "-"),
        (["-o", "--quiet"], "output", "--quiet"),  # a value flag takes the next word whatever it is
        (["--quiet"], "quiet", True),
        (["-q"], "quiet", True),
        (["--quiet=false"], "quiet", False),
        (["--quiet=0"], "quiet", False),
        (["--quiet=T"], "quiet", True),
        (["-q=false"], "quiet", False),
        (["-H=false"], "human", False),
        (["--human=False"], "human", False),
        ([], "human", True),
        (["-H"], "human", True),
        (["--limit", "25"], "limit", 25),
        (["--limit=-3"], "limit", -3),
        (["--limit=0x10"], "limit", 16),
        (["--limit=010"], "limit", 8),
        (["--limit=0b101"], "limit", 5),
        (["--limit=1_000"], "limit", 1000),
        (["--limit=9223372036854775807"], "limit", 9223372036854775807),
        (["-f", "dangling=true"], "filter", ["dangling=true"]),
        (["-f", "a=1", "--filter", "b=2", "-fc=3", "-f=d=4"], "filter", ["a=1", "b=2", "c=3", "d=4"]),
        (["-f="], "filter", ["="]),  # pflag: "-f=" is too short for the "=" form, so the value is "="
        (["--filter="], "filter", []),
        (["-c", "ENV A=1", "-c", "CMD x"], "change", ["ENV A=1", "CMD x"]),
        (["--platform", "linux/amd64,linux/arm64", "--platform=linux/s390x"], "platform",
         ["linux/amd64", "linux/arm64", "linux/s390x"]),
        (["--sort", "size"], "sort", "size"),
        (["-m", "512m"], "memory", 512 * 1024**2),
        (["--memory=1.5g"], "memory", int(1.5 * 1024**3)),
        (["--memory-swap=-1"], "memory_swap", -1),
        (["--memory-swap", "2k"], "memory_swap", 2048),
    ],
)  # fmt: skip
def test_values(argv: list[str], attr: str, expected: object) -> None:
    assert getattr(parse(argv).options, attr) == expected


def test_combined_bool_shorthands() -> None:
    opts = parse(["-qa"]).options
    assert opts.quiet is True and opts.all is True


def test_combined_shorthands_ending_in_a_value_flag_take_the_next_argument() -> None:
    result = parse(["-qf", "dangling=true", "busybox"])
    assert result.options.quiet is True
    assert result.options.filter == ["dangling=true"]
    assert result.args == ["busybox"]


def test_combined_shorthands_with_inline_value() -> None:
    result = parse(["-aqfdangling=false"])
    assert (result.options.all, result.options.quiet, result.options.filter) == (True, True, ["dangling=false"])


def test_bool_flag_never_consumes_the_next_argument() -> None:
    result = parse(["--quiet", "false"])
    assert result.options.quiet is True
    assert result.args == ["false"]


def test_interspersed_operands_and_flags() -> None:
    result = parse(["busybox", "-q", "extra", "--format", "x"])
    assert result.args == ["busybox", "extra"]
    assert result.options.quiet is True and result.options.format == "x"


def test_not_interspersed_stops_at_first_operand() -> None:
    result = parse(["-q", "container", "-a", "--bogus"], interspersed=False)
    assert result.options.quiet is True and result.options.all is False
    assert result.args == ["container", "-a", "--bogus"]


def test_double_dash_ends_flags() -> None:
    result = parse(["-q", "--", "-a", "--", "x"])
    assert result.options.all is False
    assert result.args == ["-a", "--", "x"]


def test_lone_dash_and_empty_string_are_arguments() -> None:
    assert parse(["-", "", "-q"]).args == ["-", ""]


def test_is_set_tells_explicit_from_default() -> None:
    opts = parse(["--format", "", "-H=true"]).options
    assert opts.is_set("format") and opts.is_set("human")
    assert not opts.is_set("quiet") and not opts.is_set("no-trunc") and not opts.is_set("no_trunc")
    assert opts.format == ""


def test_options_by_long_name_with_underscores() -> None:
    opts = parse(["--no-trunc"]).options
    assert opts.no_trunc is True
    assert opts.get("no-trunc") is True
    with pytest.raises(AttributeError):
        _ = opts.nonexistent


def test_help_flag_is_reported_not_stored() -> None:
    result = parse(["--help"])
    assert result.help_requested
    assert not hasattr(result.options, "help")
    short = parse(["-qh"])
    assert short.help_requested and short.options.quiet
    assert short.notices == ["Flag shorthand -h has been deprecated, use --help"]
    assert not parse(["--help=false"]).help_requested


def test_default_env_is_read_at_parse_time(monkeypatch: pytest.MonkeyPatch) -> None:
    flags = FlagSet([string_flag("platform", "Platform", default_env="DOCKER_DEFAULT_PLATFORM")])
    monkeypatch.setenv("DOCKER_DEFAULT_PLATFORM", "linux/arm64")
    assert flags.parse([]).options.platform == "linux/arm64"
    assert not flags.parse([]).options.is_set("platform")
    monkeypatch.delenv("DOCKER_DEFAULT_PLATFORM")
    assert flags.parse([]).options.platform == ""


def test_list_defaults_are_not_shared_between_parses() -> None:
    first = parse(["-f", "a=b"]).options
    second = parse([]).options
    assert first.filter == ["a=b"] and second.filter == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "unknown flag: --bogus"),
        (["--bogus=1"], "unknown flag: --bogus"),
        (["-z"], "unknown shorthand flag: 'z' in -z"),
        (["-qz"], "unknown shorthand flag: 'z' in -z"),
        (["-q="], "unknown shorthand flag: '=' in -="),
        (["-'"], "unknown shorthand flag: '\\'' in -'"),
        (["-\x01"], "unknown shorthand flag: '\\x01' in -\x01"),
        (["-é"], "unknown shorthand flag: 'Ã' in -é"),
        (["--format"], "flag needs an argument: --format"),
        (["-f"], "flag needs an argument: 'f' in -f"),
        (["-qf"], "flag needs an argument: 'f' in -f"),
        (["---x"], "bad flag syntax: ---x"),
        (["--=x"], "bad flag syntax: --=x"),
        (["--limit", "x"], 'invalid argument "x" for "--limit" flag: strconv.ParseInt: parsing "x": invalid syntax'),
        (["--limit="], 'invalid argument "" for "--limit" flag: strconv.ParseInt: parsing "": invalid syntax'),
        (["--limit", "1.5"], 'invalid argument "1.5" for "--limit" flag: strconv.ParseInt: parsing "1.5": invalid syntax'),
        (["--limit", "_1"], 'invalid argument "_1" for "--limit" flag: strconv.ParseInt: parsing "_1": invalid syntax'),
        (["--limit", "99999999999999999999"],
         'invalid argument "99999999999999999999" for "--limit" flag: strconv.ParseInt: parsing '
         '"99999999999999999999": value out of range'),
        (["-q=maybe"],
         'invalid argument "maybe" for "-q, --quiet" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
        (["--digests="],
         'invalid argument "" for "--digests" flag: strconv.ParseBool: parsing "": invalid syntax'),
        (["-f", "foo"],
         'invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)'),
        (["-f", 'a"b'],
         'invalid argument "a\\"b" for "-f, --filter" flag: bad format of filter (expected name=value)'),
        (["--sort", "name"], 'invalid argument "name" for "--sort" flag: must be one of created, size'),
        (["-m", "lots"], "invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'"),
        (["-m", "-1"], "invalid argument \"-1\" for \"-m, --memory\" flag: invalid size: '-1'"),
    ],
)  # fmt: skip
def test_error_messages(argv: list[str], message: str) -> None:
    assert parse_error(argv) == message


def test_first_error_wins_left_to_right() -> None:
    assert parse_error(["--limit", "x", "--bogus"]).startswith('invalid argument "x"')
    assert parse_error(["--bogus", "--limit", "x"]) == "unknown flag: --bogus"


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_int_flag_round_trips_any_int64(value: int) -> None:
    assert parse([f"--limit={value}"]).options.limit == value
    assert parse(["--limit", hex(value)]).options.limit == value


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("abc", '"abc"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("\n\t", '"\\n\\t"'), ("é", '"é"'),
     ("\x7f", '"\\x7f"'), ("\u200b", '"\\u200b"')],
)  # fmt: skip
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


def test_flag_usages_match_docker_layout() -> None:
    # docker's `image prune --help` Options block, byte for byte.
    flags = (
        bool_flag("all", "Remove all unused images, not just dangling ones", short="a"),
        filter_flag("filter", 'Provide filter values (e.g. "until=<timestamp>")'),
        bool_flag("force", "Do not prompt for confirmation", short="f"),
    )
    assert format_flag_usages(flags) == (
        "  -a, --all             Remove all unused images, not just dangling ones\n"
        '      --filter filter   Provide filter values (e.g. "until=<timestamp>")\n'
        "  -f, --force           Do not prompt for confirmation\n"
    )


def test_flag_usages_wrap_and_show_defaults_like_pflag() -> None:
    flags = (
        bool_flag("human", "Print sizes and dates in human readable format", short="H", default=True),
        bool_flag("quiet", "Only show image IDs", short="q"),
        string_flag("network", "Set the networking mode for the RUN instructions during build", default="default"),
        bool_flag("secret", "hidden", hidden=True),
    )
    assert format_flag_usages(flags) == (
        "  -H, --human            Print sizes and dates in human readable format\n"
        "                         (default true)\n"
        "      --network string   Set the networking mode for the RUN instructions\n"
        '                         during build (default "default")\n'
        "  -q, --quiet            Only show image IDs\n"
    )
