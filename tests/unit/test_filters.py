"""docker --filter parsing, filters.Args semantics and Go's path.Match."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.filters import Filters, glob_match, parse_filter_flag

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("dangling=true", ("dangling", "true")),
        ("Label=x", ("label", "x")),
        ("  LABEL = a=b  ", ("label", "a=b")),
        ("reference=", ("reference", "")),
        ("=x", ("", "x")),
        ("label=\u3000v\u3000", ("label", "v")),  # Go's TrimSpace knows Unicode spaces
    ],
)
def test_parse_filter_flag(value: str, expected: tuple[str, str]) -> None:
    assert parse_filter_flag(value) == expected


def test_parse_filter_flag_without_equals() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter_flag("foo")
    assert str(caught.value) == "bad format of filter (expected name=value)"
    assert caught.value.client


def test_empty_filter_flag_is_ignored() -> None:
    assert parse_filter_flag("") is None
    assert len(Filters.from_flags(["", "a=1"])) == 1


def test_repeated_flags_add_values_as_a_set() -> None:
    filters = Filters.from_flags(["label=a", "label=b", "Label=a", "dangling=true"])
    assert filters.get("label") == ["a", "b"]
    assert filters.keys() == ["label", "dangling"]
    assert filters.to_json_dict() == {"label": {"a": True, "b": True}, "dangling": {"true": True}}


def test_delete_drops_empty_keys() -> None:
    filters = Filters([("label", "a")])
    filters.delete("label", "a")
    assert "label" not in filters
    assert len(filters) == 0


def test_validate_rejects_unknown_key() -> None:
    filters = Filters([("dangling", "true"), ("bogus", "1")])
    filters.copy().validate({"dangling", "bogus"})
    with pytest.raises(InvalidArgument) as caught:
        filters.validate({"dangling", "label", "before", "since", "reference", "until"})
    assert str(caught.value) == "invalid filter 'bogus'"
    assert not caught.value.client


@pytest.mark.parametrize(
    ("values", "expected"),
    [(["true"], True), (["1"], True), (["false"], False), (["0"], False), (["1", "true"], True)],
)
def test_get_bool(values: list[str], expected: bool) -> None:
    filters = Filters(("dangling", v) for v in values)
    assert filters.get_bool("dangling") is expected


def test_get_bool_default_when_absent() -> None:
    assert Filters().get_bool("dangling") is False
    assert Filters().get_bool("dangling", True) is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["maybe"], "invalid filter 'dangling=[maybe]'"),
        (["true", "false"], "invalid filter 'dangling=[false true]'"),
        (["TRUE"], "invalid filter 'dangling=[TRUE]'"),  # the spelling is exact, as in moby
        ([""], "invalid filter 'dangling=[]'"),
    ],
)
def test_get_bool_errors(values: list[str], message: str) -> None:
    filters = Filters(("dangling", v) for v in values)
    with pytest.raises(InvalidArgument) as caught:
        filters.get_bool("dangling")
    assert str(caught.value) == message


def test_exact_and_fuzzy_match() -> None:
    filters = Filters([("name", "abc"), ("name", "de")])
    assert filters.exact_match("name", "abc")
    assert not filters.exact_match("name", "abcd")
    assert filters.fuzzy_match("name", "abcd")
    assert filters.fuzzy_match("name", "def")
    assert not filters.fuzzy_match("name", "xabc")
    # no values: nothing is filtered out
    assert filters.exact_match("other", "anything")
    assert filters.fuzzy_match("other", "anything")
    assert not filters.unique_exact_match("name", "abc")
    assert Filters([("name", "abc")]).unique_exact_match("name", "abc")


def test_match_kv_list_ands_all_values() -> None:
    labels = {"a": "1", "b": "2", "empty": ""}
    assert Filters().match_kv_list("label", labels)
    assert Filters([("label", "a")]).match_kv_list("label", labels)
    assert Filters([("label", "a=1"), ("label", "b")]).match_kv_list("label", labels)
    assert not Filters([("label", "a=1"), ("label", "c")]).match_kv_list("label", labels)
    assert not Filters([("label", "a=2")]).match_kv_list("label", labels)
    assert Filters([("label", "empty=")]).match_kv_list("label", labels)
    assert Filters([("label", "a=1=x")]).match_kv_list("label", {"a": "1=x"})
    # an image without labels never matches a label filter
    assert not Filters([("label", "a")]).match_kv_list("label", {})
    assert not Filters([("label", "a")]).match_kv_list("label", None)


def test_match_labels_with_negation() -> None:
    labels = {"keep": "yes", "team": "x"}
    assert Filters([("label!", "other")]).match_labels(labels)
    assert not Filters([("label!", "keep")]).match_labels(labels)
    assert not Filters([("label!", "keep=yes")]).match_labels(labels)
    assert Filters([("label!", "keep=no")]).match_labels(labels)
    # label! over several values excludes only images that have all of them
    assert Filters([("label!", "keep"), ("label!", "absent")]).match_labels(labels)
    assert not Filters([("label", "team=x"), ("label!", "keep")]).match_labels(labels)
    assert Filters([("label!", "keep")]).match_labels({})


# Go's path.Match table (path/match_test.go semantics)
GLOB_CASES = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "α", True),
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("*x", "xxx", True),
    ("busybox:*", "busybox:latest", True),
    ("*", "localhost:5000/x", False),
    ("*/*", "foo/bar", True),
    ("foo/*", "foo/bar/baz", False),
    ("", "", True),
    ("", "a", False),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), GLOB_CASES)
def test_glob_match(pattern: str, name: str, expected: bool) -> None:
    assert glob_match(pattern, name) is expected


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("[]a]", "]"),
        ("[-]", "-"),
        ("[x-]", "x"),
        ("[x-]", "z"),
        ("[-x]", "x"),
        ("\\", "a"),
        ("[a-b-c]", "a"),
        ("[", "a"),
        ("[^", "a"),
        ("[^bc", "a"),
        ("a[", "a"),
        ("a[", "ab"),
        ("a[", "x"),
        ("a/b[", "x"),
        ("*x[", "abc"),  # reported even after the match has failed
        ("a*[", "b"),
    ],
)
def test_glob_bad_pattern(pattern: str, name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        glob_match(pattern, name)
    assert str(caught.value) == "syntax error in pattern"
