"""Go text/template: parsing, execution, the value model, builtins and docker's functions."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.errors import TemplateError
from dockyard.render.gotemplate import (
    NIL_SLICE,
    FuncError,
    GoFunc,
    Struct,
    Template,
    docker_funcs,
    header_funcs,
)

pytestmark = pytest.mark.unit


def render(text: str, data: Any = None, **kwargs: Any) -> str:
    return Template.parse(text, docker_funcs()).execute(data, **kwargs)


def error_of(text: str, data: Any = None, **kwargs: Any) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        render(text, data, **kwargs)
    return info.value


# Recorded from docker 28.2.2 (`docker image inspect -f TEMPLATE`): (template, output) or
# (template, "ERR " + message, is_parse_error). None of these depend on the data.
DOCKER_TEMPLATE_CASES = [
    ('{{', 'ERR template: :1: unclosed action', True),
    ('{{.Foo', 'ERR template: :1: unclosed action', True),
    ('{{.Foo}', "ERR template: :1: bad character U+007D '}'", True),
    ('{{}}', 'ERR template: :1: missing value for command', True),
    ('{{foo}}', 'ERR template: :1: function "foo" not defined', True),
    ('{{ .A | 3 }}', 'ERR template: :1: non executable command in pipeline stage 2', True),
    ('{{end}}', 'ERR template: :1: unexpected {{end}}', True),
    ('{{else}}', 'ERR template: :1: unexpected {{else}}', True),
    ('{{if 1}}x', 'ERR template: :1: unexpected EOF', True),
    ('{{if}}{{end}}', 'ERR template: :1: missing value for if', True),
    ('{{range}}{{end}}', 'ERR template: :1: missing value for range', True),
    ('{{$x}}', 'ERR template: :1: undefined variable "$x"', True),
    ('{{break}}', 'ERR template: :1: {{break}} outside {{range}}', True),
    ('{{continue}}', 'ERR template: :1: {{continue}} outside {{range}}', True),
    ('{{"abc}}', 'ERR template: :1: unterminated quoted string', True),
    ('{{"a\\"}}', 'ERR template: :1: unterminated quoted string', True),
    ('{{"a\nb"}}', 'ERR template: :1: unterminated quoted string', True),
    ("{{'a}}", "ERR template: :1: unterminated character constant", True),
    ("{{'\\\n'}}", "ERR template: :1: unterminated character constant", True),
    ("{{'ab'}}", "ERR template: :1: malformed character constant: 'ab'", True),
    ('{{`abc', 'ERR template: :1: unterminated raw quoted string', True),
    ('{{/* x }}', 'ERR template: :1: unclosed comment', True),
    ('{{/* x */ }}', 'ERR template: :1: comment ends before closing delimiter', True),
    ('{{3x}}', 'ERR template: :1: bad number syntax: "3x"', True),
    ('{{(1}}', 'ERR template: :1: unclosed left paren', True),
    ('{{1)}}', 'ERR template: :1: unexpected right paren', True),
    ('{{.A.}}', 'ERR template: :1: unexpected <.> in operand', True),
    ('{{"a".B}}', 'ERR template: :1: unexpected . after term "\\"a\\""', True),
    ('{{$x := 1 2}}', 'ERR template: :1:8: executing "" at <1>: can\'t give argument to non-function 1', False),
    ('{{$x, $y := 1}}', 'ERR template: :1: too many declarations in command', True),
    ('{{range $a, $b, $c := .}}{{end}}', 'ERR template: :1: too many declarations in range', True),
    ('{{define "x"}}a{{end}}{{define "x"}}b{{end}}', 'ERR template: :1: template: multiple definition of template "x"', True),
    ('{{template "nope"}}', 'ERR template: :1:11: executing "" at <{{template "nope"}}>: template "nope" not defined', False),
    ('{{template .X}}', 'ERR template: :1: unexpected ".X" in template clause', True),
    ('{{"\\q"}}', 'ERR template: :1: invalid syntax', True),
    ('{{99999999999999999999}}', 'ERR template: :1: integer overflow: "99999999999999999999"', True),
    ('{{1.5.3}}', 'ERR template: :1: unexpected ".3" in operand', True),
    ('{{@}}', 'ERR template: :1: unexpected "@" in command', True),
    ('{{nil}}', 'ERR template: :1:2: executing "" at <nil>: nil is not a command', False),
    ('{{"a" "b"}}', 'ERR template: :1:2: executing "" at <"a">: can\'t give argument to non-function "a"', False),
    ('{{. 1}}', 'ERR template: :1:2: executing "" at <.>: can\'t give argument to non-function .', False),
    ('{{if 1}}a{{else}}b{{else}}c{{end}}', 'ERR template: :1: expected end; found {{else}}', True),
    ('{{with $x := "v"}}{{$x}}{{end}}', 'v'),
    ('{{if and 1 0}}y{{else}}n{{end}}|{{and 1 2}}|{{or 0 ""}}|{{and}}', 'ERR template: :1:58: executing "" at <and>: wrong number of args for and: want at least 1 got 0', False),
    ('{{not}}', 'ERR template: :1:2: executing "" at <not>: wrong number of args for not: want 1 got 0', False),
    ('{{len 3}}', 'ERR template: :1:2: executing "" at <len 3>: error calling len: len of type int', False),
    ('{{len "héllo"}} {{len nil}}', 'ERR template: :1:19: executing "" at <len nil>: error calling len: reflect: call of reflect.Value.Type on zero Value', False),
    ('{{index "abc" 1}} {{index "abc" 3}}', 'ERR template: :1:20: executing "" at <index "abc" 3>: error calling index: reflect: string index out of range', False),
    ('{{index "abc" 4}}', 'ERR template: :1:2: executing "" at <index "abc" 4>: error calling index: index out of range: 4', False),
    ('{{index 3 1}}', 'ERR template: :1:2: executing "" at <index 3 1>: error calling index: can\'t index item of type int', False),
    ('{{index nil 1}}', 'ERR template: :1:2: executing "" at <index nil 1>: error calling index: index of untyped nil', False),
    ('{{slice "abcdef" 1 3}} {{slice "abc" 2}} {{slice "abc"}}', 'bc c abc'),
    ('{{slice "abc" 2 1}}', 'ERR template: :1:2: executing "" at <slice "abc" 2 1>: error calling slice: invalid slice index: 2 > 1', False),
    ('{{slice "abc" 1 2 3}}', 'ERR template: :1:2: executing "" at <slice "abc" 1 2 3>: error calling slice: cannot 3-index slice a string', False),
    ('{{slice 3}}', 'ERR template: :1:2: executing "" at <slice 3>: error calling slice: can\'t slice item of type int', False),
    ('{{eq 1 1}} {{eq 1 2 1}} {{eq "a" "a"}} {{ne 1 2}} {{lt 1.5 2.5}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}', 'true true true true true true true false'),
    ('{{eq 1 1.0}}', 'ERR template: :1:2: executing "" at <eq 1 1.0>: error calling eq: incompatible types for comparison', False),
    ('{{lt true false}}', 'ERR template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison', False),
    ('{{eq}}', 'ERR template: :1:2: executing "" at <eq>: wrong number of args for eq: want at least 1 got 0', False),
    ('{{eq nil nil}}', 'true'),
    ('{{lt nil 1}}', 'ERR template: :1:2: executing "" at <lt nil 1>: error calling lt: invalid type for comparison', False),
    ('{{html "<a href=\'x\'>&\\"</a>"}} {{js "<a href=\'x\'>&=\\"\\\\\\n</a>é"}} {{urlquery "a b/c?d=é~_-."}}', '&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt; \\u003Ca href\\u003D\\\'x\\\'\\u003E\\u0026\\u003D\\"\\\\\\u000A\\u003C/a\\u003Eé a+b%2Fc%3Fd%3D%C3%A9~_-.'),
    ('{{html 1 2 "a"}}', '1 2a'),
    ('{{print "a" | printf "%s-%s" "b"}}', 'b-a'),
    ('{{"x" | printf "%s"}}', 'x'),
    ('{{printf "%d" | print}}', '%!d(MISSING)'),
    ('{{1 | print}}', '1'),
    ('{{range $i, $e := 3}}{{end}}', 'ERR template: :1:18: executing "" at <3>: can\'t use 3 to iterate over more than one variable', False),
    ('{{range "abc"}}{{end}}', 'ERR template: :1:8: executing "" at <"abc">: range can\'t iterate over abc', False),
    ('{{range 0}}x{{else}}empty{{end}}', 'empty'),
    ('{{range $i, $c := split "a,b" ","}}{{$i}}={{$c}} {{end}}', '0=a 1=b '),
    ('{{range $c := split "a,b" ","}}{{$c}}{{end}}', 'ab'),
    ('{{$x := 0}}{{range $x = split "a,b" ","}}{{end}}{{$x}}', 'b'),
    ('{{$i := 9}}{{$e := 8}}{{range $i, $e = split "a,b" ","}}{{end}}{{$i}}{{$e}}', '1b'),
    ('{{split "a,b,c" ","}} {{split "abc" ""}} {{split "" ","}}', '[a b c] [a b c] []'),
    ('{{join (split "a,b" ",") "-"}}', 'a-b'),
    ('{{title "hello wORLD foo_bar x-y é"}} {{upper "abcß"}} {{lower "ÀB"}}', 'Hello WORLD Foo_bar X-Y É ABCß àb'),
    ('{{pad "" 2 2}}|{{pad "x" 0 3}}|', '|x   |'),
    ('{{truncate "abcdef" 3}}|{{truncate "ab" 5}}|{{truncate "héllo" 2}}', 'abc|ab|h\udcc3'),
    ('{{json "a<b>&c"}} {{json 1.5}} {{json 1e21}} {{json 1e-7}} {{json nil}} {{json (split "a,b" ",")}} {{json 100000000.0}}', '"a<b>&c" 1.5 1e+21 1e-7 null ["a","b"] 100000000'),
    ('{{json 3}}', '3'),
    ('{{upper 3}}', 'ERR template: :1:8: executing "" at <3>: expected string; found 3', False),
    ('{{pad "a" "b" 1}}', 'ERR template: :1:10: executing "" at <"b">: expected integer; found "b"', False),
    ('{{truncate "abc" -1}}', 'ERR template: :1:2: executing "" at <truncate "abc" -1>: error calling truncate: runtime error: slice bounds out of range [:-1]', False),
    ('{{upper}}', 'ERR template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0', False),
    ('{{upper "a" "b"}}', 'ERR template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 2', False),
    ('{{- "a" }}  {{- "b" -}}   {{"c"}}', 'abc'),
    ('{{"a"}}  {{-/* c */-}}  {{"b"}}', 'ERR template: :1: illegal number syntax: "-"', True),
    ('{{-3}} {{- 3}}', '-33'),
    ('{{\'\\n\'}} {{\'\\x41\'}} {{\'\\u00e9\'}} {{"\\x41\\101\\u00e9\\U0001F600\\t|"}}', '10 65 233 AAé😀\t|'),
    ('{{`raw\\n`}}', 'raw\\n'),
    ('{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{1e3}} {{.5}} {{+3}} {{0x1p-2}}', '31 15 15 5 1000 1000 0.5 3 0.25'),
    ('{{printf "%T" 1e3}} {{printf "%T" \'a\'}} {{printf "%T" 0x10}}', 'float64 int int'),
    ('{{call 1}}', 'ERR template: :1:2: executing "" at <call 1>: error calling call: non-function 1 of type int', False),
    ('{{call nil}}', 'ERR template: :1:2: executing "" at <call nil>: error calling call: call of nil', False),
    ('{{if eq 1 1}}{{"yes"}}{{end}}', 'yes'),
    ('{{define "a"}}{{.Nope}}{{end}}{{template "a" 1}}', 'ERR template: :1:16: executing "a" at <.Nope>: can\'t evaluate field Nope in type int', False),
    ('{{$x := "s"}}{{$x.Foo}}', 'ERR template: :1:17: executing "" at <$x.Foo>: can\'t evaluate field Foo in type string', False),
    ('{{(split "a:b" ":").Foo}}', 'ERR template: :1:15: executing "" at <":">: can\'t evaluate field Foo in type []string', False),
    ('{{"abc" | len}}', '3'),
    ('{{3 | len}}', 'ERR template: :1:6: executing "" at <len>: error calling len: len of type int', False),
    ('{{index . "k"}}', '<no value>'),
    ('{{.Foo 1}}', 'ERR template: :1:2: executing "" at <.Foo>: Foo is not a method but has arguments', False),
]


@pytest.mark.parametrize("case", DOCKER_TEMPLATE_CASES, ids=lambda c: c[0][:40])
def test_matches_docker(case: tuple[Any, ...]) -> None:
    template, expected = case[0], case[1]
    if not expected.startswith("ERR "):
        assert render(template, {}) == expected
        return
    error = error_of(template, {})
    assert "ERR " + str(error) == expected
    assert error.parse is case[2]


class ImageContext:
    """A stand-in for docker's *formatter.imageContext: accessors are methods and attributes."""

    __go_type__ = "*formatter.imageContext"

    def __init__(self) -> None:
        self.Tag = "latest"
        self.calls = 0

    def ID(self) -> str:
        self.calls += 1
        return "0123456789ab"

    def Repository(self) -> str:
        return "busybox"

    def Labels(self) -> dict[str, str]:
        return {"org.dyr": "one"}

    def Label(self, name: str) -> str:
        return self.Labels().get(name, "")

    def __go_json__(self) -> str:
        return '{"ID": "0123456789ab",\n "Tag": "\\u003cnone\\u003e"}'


# --- the examples of cli.md §1.2 and §2.6 ------------------------------------------------------------


def test_spec_examples() -> None:
    row = ImageContext()
    assert render("{{.Repository}}:{{.Tag}} {{.ID}}", row) == "busybox:latest 0123456789ab"
    assert render("{{.Labels}}", row) == "map[org.dyr:one]"
    assert render('{{.Label "org.dyr"}}', row) == "one"
    assert render('{{printf "%-10s|" .Tag}}', row) == "latest    |"
    assert render("{{json .}}", row) == '{"ID":"0123456789ab","Tag":"\\u003cnone\\u003e"}'
    assert render("{{json .Tag}}", {"Tag": "<none>"}) == '"<none>"'
    assert str(error_of("{{.Foo}}", row)) == (
        'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.imageContext'
    )
    assert str(error_of("{{.Nope}}", {"Id": "x"}, missingkey_error=True)) == (
        'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'
    )
    assert error_of("{{.Foo", row).parse is True
    assert str(error_of("{{.Foo", row)) == "template: :1: unclosed action"


def test_go_object_methods_run_only_when_used() -> None:
    row = ImageContext()
    assert render("{{if false}}{{.ID}}{{end}}{{and false .ID}}", row) == "false"
    assert row.calls == 0
    assert render("{{or .ID .Tag}}", row) == "0123456789ab"
    assert row.calls == 1


def test_method_arguments_are_checked() -> None:
    row = ImageContext()
    assert "wrong number of args for Label: want 1 got 0" in str(error_of("{{.Label}}", row))
    assert "wrong number of args for ID: want 0 got 1" in str(error_of('{{.ID "x"}}', row))
    assert str(error_of("{{.Tag 1}}", row)).endswith("Tag has arguments but cannot be invoked as function")
    assert "can't evaluate field calls" in str(error_of("{{.calls}}", row))


# --- the value model ---------------------------------------------------------------------------------


def test_struct_fields_keep_order_and_unknown_fields_fail() -> None:
    value = Struct("types.ImageInspect", {"Id": "sha256:x", "RepoTags": ["a:1"], "Size": 5})
    assert render("{{.}}", value) == "{sha256:x [a:1] 5}"
    assert render("{{json .}}", value) == '{"Id":"sha256:x","RepoTags":["a:1"],"Size":5}'
    assert render("{{.Id}} {{index .RepoTags 0}}", value) == "sha256:x a:1"
    assert str(error_of("{{.Nope}}", value)) == (
        'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type types.ImageInspect'
    )


def test_map_lookup_missing_keys_and_nil_values() -> None:
    data = {"A": {"B": "deep"}, "N": None, "Empty": {}}
    assert render("{{.A.B}} {{.Missing}} {{.Missing.Deeper}} {{.N}}", data) == "deep <no value> <no value> <no value>"
    assert render("{{print .Missing .N}}", data) == "<nil> <nil>"
    assert render("{{.Empty}} {{len .Empty}}", data) == "map[] 0"
    assert str(error_of("{{.N.X}}", data)) == (
        'template: :1:4: executing "" at <.N.X>: nil pointer evaluating interface {}.X'
    )
    assert str(error_of("{{.Missing.Deeper}}", data, missingkey_error=True)).endswith(
        'map has no entry for key "Missing"'
    )
    assert str(error_of("{{.Os.Foo}}", {"Os": "linux"})).endswith(
        "can't evaluate field Foo in type interface {}"
    )


def test_nil_data_and_typed_nils() -> None:
    assert render("{{.}}|{{.X}}", None) == "<no value>|<no value>"
    assert render("{{.S}} {{json .S}} {{len .S}}", {"S": NIL_SLICE}) == "[] null 0"


def test_json_encoding_of_values() -> None:
    data = {"b": [1, 2.5, None, True], "a": "x<y>&\u2028", "f": 1e21, "g": 1e-7, "n": 100000000.0, "raw": b"hi"}
    assert render("{{json .}}", data) == (
        '{"a":"x<y>&\\u2028","b":[1,2.5,null,true],"f":1e+21,"g":1e-7,"n":100000000,"raw":"aGk="}'
    )
    assert render("{{json .x}}", {"x": float("nan")}) == ""


# --- syntax ------------------------------------------------------------------------------------------


def test_ranges_over_maps_in_key_order_with_variables() -> None:
    data = {"m": {"b": 2, "a": 1, "c": 3}, "l": ["x", "y"]}
    assert render("{{range $k, $v := .m}}{{$k}}={{$v}} {{end}}", data) == "a=1 b=2 c=3 "
    assert render("{{range .m}}{{.}}{{end}}", data) == "123"
    assert render("{{range $i, $e := .l}}{{$i}}:{{$e}}:{{$.l}} {{end}}", data) == "0:x:[x y] 1:y:[x y] "
    assert render("{{range .none}}x{{else}}empty{{end}}", data) == "empty"
    assert render("{{range .l}}{{if eq . \"x\"}}{{continue}}{{end}}{{.}}{{break}}{{end}}", data) == "y"


def test_variables_scope_until_end() -> None:
    text = "{{$x := 1}}{{if true}}{{$x = 2}}{{$y := 3}}{{$y}}{{end}}{{$x}}"
    assert render(text) == "32"
    assert str(error_of("{{if true}}{{$y := 3}}{{end}}{{$y}}")) == 'template: :1: undefined variable "$y"'


def test_trim_markers_comments_and_multiline_actions() -> None:
    assert render("a  {{- /* note */ -}}  b\n{{- 1 -}}\n c") == "ab1c"
    assert render("{{.A\n}}", {"A": "ok"}) == "ok"
    assert render("{{-3}}") == "-3"


def test_define_template_and_block() -> None:
    text = '{{define "row"}}[{{.}}]{{end}}{{range .}}{{template "row" .}}{{end}}{{block "b" "x"}}<{{.}}>{{end}}'
    assert render(text, ["a", "b"]) == "[a][b]<x>"
    error = error_of('{{define "r"}}\n {{.Nope}}{{end}}{{template "r" 1}}')
    assert str(error) == 'template: :2:3: executing "r" at <.Nope>: can\'t evaluate field Nope in type int'


def test_error_position_is_a_byte_column_on_the_right_line() -> None:
    # Recorded from docker: a chain's position is that of its second field.
    assert str(error_of("é\nab {{.Os.Foo}}", {"Os": "linux"})) == (
        'template: :2:8: executing "" at <.Os.Foo>: can\'t evaluate field Foo in type interface {}'
    )
    assert str(error_of("éé{{.Os.Foo}}", {"Os": "linux"})).startswith("template: :1:9:")
    assert str(error_of("line1\n{{if}}")) == "template: :2: missing value for if"


# --- functions ---------------------------------------------------------------------------------------


def test_docker_functions() -> None:
    assert render('{{join (split "a:b:c" ":") ", "}}') == "a, b, c"
    assert render('{{join .L "-"}} {{join .M ","}}', {"L": ["x", 1], "M": {"k1": "b", "k2": "a"}}) == "x-1 a,b"
    assert render('{{title "hello wORLD foo_bar x-y"}}') == "Hello WORLD Foo_bar X-Y"
    assert render('{{upper "abcß"}} {{lower "ÀB"}}') == "ABCß àb"
    assert render('[{{pad "x" 1 2}}][{{pad "" 3 3}}]') == "[ x  ][]"
    assert render('{{truncate "abcdef" 3}}|{{truncate "ab" 5}}') == "abc|ab"
    assert str(error_of("{{upper .Size}}", {"Size": 5})) == (
        'template: :1:8: executing "" at <.Size>: wrong type for value; expected string; got int'
    )


def test_header_functions_keep_labels_and_partial_output_survives_an_error() -> None:
    template = Template.parse("{{upper .Repository}}\t{{pad .Tag 1 1}}\t{{truncate .ID 3}}", docker_funcs())
    header = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID"}
    assert template.with_funcs(header_funcs()).execute(header) == "REPOSITORY\t TAG \tIMAGE ID"
    as_json = Template.parse("{{.Repository}} {{json .}}", docker_funcs()).with_funcs(header_funcs())
    out, error = as_json.execute_partial(header)
    assert out == "REPOSITORY "
    assert error is not None and "expected string" in str(error)


def test_custom_functions_plain_and_typed() -> None:
    def fail(*_args: Any) -> str:
        raise FuncError("boom")

    funcs = {"twice": lambda s: s * 2, "fail": fail, "add": GoFunc(lambda a, b: a + b, ("int", "int"))}
    template = Template.parse('{{twice "ab"}} {{"x" | twice}} {{add 1 2}}', funcs)
    assert template.execute(None) == "abab xx 3"
    with pytest.raises(TemplateError) as info:
        Template.parse("{{fail 1}}", funcs).execute(None)
    assert str(info.value) == 'template: :1:2: executing "" at <fail 1>: error calling fail: boom'
    with pytest.raises(TemplateError) as info:
        Template.parse('{{add 1 "2"}}', funcs).execute(None)
    assert str(info.value).endswith('expected integer; found "2"')


def test_call_invokes_a_function_value() -> None:
    assert render("{{call .F 2}}", {"F": lambda n: n * 21}) == "42"
    assert str(error_of("{{call .F}}", {"F": None})).endswith("error calling call: call of nil")


def test_index_slice_len_on_data() -> None:
    data = {"Map": {"k": "v"}, "List": ["a", "b", "c"]}
    assert render('{{index .Map "k"}} {{index .Map "zz"}} {{index .List 1}}', data) == "v <no value> b"
    assert render('{{slice .List 1}} {{slice "abc" 1 2}} {{len .List}} {{len .Map}}', data) == "[b c] b 3 1"
    assert str(error_of("{{index .Map 1}}", data)).endswith("error calling index: value has type int; should be string")
