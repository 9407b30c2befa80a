"""The arithmetic of a benchmark: medians, spreads, ratios and verdicts against targets (pure)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    count: int


def summarize(samples: Sequence[float]) -> Summary | None:
    """Median and min–max of the samples; None when there are none (a tool that never ran)."""
    if not samples:
        return None
    return Summary(statistics.median(samples), min(samples), max(samples), len(samples))


def ratio(ours: Summary | None, theirs: Summary | None) -> float | None:
    """dockyard's median over the peer's: below 1 means dockyard is faster."""
    if ours is None or theirs is None or theirs.median <= 0:
        return None
    return ours.median / theirs.median


def verdict(value: float | None, target: float | None) -> str:
    """'met', 'missed', or '' when there is no target or nothing to compare."""
    if target is None or value is None:
        return ""
    return "met" if value <= target else "missed"


def throughput(nbytes: int, seconds: float) -> float:
    """Bytes per second; 0 for a zero duration rather than a division error."""
    return nbytes / seconds if seconds > 0 else 0.0


def format_seconds(seconds: float) -> str:
    """Three significant figures in a unit a reader takes in at a glance."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 100:
        return f"{seconds:.3g} s"
    return f"{seconds:.0f} s"


def format_rate(bytes_per_second: float) -> str:
    """Decimal megabytes per second, as disk and network rates are usually quoted."""
    mb = bytes_per_second / 1e6
    if mb >= 100:
        return f"{mb:.0f} MB/s"
    return f"{mb:.3g} MB/s"


def format_bytes(nbytes: int) -> str:
    return f"{nbytes / 1e6:.0f} MB" if nbytes >= 10e6 else f"{nbytes / 1e6:.2g} MB"
