"""The bench's pure parts: statistics, ratios, verdicts and report rendering (never timings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import report
from bench.results import NOT_AVAILABLE, LimitResult, OperationResult, ProfileResult, RunResults, ToolResult
from bench.stats import (
    Summary,
    format_rate,
    format_seconds,
    ratio,
    summarize,
    throughput,
    verdict,
)
from bench.store import dump, load

pytestmark = pytest.mark.unit


def test_summary_of_odd_and_even_counts() -> None:
    assert summarize([3.0, 1.0, 2.0]) == Summary(2.0, 1.0, 3.0, 3)
    assert summarize([4.0, 1.0, 2.0, 3.0]) == Summary(2.5, 1.0, 4.0, 4)
    assert summarize([]) is None


def test_median_ignores_one_outlier() -> None:
    assert summarize([1.0, 1.1, 0.9, 30.0, 1.0]).median == 1.0  # type: ignore[union-attr]


def test_ratio_is_dockyard_over_peer() -> None:
    ours, theirs = Summary(1.0, 0.9, 1.2, 5), Summary(4.0, 3.0, 5.0, 5)
    assert ratio(ours, theirs) == 0.25
    assert ratio(theirs, ours) == 4.0
    assert ratio(None, theirs) is None
    assert ratio(ours, None) is None
    assert ratio(ours, Summary(0.0, 0.0, 0.0, 1)) is None


@pytest.mark.parametrize(("value", "target", "expected"), [
    (0.5, 0.5, "met"), (0.49, 0.5, "met"), (0.51, 0.5, "missed"), (None, 0.5, ""), (0.3, None, ""),
])
def test_verdict(value: float | None, target: float | None, expected: str) -> None:
    assert verdict(value, target) == expected


def test_units() -> None:
    assert format_seconds(0.0000123) == "12 µs"
    assert format_seconds(0.0456) == "45.6 ms"
    assert format_seconds(1.234) == "1.23 s"
    assert format_seconds(250.4) == "250 s"
    assert throughput(100_000_000, 2.0) == 50_000_000
    assert throughput(1, 0.0) == 0.0
    assert format_rate(1_500_000_000) == "1500 MB/s"
    assert format_rate(46_400_000) == "46.4 MB/s"


def _pull(dockyard: ToolResult) -> OperationResult:
    return OperationResult(
        "pull", "pull", "From a registry.",
        [dockyard, ToolResult("skopeo", [2.0, 2.2, 1.8]), ToolResult("docker", [8.0, 9.0, 7.0])],
        targets={"skopeo": 1.0, "docker": 0.5}, nbytes=365_000_000,
    )


def _results(op: OperationResult) -> RunResults:
    return RunResults(
        machine={"CPU": "test CPU, 2 cores"}, settings={"repetitions": "3"}, operations=[op],
        limits=[LimitResult("sha256 (hashlib)", 100_000_000, [0.1, 0.2, 0.05])],
        profiles=[ProfileResult("pull", "dockyard pull x", 2.0, [("read (x.py:1)", 1.0)], "tree", "reading")],
    )


def test_operation_table_rows_ratios_and_verdicts() -> None:
    text = report.render_operation(_pull(ToolResult("dockyard", [3.0, 2.0, 4.0], command="dockyard pull x")))
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `dockyard` | 3 s | 2 s – 4 s | 3 |  | 122 MB/s |")
    assert "| 1.50 | ≤ 1 | missed |" in rows[1]  # 3.0 / 2.0
    assert "| 0.38 | ≤ 0.5 | met |" in rows[2]  # 3.0 / 8.0
    assert "- `dockyard`: `dockyard pull x`" in text


def test_missing_command_is_reported_not_faked() -> None:
    op = _pull(ToolResult("dockyard", status=NOT_AVAILABLE))
    table = report.render_operation(op)
    assert "| `dockyard` | not available yet |" in table
    assert "not measured" in table
    targets = report.render_targets(_results(op))
    assert "not measured (not available yet)" in targets
    assert "met" not in targets and "missed" not in targets
    full = report.render(_results(op))
    assert "## Not available yet" in full and "pull (`dockyard`)" in full


def test_full_report_has_machine_targets_limits_and_profile() -> None:
    text = report.render(_results(_pull(ToolResult("dockyard", [1.0, 1.0, 1.0]))))
    for part in ("| CPU | test CPU, 2 cores |", "## Targets", "| pull | `docker` | 0.12 | ≤ 0.5 | met |",
                 "## Physical limits", "| sha256 (hashlib) | 100 MB | 2000 MB/s | 1000 MB/s |",
                 "`read (x.py:1)` | 1 s | 50% |", "quiet machine"):
        assert part in text, part


def test_results_round_trip_through_json(tmp_path: Path) -> None:
    results = _results(_pull(ToolResult("dockyard", [1.0, 2.0])))
    dump(results, tmp_path / "r.json")
    assert report.render(load(tmp_path / "r.json")) == report.render(results)


def test_profile_of_the_operation_furthest_from_its_target_comes_first() -> None:
    near = OperationResult("save", "save", "", [ToolResult("dockyard", [1.0]), ToolResult("docker", [4.0])],
                           targets={"docker": 0.5})  # 0.25 / 0.5 = 0.5: met
    far = OperationResult("images-1000", "images", "", [ToolResult("dockyard", [3.0]), ToolResult("docker", [1.0])],
                          targets={"docker": 1.0})  # 3.0: missed
    assert report.distance_from_target(near) == 0.5
    assert report.distance_from_target(far) == 3.0
    profiles = [ProfileResult(key, f"dockyard {key}", 1.0, [("f (x.py:1)", 0.5)], "", "") for key in ("save",
                                                                                                       "images-1000")]
    results = RunResults({}, {}, operations=[near, far], profiles=profiles)
    assert [p.operation for p in report.profile_order(results)] == ["images-1000", "save"]
    text = report.render_profile(results)
    assert "### images (furthest from its target)" in text
    assert "### save" not in text  # met targets get no extra section


def test_output_sizes_are_shown_with_the_commands() -> None:
    op = OperationResult("save", "save", "", [ToolResult("dockyard", [1.0], command="dockyard save",
                                                         output_bytes=365_000_000)])
    assert "- `dockyard`: `dockyard save` (wrote 365 MB)" in report.render_operation(op)


def test_a_partial_run_replaces_only_what_it_measured() -> None:
    from bench.results import merge

    def op(key: str, seconds: float) -> OperationResult:
        return OperationResult(key, key, "", [ToolResult("dockyard", [seconds])])

    order = ("limits", "version", "images", "pull", "push")
    before = RunResults({"date": "d1"}, {"mode": "full"},
                        operations=[op("images-1", 1), op("pull", 1), op("push", 1), op("push-blobs", 1)],
                        limits=[LimitResult("sha256", 1, [1.0])],
                        profiles=[ProfileResult("push", "", 1, [], "", ""), ProfileResult("pull", "", 1, [], "", "")])
    after = RunResults({"date": "d2"}, {"mode": "full"}, operations=[op("push", 2), op("push-blobs", 2)],
                       profiles=[ProfileResult("push-blobs", "", 2, [], "", "")])
    merged = merge(before, after, {"push"}, order)
    assert [(o.key, o.tools[0].samples) for o in merged.operations] == [
        ("images-1", [1]), ("pull", [1]), ("push", [2]), ("push-blobs", [2])]
    assert [p.operation for p in merged.profiles] == ["pull", "push-blobs"]
    assert merged.limits == before.limits
    assert merged.machine["date"] == "d1"
    assert merged.settings["partial re-runs"] == "push on d2"


def test_report_carries_the_findings_after_the_profiles() -> None:
    from bench import report
    from bench.results import RunResults

    results = RunResults(machine={"CPU": "x"}, settings={})
    text = report.render(results, "## What was changed\n\nbefore 2.0, after 1.5\n")
    assert "## What was changed" in text
    assert text.index("## What was changed") > text.index("## Where dockyard's time goes")
    assert "## What was changed" not in report.render(results)
