"""Profiles dockyard commands with pyinstrument and boils each profile down for the report.

Each dockyard case is profiled once right after its timed runs, while its store, registry and inputs are
still in place; the report then shows the one furthest from its target in detail.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from bench.harness import Case, last_line
from bench.results import OK, ProfileResult


def ensure_pyinstrument(log=print) -> bool:
    """pyinstrument is a bench-only tool: installed into the venv on first use, never a project dependency."""
    if importlib.util.find_spec("pyinstrument") is not None:
        return True
    log("installing pyinstrument into the venv (bench only)")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyinstrument"], capture_output=True,
                          text=True)
    importlib.invalidate_caches()
    return done.returncode == 0 and importlib.util.find_spec("pyinstrument") is not None


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
    lead = ", ".join(f"`{name.split(' (')[0]}` {100 * seconds / total:.0f}%" for name, seconds in top[:4])
    return f"Own time is highest in: {lead}."


SERIAL_OPERATIONS = ("pull", "push", "push-blobs")


def profile(case: Case, operation: str, workdir: Path, log=print) -> ProfileResult | None:
    """One more run of ``case`` (a dockyard command) under pyinstrument, with the same preparation.

    Transfers run their layers on worker threads, which pyinstrument does not sample; for those the
    profiled run moves one blob at a time (``max-concurrent-*`` = 1 runs the jobs on the main thread), so
    the profile shows the per-byte work rather than a wait.
    """
    if case.result.status != OK or not ensure_pyinstrument(log):
        return None
    env = dict(case.env or {})
    note = ""
    if operation in SERIAL_OPERATIONS:
        settings = workdir / "serial-transfers.toml"
        settings.write_text("max-concurrent-downloads = 1\nmax-concurrent-uploads = 1\n")
        env["DOCKYARD_CONFIG"] = str(settings)
        note = (" This run moved one layer at a time (max-concurrent-downloads/uploads = 1) so that the layer "
                "work ran on the main thread, where pyinstrument samples.")
    session_file = workdir / f"profile-{operation}.pyisession"
    cli_args = list(case.argv)[1:]  # the entry-point script's arguments; the module is the same CLI
    if case.prepare:
        case.prepare()
    done = subprocess.run(
        [sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session_file), "-m", "dockyard",
         *cli_args],
        env=env or None, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    if case.cleanup:
        case.cleanup()
    if done.returncode != 0 or not session_file.exists():
        log(f"    profiling {operation} failed: {last_line(done.stderr)}")
        return None
    tree = subprocess.run(
        [sys.executable, "-m", "pyinstrument", "--load", str(session_file), "-r", "text", "--no-color",
         "-p", "processor_options.filter_threshold=0.02"],
        capture_output=True, text=True,
    ).stdout
    total, top = own_times(session_file)
    lines = [line for line in tree.splitlines() if "pyinstrument --load-prev" not in line
             and "To view this report" not in line]
    return ProfileResult(operation, "dockyard " + " ".join(cli_args), total, top, "\n".join(lines[:70]).strip("\n"),
                         reading(top, total) + note)
