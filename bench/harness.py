"""Interleaved timing of the same operation by several tools.

Each repetition runs every tool once, in a fixed order (A B C, A B C, …), so slow drifts of a shared
machine (another engineer's test run, page-cache pressure) spread over all tools instead of landing on one.
Preparation and cleanup are untimed; dirty pages are flushed before each timed run so that one tool's
writes are not paid for during the next tool's run.
"""

from __future__ import annotations

import os
import resource
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.results import NOT_AVAILABLE, OK, ToolResult

UNIMPLEMENTED_MARK = "not implemented yet"
COMMAND_TIMEOUT = 900.0


@dataclass
class Case:
    """One tool's way of doing the operation."""

    tool: str
    argv: Sequence[str]
    env: dict[str, str] | None = None
    prepare: Callable[[], None] | None = None  # untimed, before each run
    cleanup: Callable[[], None] | None = None  # untimed, after each run
    unavailable: Callable[[], str | None] | None = None  # a reason not to run at all, checked once
    stdin: Path | None = None
    output: Path | None = None  # a file the command writes, whose size is recorded
    result: ToolResult = field(init=False)

    def __post_init__(self) -> None:
        self.result = ToolResult(self.tool, command=shlex.join(self.argv))


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(case: Case) -> tuple[float, float] | str:
    """Wall seconds and CPU seconds (user + system, the command and its waited-for children), or the
    reason the command failed."""
    if case.prepare:
        case.prepare()
    os.sync()
    stdin = open(case.stdin, "rb") if case.stdin else subprocess.DEVNULL
    try:
        cpu_before = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(list(case.argv), env=case.env, stdin=stdin, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT)
        elapsed = time.perf_counter() - start
        cpu = _children_cpu() - cpu_before
    except subprocess.TimeoutExpired:
        return f"failed: timed out after {COMMAND_TIMEOUT:.0f} s"
    finally:
        if case.stdin:
            stdin.close()
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace")
        if UNIMPLEMENTED_MARK in message:
            return NOT_AVAILABLE
        return f"failed (exit {done.returncode}): {last_line(message)}"
    return elapsed, cpu


def interleave(cases: Sequence[Case], reps: int, log: Callable[[str], None] = print) -> list[ToolResult]:
    """Run every case ``reps`` times, one of each per round; a case that fails once is not run again."""
    for case in cases:
        reason = case.unavailable() if case.unavailable else None
        if reason:
            case.result.status = reason
    for rep in range(reps):
        for case in cases:
            if case.result.status != OK:
                continue
            outcome = run_once(case)
            if case.output is not None and case.output.exists():
                case.result.output_bytes = case.output.stat().st_size
            if case.cleanup:
                try:
                    case.cleanup()
                except Exception as err:  # a broken cleanup would skew the next run: stop this tool
                    case.result.status = f"failed: cleanup: {err}"
                    continue
            if isinstance(outcome, str):
                case.result.status = outcome
                log(f"    {case.tool}: {outcome}")
            else:
                case.result.samples.append(outcome[0])
                case.result.cpu.append(outcome[1])
                log(f"    rep {rep + 1}/{reps} {case.tool}: {outcome[0]:.3f} s (CPU {outcome[1]:.2f} s)")
    return [case.result for case in cases]
