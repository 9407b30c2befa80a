"""Driving the reference Docker engine from tests, and putting its IDs and ours side by side."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path


def docker(host: str, *args: str, tar: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``docker args…`` against the engine at ``host`` (classic builder), ``tar`` on stdin when given."""
    env = dict(os.environ, DOCKER_HOST=host, DOCKER_BUILDKIT="0")
    stdin = tar.open("rb") if tar is not None else None
    try:
        return subprocess.run(
            ["docker", *args], env=env, stdin=stdin, capture_output=True, text=True, cwd=cwd, timeout=300
        )
    finally:
        if stdin is not None:
            stdin.close()


def normalise(lines: list[str], roles: dict[str, str]) -> list[str]:
    """Replace image IDs (full and short) with their role, and any other ID with ``<layer>``."""
    out = []
    for line in lines:
        for role, image_id in roles.items():
            line = line.replace(image_id, f"<img:{role}>").replace(image_id[7:19], f"<img:{role}>")
        out.append(re.sub(r"sha256:[0-9a-f]{64}", "<layer>", line))
    return out
