"""Profiles one dockyard command with pyinstrument and boils the profile down for the report."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from bench.harness import Case, last_line
from bench.results import OK, ProfileResult, RunResults
from bench.stats import ratio


def ensure_pyinstrument(log=print) -> bool:
    """pyinstrument is a bench-only tool: installed into the venv on first use, never a project dependency."""
    if importlib.util.find_spec("pyinstrument") is not None:
        return True
    log("installing pyinstrument into the venv (bench only)")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyinstrument"], capture_output=True,
                          text=True)
    importlib.invalidate_caches()
    return done.returncode == 0 and importlib.util.find_spec("pyinstrument") is not None


def slowest_operation(results: RunResults) -> str | None:
    """The dockyard operation furthest from its target (ratio/target), else the one with the longest median."""
    worst, worst_score = None, 0.0
    for op in results.operations:
        ours = op.tool("dockyard")
        if ours is None or ours.summary is None:
            continue
        for peer, target in op.targets.items():
            theirs = op.tool(peer)
            value = ratio(ours.summary, theirs.summary if theirs else None)
            if value is not None and value / target > worst_score:
                worst, worst_score = op.key, value / target
    if worst is not None:
        return worst
    measured = [(op.tool("dockyard").summary.median, op.key) for op in results.operations  # type: ignore[union-attr]
                if op.tool("dockyard") and op.tool("dockyard").summary and op.key != "version"]  # type: ignore[union-attr]
    return max(measured)[1] if measured else None


def own_times(session_file: Path, limit: int = 12) -> tuple[float, list[tuple[str, float]]]:
    """Total time and the functions with the most time of their own (self time), across the whole tree."""
    from pyinstrument.session import Session

    session = Session.load(str(session_file))
    root = session.root_frame()
    if root is None:
        return session.duration, []
    totals: dict[str, float] = defaultdict(float)

    def name_of(frame) -> str:
        where = frame.file_path_short or frame.file_path or "?"
        return f"{frame.function} ({where}:{frame.line_no})"

    def walk(frame, owner: str) -> None:
        here = owner if frame.is_synthetic else name_of(frame)
        own = frame.time - sum(child.time for child in frame.children)
        if own > 0:
            totals[here] += own
        for child in frame.children:
            walk(child, here)

    walk(root, name_of(root))
    top = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:limit]
    return session.duration, top


def reading(top: list[tuple[str, float]], total: float) -> str:
    if not top or total <= 0:
        return ""
    lead = ", ".join(f"`{name.split(' (')[0]}` {100 * seconds / total:.0f}%" for name, seconds in top[:3])
    return (f"Most of the main thread's time is in: {lead}. pyinstrument samples the main thread only: "
            "time spent in worker threads shows up as waiting (e.g. `acquire`, `result`, `join`) there.")


def profile(case: Case, operation: str, workdir: Path, log=print) -> ProfileResult | None:
    if not ensure_pyinstrument(log):
        log("pyinstrument could not be installed; no profile")
        return None
    session_file = workdir / f"profile-{operation}.pyisession"
    # Run the command's module under pyinstrument, in the same environment the timed runs had.
    argv = list(case.argv)
    module_args = argv[1:] if not argv[0].endswith("python") and not argv[0].endswith("python3") else argv[3:]
    if case.prepare:
        case.prepare()
    done = subprocess.run(
        [sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session_file),
         "-m", "dockyard", *module_args],
        env=case.env or dict(os.environ), capture_output=True, text=True,
    )
    tree = subprocess.run(
        [sys.executable, "-m", "pyinstrument", "--load", str(session_file), "-r", "text", "--no-color",
         "-p", "processor_options.filter_threshold=0.02"],
        capture_output=True, text=True,
    ).stdout if session_file.exists() else ""
    if case.cleanup:
        case.cleanup()
    if done.returncode != 0 or not session_file.exists():
        log(f"profiling failed: {last_line(done.stderr)}")
        return None
    total, top = own_times(session_file)
    lines = tree.splitlines()
    excerpt = "\n".join(lines[:60])
    return ProfileResult(operation, "dockyard " + " ".join(module_args), total, top, excerpt, reading(top, total))


def pick_and_profile(results: RunResults, cases: dict[str, dict[str, Case]], workdir: Path, log=print) -> None:
    key = slowest_operation(results)
    if key is None or "dockyard" not in cases.get(key, {}):
        return
    case = cases[key]["dockyard"]
    if case.result.status != OK:
        return
    log(f"[profile] dockyard {key}")
    results.profile = profile(case, key, workdir, log)
