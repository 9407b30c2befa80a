"""go-units sizes and durations, TruncateID and formatter.Ellipsis as docker prints them."""

from __future__ import annotations

import pytest

from dockyard.render.units import (
    bytes_size,
    ellipsis,
    human_duration,
    human_duration_ns,
    human_size,
    human_size_3,
    truncate_id,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("size", "p3", "p4"),
    [
        (0, "0B", "0B"),
        (999, "999B", "999B"),
        (1000, "1kB", "1kB"),
        (1023, "1.02kB", "1.023kB"),
        (1982291, "1.98MB", "1.982MB"),
        (2000000, "2MB", "2MB"),
        (61100000, "61.1MB", "61.1MB"),
        (123456789, "123MB", "123.5MB"),
        (247000000, "247MB", "247MB"),
        (1.5e12, "1.5TB", "1.5TB"),
        (999500, "1e+03kB", "999.5kB"),
        (999999, "1e+03kB", "1000kB"),
        (10**27, "1e+03YB", "1000YB"),
    ],
)
def test_human_size(size: float, p3: str, p4: str) -> None:
    assert human_size_3(size) == p3
    assert human_size(size, 3) == p3
    assert human_size(size) == p4


def test_human_size_negative_is_not_scaled() -> None:
    assert human_size(-5000) == "-5000B"


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, "0B"), (1023, "1023B"), (1024, "1KiB"), (1536, "1.5KiB"), (5 * 1024**3, "5GiB")],
)
def test_bytes_size(size: int, expected: str) -> None:
    assert bytes_size(size) == expected


MIN = 60
HOUR = 3600


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "Less than a second"),
        (0.999, "Less than a second"),
        (1, "1 second"),
        (1.9, "1 second"),
        (2, "2 seconds"),
        (59.99, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (59 * MIN + 59, "59 minutes"),
        (60 * MIN, "About an hour"),
        (89 * MIN + 59, "About an hour"),
        (90 * MIN, "2 hours"),  # hours are rounded half up
        (47 * HOUR + 29 * MIN, "47 hours"),
        (47 * HOUR + 30 * MIN, "2 days"),
        (335 * HOUR, "13 days"),
        (336 * HOUR, "2 weeks"),
        (1439 * HOUR, "8 weeks"),
        (1440 * HOUR, "2 months"),
        (17519 * HOUR, "24 months"),
        (17520 * HOUR, "2 years"),
        (56 * 365 * 24 * HOUR + 300 * 24 * HOUR, "56 years"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_human_duration_years_use_truncated_hours() -> None:
    # 2 years minus 30 minutes rounds to 17520 hours (not months) but truncates to 17519 → 1 year
    ns = (17520 * HOUR - 30 * MIN) * 10**9
    assert human_duration_ns(ns) == "1 years"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sha256:" + "a" * 64, "a" * 12),
        ("b" * 64, "b" * 12),
        ("<missing>", "<missing>"),
        ("sha256:abc", "abc"),
        ("x:y:z" + "1" * 20, "y:z" + "1" * 9),
    ],
)
def test_truncate_id(value: str, expected: str) -> None:
    assert truncate_id(value) == expected


def test_ellipsis_ascii() -> None:
    assert ellipsis("a" * 45) == "a" * 45
    assert ellipsis("a" * 46) == "a" * 44 + "…"
    assert ellipsis("This description is definitely longer than forty-five") == (
        "This description is definitely longer than f…"
    )


def test_ellipsis_wide_characters() -> None:
    assert ellipsis("中" * 30) == "中" * 22 + "…"
    assert ellipsis("中" * 22) == "中" * 22  # 44 columns fit
    assert ellipsis("a中" * 20, 10) == "a中a中a中…"  # 9 columns + ellipsis


def test_ellipsis_small_widths() -> None:
    assert ellipsis("abc", 0) == ""
    assert ellipsis("abc", 1) == "a"
    assert ellipsis("中文", 1) == "中"
    assert ellipsis("abc", 2) == "a…"
    # Go finds no cut point when the first character alone is wider than the room left
    assert ellipsis("中文", 2) == "中文"
