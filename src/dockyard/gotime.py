"""Go's time formatting and parsing, as far as docker's image commands show or accept times.

- ``go_time_string``: ``time.Time.String()`` (``.CreatedAt`` of ``images``).
- ``rfc3339`` / ``rfc3339_nano``: ``Format(time.RFC3339)`` / ``Format(time.RFC3339Nano)``.
- ``parse_rfc3339_nano``: ``time.Parse(time.RFC3339Nano, …)`` for config ``created`` fields.
- ``parse_timestamp``: moby's ``api/types/time.GetTimestamp`` followed by ``ParseTimestamps``
  (the ``until`` filter), with Go's own ``time.Parse`` error messages.
- ``parse_go_duration`` / ``format_go_duration``: ``time.ParseDuration`` / ``Duration.String()``.

Times are integers: nanoseconds since the Unix epoch. Calendar arithmetic is done here rather than with
``datetime`` so that any year Go accepts (0000–9999 when parsing) works.
"""

from __future__ import annotations

import re
import time as _time
from ._record import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from dockyard.errors import InvalidArgument
from dockyard.goquote import go_quote

NS_PER_SECOND = 1_000_000_000
_MICRO = 1_000
_MILLI = 1_000_000
_MINUTE = 60 * NS_PER_SECOND
_HOUR = 60 * _MINUTE
_MAX_INT64 = (1 << 63) - 1

# ---------------------------------------------------------------------------------------------------------
# Go string quoting (error messages)


def _time_quote(text: str) -> str:
    """The time package's own quoting: non-ASCII and control bytes as ``\\xNN``."""
    out = ['"']
    for ch in text:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            if ch in ('"', "\\"):
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------
# Calendar


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# ---------------------------------------------------------------------------------------------------------
# Formatting


@dataclass(frozen=True)
class _Zone:
    offset: int  # seconds east of UTC
    name: str


def _zone_at(seconds: int, tz: tzinfo | None) -> _Zone:
    if tz is None:
        try:
            local = _time.localtime(seconds)
        except (OverflowError, OSError, ValueError):
            return _Zone(0, "UTC")
        return _Zone(local.tm_gmtoff or 0, local.tm_zone or "UTC")
    try:
        moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
        aware = moment.astimezone(tz)
    except OverflowError:
        return _Zone(0, "UTC")
    delta = aware.utcoffset() or timedelta(0)
    return _Zone(int(delta.total_seconds()), aware.tzname() or "")


def _fields(ts_ns: int, zone: _Zone) -> tuple[int, int, int, int, int, int, int]:
    seconds, nanos = divmod(ts_ns, NS_PER_SECOND)
    seconds += zone.offset
    days, secs_of_day = divmod(seconds, 86400)
    year, month, day = _civil_from_days(days)
    hour, rest = divmod(secs_of_day, 3600)
    minute, second = divmod(rest, 60)
    return year, month, day, hour, minute, second, nanos


def _year_text(year: int) -> str:
    if year < 0:
        return "-" + f"{-year:04d}"
    return f"{year:04d}"


def _fraction_9(nanos: int) -> str:
    """Go's ``.999999999``: the fraction with trailing zeros removed, nothing when zero."""
    if nanos == 0:
        return ""
    return "." + f"{nanos:09d}".rstrip("0")


def _numeric_offset(offset: int, colon: bool) -> str:
    sign = "-" if offset < 0 else "+"
    minutes = abs(offset) // 60
    sep = ":" if colon else ""
    return f"{sign}{minutes // 60:02d}{sep}{minutes % 60:02d}"


def go_time_string(ts_ns: int, tz: tzinfo | None = None) -> str:
    """``time.Time.String()`` in ``tz`` (default: the local zone), e.g.
    ``2026-11-22 10:32:15 +0000 UTC``."""
    zone = _zone_at(ts_ns // NS_PER_SECOND, tz)
    year, month, day, hour, minute, second, nanos = _fields(ts_ns, zone)
    name = zone.name or _numeric_offset(zone.offset, colon=False)
    return (
        f"{_year_text(year)}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
        f"{_fraction_9(nanos)} {_numeric_offset(zone.offset, colon=False)} {name}"
    )


def _rfc3339(ts_ns: int, tz: tzinfo | None, nano: bool) -> str:
    zone = _zone_at(ts_ns // NS_PER_SECOND, tz)
    year, month, day, hour, minute, second, nanos = _fields(ts_ns, zone)
    fraction = _fraction_9(nanos) if nano else ""
    suffix = "Z" if zone.offset == 0 else _numeric_offset(zone.offset, colon=True)
    return f"{_year_text(year)}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{suffix}"


def rfc3339(ts_ns: int, tz: tzinfo | None = None) -> str:
    """``Format(time.RFC3339)``: whole seconds, ``Z`` for a zero offset."""
    return _rfc3339(ts_ns, tz, nano=False)


def rfc3339_nano(ts_ns: int, tz: tzinfo | None = None) -> str:
    """``Format(time.RFC3339Nano)``: the fraction without trailing zeros."""
    return _rfc3339(ts_ns, tz, nano=True)


# ---------------------------------------------------------------------------------------------------------
# Parsing with a Go layout (the subset of layout elements docker's timestamps use)

_LAYOUT_ELEMENTS = ("2006", "Z07:00", "01", "02", "15", "04", "05")
_FRACTION_ELEMENT = re.compile(r"\.9+(?![0-9])")

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"


class _BadValue(Exception):
    pass


def _tokenize(layout: str) -> list[str]:
    """Split a layout into Go's "std chunks" and literal runs."""
    tokens: list[str] = []
    literal = ""
    i = 0
    while i < len(layout):
        frac = _FRACTION_ELEMENT.match(layout, i)
        element = next((e for e in _LAYOUT_ELEMENTS if layout.startswith(e, i)), None)
        if frac:
            element = frac.group(0)
        if element is None:
            literal += layout[i]
            i += 1
            continue
        tokens.append(literal)
        literal = ""
        tokens.append(element)
        i += len(element)
    tokens.append(literal)
    return tokens  # alternating: literal, element, literal, element, …, literal


def _is_digit(value: str, i: int) -> bool:
    return i < len(value) and "0" <= value[i] <= "9"


def _getnum(value: str, fixed: bool) -> tuple[int, str]:
    if not _is_digit(value, 0):
        raise _BadValue
    if not _is_digit(value, 1):
        if fixed:
            raise _BadValue
        return int(value[0]), value[1:]
    return int(value[:2]), value[2:]


def _parse_nanoseconds(value: str, nbytes: int) -> int:
    if value[0] not in ".,":
        raise _BadValue
    if nbytes > 10:
        nbytes = 10
    digits = value[1:nbytes]
    if not digits.isascii() or not digits.isdigit():
        raise _BadValue
    return int(digits) * 10 ** (10 - nbytes)


def _parse_error(layout: str, value: str, layout_elem: str, value_elem: str) -> InvalidArgument:
    return InvalidArgument(
        f"parsing time {_time_quote(value)} as {_time_quote(layout)}: "
        f"cannot parse {_time_quote(value_elem)} as {_time_quote(layout_elem)}"
    )


def _message_error(value: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"parsing time {_time_quote(value)}{message}")


def go_parse_time(layout: str, value: str, default_offset: int = 0) -> int:
    """Go's ``time.Parse`` (``default_offset`` 0) or ``ParseInLocation`` with a fixed zone, restricted
    to the layout elements ``2006 01 02 15 04 05 .999… Z07:00``. Returns nanoseconds since the epoch;
    raises ``InvalidArgument`` with Go's message."""
    tokens = _tokenize(layout)
    rest = value
    year, month, day, hour, minute, second, nanos = 0, 1, 1, 0, 0, 0, 0
    offset: int | None = None
    for index in range(0, len(tokens), 2):
        prefix = tokens[index]
        if not rest.startswith(prefix):
            matched = 0
            while matched < len(prefix) and matched < len(rest) and rest[matched] == prefix[matched]:
                matched += 1
            raise _parse_error(layout, value, prefix, rest[matched:])
        rest = rest[len(prefix) :]
        if index + 1 >= len(tokens):
            if rest:
                raise _message_error(value, f": extra text: {_time_quote(rest)}")
            break
        element = tokens[index + 1]
        next_element = tokens[index + 3] if index + 3 < len(tokens) else ""
        hold = rest
        range_error = ""
        try:
            if element == "2006":
                if len(rest) < 4 or not _is_digit(rest, 0):
                    raise _BadValue
                digits, rest = rest[:4], rest[4:]
                if not (digits.isascii() and digits.isdigit()):
                    raise _BadValue
                year = int(digits)
            elif element == "01":
                month, rest = _getnum(rest, True)
                if month <= 0 or month > 12:
                    range_error = "month"
            elif element == "02":
                day, rest = _getnum(rest, True)
            elif element == "15":
                hour, rest = _getnum(rest, False)
                if hour >= 24:
                    range_error = "hour"
            elif element == "04":
                minute, rest = _getnum(rest, True)
                if minute >= 60:
                    range_error = "minute"
            elif element == "05":
                second, rest = _getnum(rest, True)
                if second >= 60:
                    range_error = "second"
                elif (
                    len(rest) >= 2
                    and rest[0] in ".,"
                    and _is_digit(rest, 1)
                    and not next_element.startswith(".")
                ):
                    # A fraction in the value but none in the layout is still accepted
                    n = 2
                    while _is_digit(rest, n):
                        n += 1
                    nanos = _parse_nanoseconds(rest, n)
                    rest = rest[n:]
            elif element.startswith("."):
                if len(rest) >= 2 and rest[0] in ".," and _is_digit(rest, 1):
                    i = 0
                    while _is_digit(rest, i + 1):
                        i += 1
                    nanos = _parse_nanoseconds(rest, 1 + i)
                    rest = rest[1 + i :]
            elif element == "Z07:00":
                if rest[:1] == "Z":
                    rest = rest[1:]
                    offset = 0
                else:
                    if len(rest) < 6 or rest[3] != ":":
                        raise _BadValue
                    sign, hh, mm, rest = rest[0], rest[1:3], rest[4:6], rest[6:]
                    hours, _ = _getnum(hh, True)
                    minutes, _ = _getnum(mm, True)
                    if hours > 24:
                        range_error = "time zone offset hour"
                    if minutes > 60:
                        range_error = "time zone offset minute"
                    if sign not in "+-":
                        raise _BadValue
                    offset = (hours * 60 + minutes) * 60 * (-1 if sign == "-" else 1)
        except _BadValue:
            if range_error:
                raise _message_error(value, f": {range_error} out of range") from None
            raise _parse_error(layout, value, element, hold) from None
        if range_error:
            raise _message_error(value, f": {range_error} out of range")
    if day < 1 or day > _days_in(month, year):
        raise _message_error(value, ": day out of range")
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    seconds -= default_offset if offset is None else offset
    return seconds * NS_PER_SECOND + nanos


def parse_rfc3339_nano(text: str) -> int:
    """A config ``created`` time (RFC 3339, any fraction, ``Z`` or ``±hh:mm``) in ns since the epoch."""
    return go_parse_time(RFC3339_NANO, text)


# ---------------------------------------------------------------------------------------------------------
# Durations

_DURATION_UNITS = {
    "ns": 1,
    "us": _MICRO,
    "\u00b5s": _MICRO,  # micro sign
    "\u03bcs": _MICRO,  # Greek mu
    "ms": _MILLI,
    "s": NS_PER_SECOND,
    "m": _MINUTE,
    "h": _HOUR,
}


def _leading_int(text: str) -> tuple[int, str]:
    i = 0
    value = 0
    while i < len(text) and "0" <= text[i] <= "9":
        value = value * 10 + ord(text[i]) - 48
        if value > 1 << 63:
            raise _BadValue
        i += 1
    return value, text[i:]


def _leading_fraction(text: str) -> tuple[int, float, str]:
    i = 0
    value = 0
    scale = 1.0
    overflow = False
    while i < len(text) and "0" <= text[i] <= "9":
        if not overflow:
            if value > _MAX_INT64 // 10:
                overflow = True
            else:
                candidate = value * 10 + ord(text[i]) - 48
                if candidate > 1 << 63:
                    overflow = True
                else:
                    value = candidate
                    scale *= 10
        i += 1
    return value, scale, text[i:]


def parse_go_duration(text: str) -> int:
    """Go's ``time.ParseDuration`` in nanoseconds (``10m``, ``1h30m``, ``1.5h``, ``-5m``, ``300ms``)."""
    invalid = InvalidArgument(f"time: invalid duration {_time_quote(text)}")
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if rest == "":
        raise invalid
    total = 0
    while rest:
        if not (rest[0] == "." or "0" <= rest[0] <= "9"):
            raise invalid
        before = len(rest)
        try:
            whole, rest = _leading_int(rest)
        except _BadValue:
            raise invalid from None
        had_int = len(rest) != before
        fraction, scale, had_fraction = 0, 1.0, False
        if rest[:1] == ".":
            rest = rest[1:]
            before = len(rest)
            fraction, scale, rest = _leading_fraction(rest)
            had_fraction = len(rest) != before
        if not had_int and not had_fraction:
            raise invalid
        i = 0
        while i < len(rest) and not (rest[i] == "." or "0" <= rest[i] <= "9"):
            i += 1
        if i == 0:
            raise InvalidArgument(f"time: missing unit in duration {_time_quote(text)}")
        unit_name, rest = rest[:i], rest[i:]
        unit = _DURATION_UNITS.get(unit_name)
        if unit is None:
            raise InvalidArgument(
                f"time: unknown unit {_time_quote(unit_name)} in duration {_time_quote(text)}"
            )
        if whole > (1 << 63) // unit:
            raise invalid
        whole *= unit
        if fraction > 0:
            whole += int(float(fraction) * (float(unit) / scale))
            if whole > 1 << 63:
                raise invalid
        total += whole
        if total > 1 << 63:
            raise invalid
    if negative:
        return -total
    if total > _MAX_INT64:
        raise invalid
    return total


def _frac_digits(value: int, precision: int) -> tuple[str, int]:
    """Go's ``fmtFrac``: the low ``precision`` digits as a fraction without trailing zeros."""
    digits = []
    printed = False
    for _ in range(precision):
        digit = value % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        value //= 10
    text = ("." + "".join(reversed(digits))) if printed else ""
    return text, value


def format_go_duration(ns: int) -> str:
    """Go's ``Duration.String()``: ``1h0m0s``, ``1m30s``, ``1.5s``, ``500ms``, ``0s``."""
    negative = ns < 0
    u = abs(ns)
    if u < NS_PER_SECOND:
        if u == 0:
            return "0s"
        if u < _MICRO:
            text = f"{u}ns"
        else:
            precision, unit = (3, "\u00b5s") if u < _MILLI else (6, "ms")
            frac, whole = _frac_digits(u, precision)
            text = f"{whole}{frac}{unit}"
    else:
        frac, whole_seconds = _frac_digits(u, 9)
        text = f"{whole_seconds % 60}{frac}s"
        minutes = whole_seconds // 60
        if minutes > 0:
            text = f"{minutes % 60}m{text}"
            hours = minutes // 60
            if hours > 0:
                text = f"{hours}h{text}"
    return "-" + text if negative else text


# ---------------------------------------------------------------------------------------------------------
# Timestamps as docker's filters accept them

_RFC3339_LOCAL = "2006-01-02T15:04:05"
_RFC3339_NANO_LOCAL = "2006-01-02T15:04:05.999999999"
_DATE_WITH_ZONE = "2006-01-02Z07:00"
_DATE_LOCAL = "2006-01-02"
_GO_INT = re.compile(r"[+-]?[0-9]+\Z")


def _go_parse_int64(text: str) -> int:
    if not _GO_INT.match(text):
        raise _BadValue
    value = int(text)
    if not -(1 << 63) <= value <= _MAX_INT64:
        raise _BadValue
    return value


def _parse_unix(value: str) -> int:
    """moby's ``parseTimestamp``: ``seconds[.fraction]`` to nanoseconds."""
    whole, dot, fraction = value.partition(".")
    seconds = _go_parse_int64(whole)
    if not dot:
        return seconds * NS_PER_SECOND
    nanos = _go_parse_int64(fraction)
    nanos = int(float(nanos) * (10.0 ** (9 - len(fraction))))
    return seconds * NS_PER_SECOND + nanos


def _local_offset(now_ns: int) -> int:
    return _zone_at(now_ns // NS_PER_SECOND, None).offset


def parse_timestamp(value: str, now_ns: int, *, local_offset: int | None = None) -> int:
    """moby's ``GetTimestamp`` + ``ParseTimestamps``: a Go duration before ``now_ns``, an RFC 3339-like
    date/time (local when it names no zone: the zone's offset *now* is used, as moby does), or Unix
    ``seconds[.nanoseconds]``. Returns nanoseconds since the epoch.

    ``local_offset`` (seconds east of UTC) overrides the local zone, for tests."""
    if value != "0":
        try:
            duration = parse_go_duration(value)
        except InvalidArgument:
            pass
        else:
            # reference.Add(-d).Unix(): the result keeps whole seconds only
            return ((now_ns - duration) // NS_PER_SECOND) * NS_PER_SECOND

    in_location = not any(c in value for c in "zZ+") and value.count("-") != 3
    if "." in value:
        layout = _RFC3339_NANO_LOCAL if in_location else RFC3339_NANO
    elif "T" in value:
        colons = value.count(":")
        if not in_location and not any(c in value for c in "zZ") and colons > 0:
            colons -= 1  # the one in the zone offset
        hour_layouts = (
            ("2006-01-02T15", "2006-01-02T15:04", _RFC3339_LOCAL)
            if in_location
            else ("2006-01-02T15Z07:00", "2006-01-02T15:04Z07:00", RFC3339)
        )
        layout = hour_layouts[min(colons, 2)]
    else:
        layout = _DATE_LOCAL if in_location else _DATE_WITH_ZONE

    offset = 0
    if in_location:
        offset = _local_offset(now_ns) if local_offset is None else local_offset
    try:
        return go_parse_time(layout, value, default_offset=offset)
    except InvalidArgument:
        if "-" in value:
            raise
    try:
        return _parse_unix(value)
    except _BadValue:
        raise InvalidArgument(
            f"failed to parse value as time or duration: {go_quote(value)}"
        ) from None
