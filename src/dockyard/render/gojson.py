"""Go's encoding/json for strings and floats: the pieces both JSON encoders (template values in
``gotemplate_json``, table rows in ``formatter``) share. Import-light: ``images --format json`` uses it."""

from __future__ import annotations

import json
import math


class UnsupportedValue(ValueError):
    """A value encoding/json refuses (NaN, infinities)."""


def encode_string(text: str, *, escape_html: bool) -> str:
    """A JSON string as Go (1.22+) writes it: ``\\b`` ``\\f`` ``\\n`` ``\\r`` ``\\t`` short escapes, other
    controls as ``\\u00XX``, U+2028/2029 escaped, non-ASCII as is, invalid UTF-8 as ``\\ufffd``."""
    encoded = json.dumps(text, ensure_ascii=False)
    encoded = encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if escape_html:
        encoded = encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if any("\ud800" <= ch <= "\udfff" for ch in encoded):
        # a lone surrogate is an undecodable byte: Go writes the escape, one per invalid byte
        encoded = "".join("\\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in encoded)
    return encoded


def encode_float(value: float) -> str:
    """The shortest digits that round-trip, fixed notation unless very small or large (Go's cut-offs)."""
    if math.isnan(value) or math.isinf(value):
        go_text = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        raise UnsupportedValue(f"json: unsupported value: {go_text}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        # Python's repr is already in exponent form here; Go drops the exponent's leading zero
        mantissa, _, exponent = repr(value).partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"
    from decimal import Decimal  # only for floats in JSON

    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
