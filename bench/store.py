"""Saves a run's results as JSON and reads them back, so the report can be re-rendered without re-running."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from bench.results import LimitResult, OperationResult, ProfileResult, RunResults, ToolResult


def dump(results: RunResults, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(results), indent=1))


def load(path: Path) -> RunResults:
    raw = json.loads(path.read_text())
    operations = [
        OperationResult(**{**op, "tools": [ToolResult(**t) for t in op["tools"]]}) for op in raw["operations"]
    ]
    return RunResults(
        machine=raw["machine"],
        settings=raw["settings"],
        operations=operations,
        limits=[LimitResult(**limit) for limit in raw["limits"]],
        profiles=[ProfileResult(**{**p, "top_functions": [tuple(x) for x in p["top_functions"]]})
                  for p in raw.get("profiles", [])],
        notes=raw.get("notes", []),
    )
