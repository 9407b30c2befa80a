"""Go time formatting/parsing and moby's GetTimestamp, as docker shows and accepts times."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from dockyard.errors import InvalidArgument
from dockyard.gotime import (
    format_go_duration,
    go_quote,
    go_time_string,
    parse_go_duration,
    parse_rfc3339_nano,
    parse_timestamp,
    rfc3339,
    rfc3339_nano,
)

pytestmark = pytest.mark.unit

S = 10**9
T0 = 1795343535 * S  # 2026-11-22 10:32:15 UTC
CET = timezone(timedelta(hours=1), "CET")
MINUS_0330 = timezone(timedelta(hours=-3, minutes=-30), "")


def test_go_time_string_utc() -> None:
    assert go_time_string(T0, timezone.utc) == "2026-11-22 10:32:15 +0000 UTC"


def test_go_time_string_other_zone_and_fraction() -> None:
    assert go_time_string(T0 + 120_000_000, CET) == "2026-11-22 11:32:15.12 +0100 CET"


def test_go_time_string_unnamed_zone_prints_the_offset_as_name() -> None:
    assert go_time_string(T0, MINUS_0330) == "2026-11-22 07:02:15 -0330 -0330"


def test_go_time_string_epoch_and_zero_time() -> None:
    assert go_time_string(0, timezone.utc) == "1970-01-01 00:00:00 +0000 UTC"
    assert go_time_string(-62135596800 * S, timezone.utc) == "0001-01-01 00:00:00 +0000 UTC"


def test_go_time_string_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert go_time_string(T0) == "2026-11-22 10:32:15 +0000 UTC"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_rfc3339_forms() -> None:
    assert rfc3339(T0 + 5, timezone.utc) == "2026-11-22T10:32:15Z"
    assert rfc3339(T0, CET) == "2026-11-22T11:32:15+01:00"
    assert rfc3339(T0, MINUS_0330) == "2026-11-22T07:02:15-03:30"
    assert rfc3339_nano(T0, timezone.utc) == "2026-11-22T10:32:15Z"
    assert rfc3339_nano(T0 + 500_000_000, timezone.utc) == "2026-11-22T10:32:15.5Z"
    assert rfc3339_nano(T0 + 123_456_789, CET) == "2026-11-22T11:32:15.123456789+01:00"
    assert rfc3339_nano(T0 + 1000, timezone.utc) == "2026-11-22T10:32:15.000001Z"


def test_rfc3339_before_epoch() -> None:
    assert rfc3339_nano(-S // 2, timezone.utc) == "1969-12-31T23:59:59.5Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T10:32:15Z", T0),
        ("2026-11-22T10:32:15.5Z", T0 + 500_000_000),
        ("2026-11-22T10:32:15.123456789Z", T0 + 123_456_789),
        ("2026-11-22T10:32:15.1234567891234Z", T0 + 123_456_789),  # extra digits are dropped
        ("2026-11-22T11:32:15+01:00", T0),
        ("2026-11-22T07:02:15.000-03:30", T0),
        ("0001-01-01T00:00:00Z", -62135596800 * S),
    ],
)
def test_parse_rfc3339_nano(text: str, expected: int) -> None:
    assert parse_rfc3339_nano(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-22", 'parsing time "2026-11-22" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "" as "T"'),
        ("2026-02-30T00:00:00Z", 'parsing time "2026-02-30T00:00:00Z": day out of range'),
        ("2026-11-22T10:32:15", 'parsing time "2026-11-22T10:32:15" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "" as "Z07:00"'),
    ],
)
def test_parse_rfc3339_nano_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_rfc3339_nano(text)
    assert str(caught.value) == message


NOW = T0 + 700_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10m", T0 - 600 * S),  # durations keep whole seconds
        ("1h30m", T0 - 5400 * S),
        ("1.5h", T0 - 5400 * S),
        ("-5m", T0 + 300 * S),
        ("0s", T0),
        ("2026-11-22", T0 - (10 * 3600 + 32 * 60 + 15) * S),
        ("2026-11-22T10", T0 - (32 * 60 + 15) * S),
        ("2026-11-22T10:32", T0 - 15 * S),
        ("2026-11-22T10:32:15", T0),
        ("2026-11-22T10:32:15.25", T0 + 250_000_000),
        ("2026-11-22T10:32:15Z", T0),
        ("2026-11-22T11:32:15+01:00", T0),
        ("2026-11-22T05:32:15-05:00", T0),  # three dashes: not local
        ("2026-11-22T11+01:00", T0 - (32 * 60 + 15) * S),
        ("2026-11-22T11:32+01:00", T0 - 15 * S),
        ("2026-11-22Z", T0 - (10 * 3600 + 32 * 60 + 15) * S),
        ("2026-11-22T10:32:15.5+00:00", T0 + 500_000_000),
        ("1795343535", T0),
        ("1795343535.5", T0 + 500_000_000),
        ("1795343535.000000001", T0 + 1),
        ("0", 0),
        ("+5", 5 * S),
    ],
)
def test_parse_timestamp_in_utc(value: str, expected: int) -> None:
    assert parse_timestamp(value, NOW, local_offset=0) == expected


def test_parse_timestamp_local_uses_the_current_offset() -> None:
    assert parse_timestamp("2026-11-22T11:32:15", NOW, local_offset=3600) == T0
    # an explicit zone is not affected by the local offset
    assert parse_timestamp("2026-11-22T10:32:15Z", NOW, local_offset=3600) == T0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", 'failed to parse value as time or duration: "abc"'),
        ("1.", 'failed to parse value as time or duration: "1."'),
        ("1.x", 'failed to parse value as time or duration: "1.x"'),
        ("2020/01/01", 'failed to parse value as time or duration: "2020/01/01"'),
        ("a\tb", 'failed to parse value as time or duration: "a\\tb"'),
        ("2020-13-01", 'parsing time "2020-13-01": month out of range'),
        ("2020-01-32", 'parsing time "2020-01-32": day out of range'),
        ("2021-02-29", 'parsing time "2021-02-29": day out of range'),
        ("abc-def", 'parsing time "abc-def" as "2006-01-02": cannot parse "abc-def" as "2006"'),
        ("-1", 'parsing time "-1" as "2006-01-02": cannot parse "-1" as "2006"'),
        ("2020-01-01T25", 'parsing time "2020-01-01T25": hour out of range'),
        ("2020-01-01T10:61", 'parsing time "2020-01-01T10:61": minute out of range'),
        ("2020-01-01x", 'parsing time "2020-01-01x": extra text: "x"'),
        ("2020-01-01T10:00:00.5Zjunk", 'parsing time "2020-01-01T10:00:00.5Zjunk": extra text: "junk"'),
        (
            "2020-01-01T10:00:00+25:00",
            'parsing time "2020-01-01T10:00:00+25:00": time zone offset hour out of range',
        ),
        ("2020/01-01", 'parsing time "2020/01-01" as "2006-01-02": cannot parse "/01-01" as "-"'),
    ],
)
def test_parse_timestamp_errors(value: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_timestamp(value, NOW, local_offset=0)
    assert str(caught.value) == message
    assert not caught.value.client  # the daemon reports these


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("-0", 0),
        ("10m", 600 * S),
        ("1h30m", 5400 * S),
        ("1.5h", 5400 * S),
        ("-5m", -300 * S),
        ("+2s", 2 * S),
        (".5s", S // 2),
        ("1.s", S),
        ("300ms", 300_000_000),
        ("2us", 2000),
        ("2µs", 2000),
        ("2μs", 2000),
        ("7ns", 7),
        ("1h1m1s1ms1us1ns", 3661 * S + 1_001_001),
        ("2562047h47m16.854775807s", 2**63 - 1),
    ],
)
def test_parse_go_duration(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        (".s", 'time: invalid duration ".s"'),
        ("10", 'time: missing unit in duration "10"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("1 m", 'time: unknown unit " m" in duration "1 m"'),
        ("m", 'time: invalid duration "m"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("3000000h", 'time: invalid duration "3000000h"'),
    ],
)
def test_parse_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_go_duration(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1000, "1µs"),
        (1500, "1.5µs"),
        (500_000_000, "500ms"),
        (1_500_000, "1.5ms"),
        (S, "1s"),
        (30 * S, "30s"),
        (90 * S, "1m30s"),
        (3600 * S, "1h0m0s"),
        (3600 * S + 500_000_000, "1h0m0.5s"),
        (-300 * S, "-5m0s"),
        (2**63 - 1, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"),
    ],
)
def test_format_go_duration(ns: int, text: str) -> None:
    assert format_go_duration(ns) == text


def test_duration_round_trip() -> None:
    for ns in (1, 999_999, 61 * S + 7, 49 * 3600 * S + 123):
        assert parse_go_duration(format_go_duration(ns)) == ns


def test_go_quote() -> None:
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("tab\there\n") == '"tab\\there\\n"'
    assert go_quote("中文") == '"中文"'
    assert go_quote("\x01\x7f\u200b") == '"\\x01\\x7f\\u200b"'
