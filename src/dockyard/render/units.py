"""Sizes, durations, short IDs and ellipsis exactly as docker prints them.

Sizes and durations follow docker/go-units (``HumanSizeWithPrecision``, ``BytesSize``, ``HumanDuration``);
``truncate_id`` is moby's ``stringid.TruncateID``; ``ellipsis`` is docker/cli's ``formatter.Ellipsis``.
"""

from __future__ import annotations

from dockyard.digest import short_id as truncate_id  # re-exported for the table renderers

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")

_NS_PER_SECOND = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_SECOND
_NS_PER_HOUR = 60 * _NS_PER_MINUTE

ELLIPSIS = "\u2026"
_INF = float("inf")


def go_format_g(value: float, precision: int) -> str:
    """Go's ``%.{precision}g``. Python's ``%g`` agrees with Go on finite numbers (including the
    ``1e+03`` form); only the spelling of infinities and NaN differs."""
    # math.isnan / math.isinf, without loading the math extension at start-up
    if value != value:
        return "NaN"
    if value in (_INF, -_INF):
        return "+Inf" if value > 0 else "-Inf"
    return "%.*g" % (precision, value)


def _scaled(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 4) -> str:
    """go-units ``HumanSizeWithPrecision``: powers of 1000, ``%g`` then the unit, no space."""
    value, unit = _scaled(float(size), 1000.0, _DECIMAL_UNITS)
    return go_format_g(value, precision) + unit


def human_size_3(size: float) -> str:
    """Precision 3, as in the SIZE column of ``images`` and ``history``."""
    return human_size(size, 3)


def bytes_size(size: float) -> str:
    """go-units ``BytesSize``: powers of 1024 with ``KiB``-style units, precision 4."""
    value, unit = _scaled(float(size), 1024.0, _BINARY_UNITS)
    return go_format_g(value, 4) + unit


def _go_trunc_div(a: int, b: int) -> int:
    """Go's integer division, which truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def human_duration_ns(ns: int) -> str:
    """go-units ``HumanDuration`` of a ``time.Duration`` given in nanoseconds."""
    seconds = int(_go_float_units(ns, _NS_PER_SECOND))
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(_go_float_units(ns, _NS_PER_MINUTE))
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours_float = _go_float_units(ns, _NS_PER_HOUR)
    hours = int(hours_float + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(hours_float) // 24 // 365} years"


def _go_float_units(ns: int, unit: int) -> float:
    """Go's ``Duration.Minutes``/``Hours``: whole units plus the remainder as a fraction."""
    whole = _go_trunc_div(ns, unit)
    return whole + (ns - whole * unit) / unit


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration`` for an age in seconds (callers append `` ago``)."""
    return human_duration_ns(int(round(seconds * _NS_PER_SECOND)))


def _char_width(ch: str) -> int:
    # formatter.Ellipsis counts only East-Asian Wide and Fullwidth as two columns, everything else one
    import unicodedata  # here, not at start-up: the extension is only needed for truncated text

    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def ellipsis(text: str, width: int = 45) -> str:
    """docker/cli ``formatter.Ellipsis``: cut ``text`` so that it plus ``…`` fits in ``width`` columns."""
    if width <= 0:
        return ""
    if width == 1:
        return text[:1]
    if text.isascii():
        if len(text) <= width:
            return text
        return text[: width - 1] + ELLIPSIS
    ends: list[int] = []
    total = 0
    for ch in text:
        total += _char_width(ch)
        ends.append(total)
    if total <= width:
        return text
    limit = width - 1
    for i in range(len(ends) - 1):
        if ends[i] <= limit < ends[i + 1]:
            return text[: i + 1] + ELLIPSIS
    # Go falls through here when the first character alone is wider than the room left
    return text
