"""Go fmt printing (%v, Sprint, Sprintf): verbs, flags, width/precision and Go's in-band errors."""

from __future__ import annotations

import pytest

from dockyard.render.gofmt import go_quote, go_sprint, sprint, sprintf, sprintln
from dockyard.render.gotemplate import NIL_MAP, NIL_PTR, NIL_SLICE, Struct, Template, docker_funcs

pytestmark = pytest.mark.unit

# (template, output) pairs recorded from docker 28.2.2 (`docker image inspect -f TEMPLATE`).
DOCKER_PRINTF_CASES = [
    ('{{printf "%05s|%-5s|%5s|%.1s" "ab" "ab" "ab" "xyz"}}', '000ab|ab   |   ab|x'),
    ('{{printf "%d %5d %-5d| %05d %+d % d %x %X %o %O %b %#x %#o %c %q %U %#U" 42 42 42 -42 42 42 255 255 8 8 5 255 8 65 65 65 65}}', "42    42 42   | -0042 +42  42 ff FF 10 0o10 101 0xff 010 A 'A' U+0041 U+0041 'A'"),
    ('{{printf "%v %v %v %v %v %v %v" 1.0 1e6 123456.0 1234567.0 0.0001 0.00001 1e21}}', '1 1e+06 123456 1.234567e+06 0.0001 1e-05 1e+21'),
    ('{{printf "%f %.2f %8.3f %-8.2f| %e %E %.3e %g %G %.3g %.10g" 3.14159 3.14159 3.14159 3.14159 1234.5678 1234.5678 1234.5678 1234.5678 1e-7 1234.5678 1234.5678}}', '3.141590 3.14    3.142 3.14    | 1.234568e+03 1.234568E+03 1.235e+03 1234.5678 1E-07 1.23e+03 1234.5678'),
    ('{{printf "%+.2f %08.3f %+08.2f % .2f" 3.14159 -3.14159 3.14159 3.14159}}', '+3.14 -003.142 +0003.14  3.14'),
    ('{{printf "%q %+q %#q %x % x %#x %X" "héllo\\n" "héllo" "abc" "hi" "hi" "hi" "hi"}}', '"héllo\\n" "h\\u00e9llo" `abc` 6869 68 69 0x6869 6869'),
    ('{{printf "%t %v %5t" true false true}}', 'true false  true'),
    ('{{printf "%d" "a"}}', '%!d(string=a)'),
    ('{{printf "%s" 1}}', '%!s(int=1)'),
    ('{{printf "%d %d" 1}}', '1 %!d(MISSING)'),
    ('{{printf "%d" 1 2 "x"}}', '1%!(EXTRA int=2, string=x)'),
    ('{{printf "%!" }}', '%!!(MISSING)'),
    ('{{printf "%"}}', '%!(NOVERB)'),
    ('{{printf "%[2]d %[1]d" 1 2}}', '2 1'),
    ('{{printf "%[3]d" 1 2}}', '%!d(BADINDEX)'),
    ('{{printf "%*d|%-*d" 5 1 5 2}}', '    1|2    '),
    ('{{printf "%.*f" 2 3.14159}}', '3.14'),
    ('{{printf "%s" nil}}', '%!s(<nil>)'),
    ('{{printf "%v" nil}}', '<nil>'),
    ('{{printf "%d" 3.5}}', '%!d(float64=3.5)'),
    ('{{printf "%T %T %T %T" 1 "a" 1.5 true}}', 'int string float64 bool'),
    ('{{printf "%6.2v|" 3.14159}}', '   3.1|'),
    ('{{printf "%x %X" 3.5 -1}}', '0x1.cp+01 -1'),
    ('{{printf "%s" (split "a:b" ":")}}', '[a b]'),
    ('{{printf "%q" (split "a:b" ":")}}', '["a" "b"]'),
    ('{{printf "%v %d" (split "a:b" ":") (split "a:b" ":")}}', '[a b] [%!d(string=a) %!d(string=b)]'),
    ('{{printf "%5s|" (split "a:b" ":")}}', '[    a     b]|'),
    ('{{printf "%c|%5c|%-3c|" 0x1F600 97 98}}', '😀|    a|b  |'),
    ('{{printf "%x" -255}}', '-ff'),
    ('{{printf "%.0d|%.3d|%5.3d" 0 7 7}}', '|007|  007'),
    ('{{printf "%e" 0.0}}', '0.000000e+00'),
    ('{{printf "%g %v" 100000.0 100000.0}}', '100000 100000'),
    ('{{printf "%.2g %.1g %#g" 100.0 0.05 1.0}}', '1e+02 0.05 1.00000'),
    ('{{printf "%v %v" -0.0 1e-320}}', '-0 1e-320'),
    ('{{print 1 2 "a" "b" 3 nil 4}}', '1 2ab3 <nil> 4'),
    ('{{println "a" 1 2}}', 'a 1 2\n'),
    ('{{print}}', ''),
    ('{{printf "%%"}}', '%'),
    ('{{printf "%-05d|" 3}}', '3    |'),
    ('{{printf "%08s|" "héllo"}}', '000héllo|'),
    ('{{printf "%x %X %.2x %x %x %.0x" 3.5 0.1 0.1 0.0 1e-310 1.9}}', '0x1.cp+01 0X1.999999999999AP-04 0x1.9ap-04 0x0p+00 0x1.2688b70e62bp-1030 0x1p+01'),
]


@pytest.mark.parametrize(("template", "expected"), DOCKER_PRINTF_CASES)
def test_printf_matches_docker(template: str, expected: str) -> None:
    assert Template.parse(template, docker_funcs()).execute({}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "<nil>"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (1.0, "1"),
        (1.5, "1.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-0.0, "-0"),
        (float("inf"), "+Inf"),
        (float("nan"), "NaN"),
        ("text", "text"),
        (b"hi", "[104 105]"),
        ([], "[]"),
        (["a", "b"], "[a b]"),
        ([1, [2, 3], None], "[1 [2 3] <nil>]"),
        ({}, "map[]"),
        ({"org.dyr": "one"}, "map[org.dyr:one]"),
        ({"b": 2, "a": 1, "c": None}, "map[a:1 b:2 c:<nil>]"),
        ({"k": {"x": ["y"]}}, "map[k:map[x:[y]]]"),
        (Struct("T", {"B": "v1", "A": 2}), "{v1 2}"),
        (Struct("T", {"Inner": Struct("U", {"X": None})}), "{{<nil>}}"),
        (NIL_SLICE, "[]"),
        (NIL_MAP, "map[]"),
        (NIL_PTR, "<nil>"),
    ],
)
def test_go_sprint_prints_like_percent_v(value: object, expected: str) -> None:
    assert go_sprint(value) == expected


def test_plus_v_names_struct_fields() -> None:
    value = Struct("T", {"Name": "x", "Size": 3, "Labels": {"a": "b"}})
    assert sprintf("%+v", value) == "{Name:x Size:3 Labels:map[a:b]}"
    assert sprintf("%v", value) == "{x 3 map[a:b]}"


def test_verbs_apply_to_every_element_of_a_composite() -> None:
    assert sprintf("%q", ["a", "b"]) == '["a" "b"]'
    assert sprintf("%5d|", [1, 22]) == "[    1    22]|"
    assert sprintf("%d", ["a"]) == "[%!d(string=a)]"
    assert sprintf("%x", {"k": 255}) == "map[6b:ff]"


def test_go_object_prints_as_pointer_to_struct_or_via_string_method() -> None:
    class Row:
        __go_type__ = "*formatter.imageContext"

        def __init__(self) -> None:
            self.ID = "abc"
            self.Size = 5

    class Named:
        __go_type__ = "*x.named"

        def String(self) -> str:
            return "custom"

    assert go_sprint(Row()) == "&{abc 5}"
    assert sprintf("%s|%10v|", Named(), Named()) == "custom|    custom|"


def test_sprint_spaces_only_between_non_string_operands() -> None:
    assert sprint("a", 1, 2, "b", 3) == "a1 2b3"
    assert sprint(1, None, 2) == "1 <nil> 2"
    assert sprint() == ""
    assert sprintln("a", 1, "b") == "a 1 b\n"


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        ("%s", (), "%!s(MISSING)"),
        ("%d", (None,), "%!d(<nil>)"),
        ("%d %s", (1, "x", 2), "1 x%!(EXTRA int=2)"),
        ("%z", (1,), "%!z(int=1)"),
        ("%5d", ("ab",), "%!d(string=   ab)"),
        ("100%%", (), "100%"),
        ("%-8s|%8s|", ("ab", "cd"), "ab      |      cd|"),
        ("%.3s|%.10s", ("abcdef", "ab"), "abc|ab"),
        ("%6.2f|%-8.3e|", (3.14159, 1234.5), "  3.14|1.234e+03|"),
        ("%x %X %#x %o %b", (3054, 3054, 3054, 8, 5), "bee BEE 0xbee 10 101"),
        ("%c%c", (72, 0x1F600), "H\U0001f600"),
        ("%q %q", ("tab\there", 'quote"'), '"tab\\there" "quote\\""'),
        ("%T %T %T %T", ({}, [1], "s", None), "map[string]interface {} []interface {} string <nil>"),
        ("%t", (1,), "%!t(int=1)"),
        ("%*d", ("x", 1), "%!(BADWIDTH)1"),
        ("%.*d", (-1, 5), "%!(BADPREC)5"),
        ("%[2]s %[1]s %s", ("a", "b"), "b a b"),
    ],
)
def test_sprintf(fmt: str, args: tuple[object, ...], expected: str) -> None:
    assert sprintf(fmt, *args) == expected


@pytest.mark.parametrize(
    ("text", "ascii_only", "expected"),
    [
        ("plain", False, '"plain"'),
        ("é\n\x00\x7f", False, '"é\\n\\x00\\x7f"'),
        ("é😀", True, '"\\u00e9\\U0001f600"'),
        ("\u200b", False, '"\\u200b"'),
    ],
)
def test_go_quote_is_strconv_quote(text: str, ascii_only: bool, expected: str) -> None:
    assert go_quote(text, ascii_only=ascii_only) == expected
