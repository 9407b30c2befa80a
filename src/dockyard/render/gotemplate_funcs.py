"""Template functions: Go's text/template builtins and docker's templates.go functions.

A function is a ``GoFunc``: a Python callable plus the Go parameter types the executor checks and converts
arguments against (``"any"`` = interface{}, ``"value"`` = reflect.Value, ``"string"``, ``"int"``, ``"bool"``,
``"float64"``, ``"[]string"``). A plain Python callable is taken as ``func(...interface{})``. A function
reports a Go error by raising ``FuncError`` (any other exception is reported the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.render.gofmt import go_sprint, sort_keys, sprint, sprintf, sprintln
from dockyard.render.gotemplate_json import UnsupportedValue, go_json
from dockyard.render.gotemplate_values import GoNil, Struct, go_type_name, is_go_object


class FuncError(Exception):
    """The error a Go template function returns (its text goes after ``error calling NAME: ``)."""


@dataclass(frozen=True)
class GoFunc:
    fn: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None
    builtin: str = ""


def as_go_func(fn: Callable[..., Any] | GoFunc) -> GoFunc:
    return fn if isinstance(fn, GoFunc) else GoFunc(fn, (), "any")


# --- truth and comparison -----------------------------------------------------------------------------


def is_true(value: Any) -> tuple[bool, bool]:
    """Go's template truth: (truth, ok). None and the missing value are false."""
    if value is None or isinstance(value, GoNil):
        return False, True
    if isinstance(value, bool):
        return value, True
    if isinstance(value, (int, float, complex)):
        return value != 0, True
    if isinstance(value, (str, bytes, bytearray, list, tuple, dict)):
        return len(value) > 0, True
    return True, True  # structs, pointers and funcs


def truth(value: Any) -> bool:
    return is_true(value)[0]


def _basic_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, complex):
        return "complex"
    if isinstance(v, str):
        return "string"
    return "invalid"


def _is_nil(v: Any) -> bool:
    return v is None or isinstance(v, GoNil)


def _go_kind(v: Any) -> str:
    if v is None:
        return "invalid"
    if isinstance(v, GoNil):
        return v.kind
    if isinstance(v, (list, tuple, bytes, bytearray)):
        return "slice"
    if isinstance(v, dict) and not isinstance(v, Struct):
        return "map"
    if isinstance(v, Struct):
        return "struct"
    if is_go_object(v):
        return "ptr"
    if callable(v):
        return "func"
    return _basic_kind(v)


def builtin_eq(arg1: Any, *args: Any) -> bool:
    if not args:
        raise FuncError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in args:
        k2 = _basic_kind(arg)
        if k1 != k2:
            if arg1 is not None and arg is not None:
                raise FuncError("incompatible types for comparison")
            result = False
        elif k1 != "invalid":
            result = arg1 == arg
        else:
            g1, g2 = _go_kind(arg1), _go_kind(arg)
            if g1 != g2 and g1 != "invalid" and g2 != "invalid":
                raise FuncError(
                    f"non-comparable types {go_sprint(arg1)}: {go_type_name(arg1)}, "
                    f"{go_type_name(arg)}: {go_sprint(arg)}"
                )
            if _is_nil(arg1) or _is_nil(arg):
                result = _is_nil(arg1) == _is_nil(arg)
            elif g2 in ("slice", "map", "func"):
                raise FuncError(f"non-comparable type {go_sprint(arg)}: {go_type_name(arg)}")
            else:
                result = arg1 is arg if g2 == "ptr" else arg1 == arg
        if result:
            return True
    return False


def builtin_ne(arg1: Any, arg2: Any) -> bool:
    return not builtin_eq(arg1, arg2)


def builtin_lt(arg1: Any, arg2: Any) -> bool:
    k1, k2 = _basic_kind(arg1), _basic_kind(arg2)
    if k1 == "invalid" or k2 == "invalid":
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    if k1 in ("bool", "complex"):
        raise FuncError("invalid type for comparison")
    if k1 == "string":
        return arg1.encode("utf-8", "surrogateescape") < arg2.encode("utf-8", "surrogateescape")
    return bool(arg1 < arg2)


def builtin_le(arg1: Any, arg2: Any) -> bool:
    return builtin_lt(arg1, arg2) or builtin_eq(arg1, arg2)


def builtin_gt(arg1: Any, arg2: Any) -> bool:
    return not builtin_le(arg1, arg2)


def builtin_ge(arg1: Any, arg2: Any) -> bool:
    return not builtin_lt(arg1, arg2)


# --- index, slice, len -------------------------------------------------------------------------------


def _index_arg(index: Any, cap: int) -> int:
    if index is None:
        raise FuncError("cannot index slice/array with nil")
    if isinstance(index, bool) or not isinstance(index, int):
        raise FuncError(f"cannot index slice/array with type {go_type_name(index)}")
    if index < 0 or index > cap:
        raise FuncError(f"index out of range: {index}")
    return index


def builtin_index(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if isinstance(item, GoNil) and item.kind == "ptr":
            raise FuncError("index of nil pointer")
        if isinstance(item, str):
            data = item.encode("utf-8", "surrogateescape")
            x = _index_arg(index, len(data))
            if x == len(data):
                raise FuncError("reflect: string index out of range")
            item = data[x]
        elif isinstance(item, (list, tuple, bytes, bytearray)) or (isinstance(item, GoNil) and item.kind == "slice"):
            seq = item if not isinstance(item, GoNil) else []
            x = _index_arg(index, len(seq))
            if x == len(seq):
                raise FuncError("reflect: slice index out of range")
            item = seq[x]
        elif (isinstance(item, dict) and not isinstance(item, Struct)) or (isinstance(item, GoNil) and item.kind == "map"):
            if index is not None and not isinstance(index, str):
                raise FuncError(f"value has type {go_type_name(index)}; should be string")
            item = item.get(index) if isinstance(item, dict) and index is not None else None
        else:
            raise FuncError(f"can't index item of type {go_type_name(item)}")
    return item


def builtin_slice(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data = item.encode("utf-8", "surrogateescape")
        length = cap = len(data)
    elif isinstance(item, (list, tuple, bytes, bytearray)) or (isinstance(item, GoNil) and item.kind == "slice"):
        data = item if not isinstance(item, GoNil) else []
        length = cap = len(data)
    else:
        raise FuncError(f"can't slice item of type {go_type_name(item)}")
    idx = [0, length, 0]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, cap)
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    part = data[idx[0] : idx[1]]
    if isinstance(item, str):
        return bytes(part).decode("utf-8", "surrogateescape")
    return list(part) if isinstance(part, tuple) else part


def builtin_len(item: Any) -> int:
    if isinstance(item, GoNil):
        if item.kind == "ptr":
            raise FuncError("len of nil pointer")
        return 0
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogateescape"))
    if isinstance(item, (list, tuple, dict, bytes, bytearray)) and not isinstance(item, Struct):
        return len(item)
    if item is None:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    raise FuncError(f"len of type {go_type_name(item)}")


def builtin_not(arg: Any) -> bool:
    return not truth(arg)


# --- escapers ---------------------------------------------------------------------------------------


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(*args)


_HTML = {"\0": "\ufffd", '"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}


def builtin_html(*args: Any) -> str:
    return "".join(_HTML.get(ch, ch) for ch in _eval_args(args))


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def builtin_js(*args: Any) -> str:
    out = []
    for ch in _eval_args(args):
        cp = ord(ch)
        if ch in _JS:
            out.append(_JS[ch])
        elif cp < 0x20:
            out.append(f"\\u00{cp:02X}")
        elif cp >= 0x80 and not (ch.isprintable() or ch == " "):
            out.append(f"\\u{cp:04X}")
        else:
            out.append(ch)
    return "".join(out)


def builtin_urlquery(*args: Any) -> str:
    out = []
    for byte in _eval_args(args).encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        if ch.isascii() and (ch.isalnum() or ch in "-_.~"):
            out.append(ch)
        elif ch == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _unreachable(*_args: Any) -> Any:
    raise AssertionError("handled by the executor")


BUILTINS: dict[str, GoFunc] = {
    "and": GoFunc(_unreachable, ("value",), "value", "and"),
    "or": GoFunc(_unreachable, ("value",), "value", "or"),
    "call": GoFunc(_unreachable, ("value",), "value", "call"),
    "not": GoFunc(builtin_not, ("value",), None, "not"),
    "len": GoFunc(builtin_len, ("value",), None, "len"),
    "index": GoFunc(builtin_index, ("value",), "value", "index"),
    "slice": GoFunc(builtin_slice, ("value",), "value", "slice"),
    "print": GoFunc(sprint, (), "any", "print"),
    "printf": GoFunc(sprintf, ("string",), "any", "printf"),
    "println": GoFunc(sprintln, (), "any", "println"),
    "html": GoFunc(builtin_html, (), "any", "html"),
    "js": GoFunc(builtin_js, (), "any", "js"),
    "urlquery": GoFunc(builtin_urlquery, (), "any", "urlquery"),
    "eq": GoFunc(builtin_eq, ("value",), "value", "eq"),
    "ne": GoFunc(builtin_ne, ("value", "value"), None, "ne"),
    "lt": GoFunc(builtin_lt, ("value", "value"), None, "lt"),
    "le": GoFunc(builtin_le, ("value", "value"), None, "le"),
    "gt": GoFunc(builtin_gt, ("value", "value"), None, "gt"),
    "ge": GoFunc(builtin_ge, ("value", "value"), None, "ge"),
}


# --- docker's functions (cli/templates/templates.go) -----------------------------------------------


def docker_json(value: Any) -> str:
    try:
        return go_json(value, escape_html=False)
    except UnsupportedValue:
        return ""  # docker ignores the encoder's error and prints what it has: nothing


def _split(s: str, sep: str) -> list[str]:
    if sep == "":
        return list(s)
    return s.split(sep)


def _join(elems: Any, sep: str) -> str:
    if elems is None or isinstance(elems, GoNil):
        return ""
    if isinstance(elems, dict) and not isinstance(elems, Struct):
        return sep.join(sorted(go_sprint(elems[k]) for k in sort_keys(elems)))
    if isinstance(elems, (list, tuple)):
        return sep.join(e if isinstance(e, str) else go_sprint(e) for e in elems)
    raise FuncError(f"wrong type for value; expected []string; got {go_type_name(elems)}")


def _is_separator(ch: str) -> bool:
    # strings.Title's word boundaries.
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    if ch.isalpha() or ch.isdigit():
        return False
    return ch.isspace()


def _title(s: str) -> str:
    out = []
    prev = " "
    for ch in s:
        if _is_separator(prev):
            up = ch.title()
            out.append(up if len(up) == 1 else ch)
        else:
            out.append(ch)
        prev = ch
    return "".join(out)


def _map_runes(s: str, conv: Callable[[str], str]) -> str:
    # Go maps rune by rune; Python's special multi-character cases (ß -> SS) do not apply.
    out = []
    for ch in s:
        mapped = conv(ch)
        out.append(mapped if len(mapped) == 1 else ch)
    return "".join(out)


def _pad(source: str, prefix: int, suffix: int) -> str:
    if source == "":
        return source
    if prefix < 0 or suffix < 0:
        raise FuncError("strings: negative Repeat count")
    return " " * prefix + source + " " * suffix


def _truncate(source: str, length: int) -> str:
    data = source.encode("utf-8", "surrogateescape")
    if len(data) < length:
        return source
    if length < 0:
        raise FuncError(f"runtime error: slice bounds out of range [:{length}]")
    return data[:length].decode("utf-8", "surrogateescape")


def docker_funcs() -> dict[str, GoFunc]:
    """docker's basicFunctions, for every --format template."""
    return {
        "json": GoFunc(docker_json, ("any",)),
        "split": GoFunc(_split, ("string", "string")),
        "join": GoFunc(_join, ("any", "string")),
        "title": GoFunc(_title, ("string",)),
        "lower": GoFunc(lambda s: _map_runes(s, str.lower), ("string",)),
        "upper": GoFunc(lambda s: _map_runes(s, str.upper), ("string",)),
        "pad": GoFunc(_pad, ("string", "int", "int")),
        "truncate": GoFunc(_truncate, ("string", "int")),
    }


def _first(value: Any, *_rest: Any) -> Any:
    return value


def header_funcs() -> dict[str, GoFunc]:
    """docker's HeaderFunctions: identities (typed on strings) so table headers keep their labels; pad pads."""
    return {
        "json": GoFunc(_first, ("string",)),
        "split": GoFunc(_first, ("string", "string")),
        "join": GoFunc(_first, ("string", "string")),
        "title": GoFunc(_first, ("string",)),
        "lower": GoFunc(_first, ("string",)),
        "upper": GoFunc(_first, ("string",)),
        "truncate": GoFunc(_first, ("string", "int")),
        "pad": GoFunc(_pad, ("string", "int", "int")),
    }
