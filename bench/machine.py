"""Facts about the machine and the tools' versions, for the report's header."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

from bench.peers import tool_version


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _filesystem(path: Path) -> str:
    best, fstype = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if str(path.resolve()).startswith(fields[1]) and len(fields[1]) > len(best):
                best, fstype = fields[1], fields[2]
    except OSError:
        pass
    return fstype


def describe(workdir: Path, dockyard: list[str], podman: list[str] | None) -> dict[str, str]:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{_cpu_model()}, {os.cpu_count()} cores",
        "memory": _memory(),
        "kernel": platform.release(),
        "work dir file system": _filesystem(workdir),
        "Python": sys.version.split()[0],
        "dockyard": tool_version([*dockyard, "--version"]),
        "Docker engine": tool_version(["dockerd", "--version"]),
        "Docker client": tool_version(["docker", "--version"]),
        "skopeo": tool_version(["skopeo", "--version"]),
        "podman": tool_version(["podman", "--version"]) if podman else "absent",
        "docker-registry": tool_version(["docker-registry", "--version"]),
    }
