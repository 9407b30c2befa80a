"""Go's encoding/json Marshal of template values (see ``gotemplate_values`` for the value model)."""

from __future__ import annotations

import base64
from typing import Any

from dockyard.render.gofmt import sort_keys
from dockyard.render.gojson import UnsupportedValue, encode_float, encode_string
from dockyard.render.gotemplate_values import GoNil, Struct, go_object_fields, is_go_object


def compact(raw: str) -> str:
    """Remove insignificant white space from a JSON text, as json.Compact does."""
    out: list[str] = []
    in_string = False
    escaped = False
    for ch in raw:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch in " \t\r\n":
            continue
        else:
            if ch == '"':
                in_string = True
            out.append(ch)
    return "".join(out)


def go_json(value: Any, *, escape_html: bool = True) -> str:
    """json.Marshal (escape_html=True) or an Encoder with SetEscapeHTML(false), without the newline."""
    parts: list[str] = []
    _encode(value, parts, escape_html)
    return "".join(parts)


def _encode(value: Any, out: list[str], escape_html: bool) -> None:
    if value is None or isinstance(value, GoNil):
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(encode_float(value))
    elif isinstance(value, str):
        out.append(encode_string(value, escape_html=escape_html))
    elif isinstance(value, (bytes, bytearray)):
        out.append('"' + base64.b64encode(bytes(value)).decode("ascii") + '"')
    elif isinstance(value, Struct):
        _encode_object(list(value.items()), out, escape_html)
    elif isinstance(value, dict):
        _encode_object([(str(k), value[k]) for k in sort_keys(value)], out, escape_html)
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, escape_html)
        out.append("]")
    elif is_go_object(value):
        raw = getattr(value, "__go_json__", None)
        if callable(raw):
            out.append(compact(str(raw())))
        else:
            _encode_object(go_object_fields(value), out, escape_html)
    else:
        raise UnsupportedValue(f"json: unsupported type: {type(value).__name__}")


def _encode_object(items: list[tuple[str, Any]], out: list[str], escape_html: bool) -> None:
    out.append("{")
    for i, (key, item) in enumerate(items):
        if i:
            out.append(",")
        out.append(encode_string(key, escape_html=escape_html))
        out.append(":")
        _encode(item, out, escape_html)
    out.append("}")
