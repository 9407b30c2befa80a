"""Renders a run's results as ``bench/RESULTS.md`` (pure: text in, text out)."""

from __future__ import annotations

from bench.results import NOT_AVAILABLE, OK, OperationResult, ProfileResult, RunResults
from bench.stats import format_bytes, format_rate, format_seconds, ratio, summarize, throughput, verdict

DOCKYARD = "dockyard"


def _cell_time(op: OperationResult, tool: str) -> tuple[str, str, str, str]:
    result = op.tool(tool)
    if result is None:
        return "—", "—", "—", "—"
    summary = result.summary
    if summary is None:
        return result.status, "", "", ""
    spread = f"{format_seconds(summary.low)} – {format_seconds(summary.high)}"
    rate = format_rate(throughput(op.nbytes, summary.median)) if op.nbytes else ""
    cpu = summarize(result.cpu)
    return format_seconds(summary.median), spread, rate, format_seconds(cpu.median) if cpu else ""


def render_operation(op: OperationResult) -> str:
    lines = [f"### {op.title}", "", op.description, ""]
    header = "| tool | median | min – max | reps | CPU |"
    rule = "|---|---:|---:|---:|---:|"
    if op.nbytes:
        header += " rate |"
        rule += "---:|"
    header += " dockyard / tool | target | |"
    rule += "---:|---:|---|"
    lines += [header, rule]
    ours = op.tool(DOCKYARD)
    ours_summary = ours.summary if ours else None
    for result in op.tools:
        median, spread, rate, cpu = _cell_time(op, result.tool)
        reps = str(len(result.samples)) if result.status == OK else ""
        cells = [f"`{result.tool}`", median, spread, reps, cpu]
        if op.nbytes:
            cells.append(rate)
        if result.tool == DOCKYARD:
            cells += ["", "", ""]
        else:
            value = ratio(ours_summary, result.summary)
            target = op.targets.get(result.tool)
            cells.append(f"{value:.2f}" if value is not None else "")
            cells.append(f"≤ {target:g}" if target is not None else "")
            mark = verdict(value, target)
            if not mark and target is not None:
                mark = "not measured"
            cells.append(mark)
        lines.append("| " + " | ".join(cells) + " |")
    commands = [r for r in op.tools if r.command]
    if commands:
        lines += ["", "Commands timed:", ""]
        lines += [f"- `{r.tool}`: `{r.command}`"
                  + (f" (wrote {format_bytes(r.output_bytes)})" if r.output_bytes is not None else "")
                  for r in commands]
    lines.append("")
    return "\n".join(lines)


def render_targets(results: RunResults) -> str:
    """One line per target: the summary a reader wants first."""
    rows = ["| operation | vs | dockyard / peer | target | |", "|---|---|---:|---:|---|"]
    for op in results.operations:
        ours = op.tool(DOCKYARD)
        for peer, target in op.targets.items():
            theirs = op.tool(peer)
            if ours is None or theirs is None:
                continue
            value = ratio(ours.summary, theirs.summary)
            if value is None:
                why = ours.status if ours.status != OK else theirs.status
                rows.append(f"| {op.title} | `{peer}` | | ≤ {target:g} | not measured ({why}) |")
            else:
                rows.append(f"| {op.title} | `{peer}` | {value:.2f} | ≤ {target:g} | {verdict(value, target)} |")
    return "\n".join(rows) + "\n"


def render_limits(results: RunResults) -> str:
    """The best run is the limit (noise only ever slows a run down); the median shows how noisy it was."""
    rows = ["| limit | data | best rate (the limit) | median rate | note |", "|---|---:|---:|---:|---|"]
    for limit in results.limits:
        summary = summarize(limit.samples)
        if summary is None:
            rows.append(f"| {limit.name} | {format_bytes(limit.nbytes)} | not measured | | {limit.note} |")
            continue
        best = format_rate(throughput(limit.nbytes, summary.low))
        median = format_rate(throughput(limit.nbytes, summary.median))
        rows.append(f"| {limit.name} | {format_bytes(limit.nbytes)} | {best} | {median} | {limit.note} |")
    return "\n".join(rows) + "\n"


def distance_from_target(op: OperationResult) -> float | None:
    """The largest ratio/target over the operation's peers: above 1 means a target was missed."""
    ours = op.tool(DOCKYARD)
    worst = None
    for peer, target in op.targets.items():
        theirs = op.tool(peer)
        value = ratio(ours.summary if ours else None, theirs.summary if theirs else None)
        if value is not None:
            worst = max(worst or 0.0, value / target)
    return worst


def profile_order(results: RunResults) -> list[ProfileResult]:
    """Profiles, the operation furthest from its target first (those without a target last, by time)."""
    by_key = {op.key: op for op in results.operations}

    def key(profile: ProfileResult) -> tuple[float, float]:
        op = by_key.get(profile.operation)
        distance = distance_from_target(op) if op else None
        return (-(distance or 0.0), -profile.total_seconds)

    return sorted(results.profiles, key=key)


def _top_table(profile: ProfileResult, rows: int) -> list[str]:
    lines = ["| function | own time | share |", "|---|---:|---:|"]
    total = profile.total_seconds or 1.0
    for name, seconds in profile.top_functions[:rows]:
        lines.append(f"| `{name}` | {format_seconds(seconds)} | {100 * seconds / total:.0f}% |")
    return lines


def render_profile(results: RunResults) -> str:
    ordered = profile_order(results)
    if not ordered:
        return "No profile was taken (no dockyard operation ran, or pyinstrument could not be installed).\n"
    titles = {op.key: op.title for op in results.operations}
    missed = {op.key for op in results.operations if (distance_from_target(op) or 0.0) > 1.0}
    first = ordered[0]
    lines = [
        "Each dockyard operation was run once more under pyinstrument after its timed runs. pyinstrument "
        "samples the main thread: work done in worker threads shows there as waiting (`lock.acquire`), and "
        "the profiler's own overhead makes these totals longer than the timed medians.",
        "",
        f"### {titles.get(first.operation, first.operation)} (furthest from its target)",
        "",
        f"`{first.command}`: {format_seconds(first.total_seconds)} under pyinstrument.",
        "",
    ]
    if first.reading:
        lines += [first.reading, ""]
    lines += _top_table(first, 12) + [""]
    if first.tree_excerpt:
        lines += ["Call tree (trimmed):", "", "```", first.tree_excerpt.rstrip(), "```", ""]
    others = [p for p in ordered[1:] if p.operation in missed]
    for profile in others:
        lines += [f"### {titles.get(profile.operation, profile.operation)} (target missed)", "",
                  f"`{profile.command}`: {format_seconds(profile.total_seconds)} under pyinstrument. "
                  + profile.reading, ""]
        lines += _top_table(profile, 8) + [""]
    return "\n".join(lines)


def render(results: RunResults, findings: str = "") -> str:
    """The report; ``findings`` is the hand-kept account of what was done about each target."""
    parts = [
        "# dockyard benchmarks",
        "",
        "Generated by `./dev bench`; do not edit by hand. Each tool runs the same operation on the same "
        "machine, interleaved (A B A B …), with untimed preparation and cleanup between runs; the tables give "
        "medians and min – max of wall time, and the median CPU time (user + system) of the command's own "
        "process tree — for docker that is the client only, its daemon's work is not in it. A ratio "
        "(of medians) below 1 means dockyard is faster. The machine was shared with other "
        "work while this ran, so the spreads are wider than they would be on a quiet machine; a quiet machine "
        "gives cleaner numbers.",
        "",
        "## Machine and settings",
        "",
        "| | |",
        "|---|---|",
    ]
    parts += [f"| {k} | {v} |" for k, v in {**results.machine, **results.settings}.items()]
    parts += ["", "## Targets", "", render_targets(results), "## Operations", ""]
    parts += [render_operation(op) for op in results.operations]
    parts += ["## Physical limits on this machine", "",
              "Single-threaded unless said otherwise; read each operation's rate as a fraction of these.", "",
              render_limits(results)]
    parts += ["## Where dockyard's time goes", "", render_profile(results)]
    if findings.strip():
        parts += [findings.strip(), ""]
    if results.notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in results.notes] + [""]
    unavailable = [f"{op.title} (`{t.tool}`)" for op in results.operations for t in op.tools
                   if t.status == NOT_AVAILABLE]
    if unavailable:
        parts += ["## Not available yet", "", "These commands did not exist when this ran: "
                  + ", ".join(unavailable) + ".", ""]
    return "\n".join(parts).rstrip() + "\n"
