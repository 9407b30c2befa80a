"""Side-by-side runs of one command line on the reference Docker engine and on dockyard, for parity tests.

``Sides`` runs docker, then dockyard, then docker again: relative times ("5 seconds ago") can tick between
the runs, so dockyard's output must equal one of the two docker outputs byte for byte. Where Docker's order
is random (repositories of one image, images created in the same second, prune's map walk) the caller asks
for an unordered comparison of the body lines instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DOCKYARD = str(Path(sys.executable).with_name("dockyard"))


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run(argv: list[str], env: dict[str, str], stdin: str | None = None, timeout: float = 120) -> Result:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, input=stdin)
    return Result(proc.returncode, proc.stdout, proc.stderr)


class Sides:
    def __init__(self, docker_host: str, store_root: Path) -> None:
        # dockyard names itself after argv[0] in usage lines and hints: run it as `docker`
        bindir = store_root.parent / "as-docker"
        bindir.mkdir(parents=True, exist_ok=True)
        self.dockyard_as_docker = bindir / "docker"
        if not self.dockyard_as_docker.exists():
            self.dockyard_as_docker.symlink_to(DOCKYARD)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKYARD_"))}
        # one local zone for both: CreatedAt and -H=false print local time
        base["TZ"] = "UTC"
        self.docker_env = {**base, "DOCKER_HOST": docker_host, "DOCKER_BUILDKIT": "0",
                           "DOCKER_CONFIG": str(store_root.parent / "docker-config")}
        self.dockyard_env = {**base, "DOCKYARD_ROOT": str(store_root),
                             "DOCKER_CONFIG": str(store_root.parent / "docker-config"),
                             "DOCKYARD_CONFIG": str(store_root.parent / "dockyard-config.toml")}

    def docker(self, *argv: str, stdin: str | None = None) -> Result:
        return run(["docker", *argv], self.docker_env, stdin)

    def dockyard(self, *argv: str, stdin: str | None = None) -> Result:
        return run([str(self.dockyard_as_docker), *argv], self.dockyard_env, stdin)

    def must_docker(self, *argv: str) -> str:
        r = self.docker(*argv)
        if r.code != 0:
            raise AssertionError(f"docker {' '.join(argv)}: {r.err}")
        return r.out

    def must_dockyard(self, *argv: str) -> str:
        r = self.dockyard(*argv)
        if r.code != 0:
            raise AssertionError(f"dockyard {' '.join(argv)}: {r.err}")
        return r.out

    def both(self, *argv: str) -> tuple[list[Result], Result]:
        first = self.docker(*argv)
        mine = self.dockyard(*argv)
        second = self.docker(*argv)
        return [first, second], mine


def body_sorted(text: str, header_lines: int) -> list[str]:
    lines = text.split("\n")
    return lines[:header_lines] + sorted(lines[header_lines:])


def assert_same(docker_runs: list[Result], mine: Result, *, unordered: bool = False, header_lines: int = 0) -> None:
    """dockyard's stdout, stderr and exit code equal those of one of the docker runs."""

    def key(r: Result) -> tuple[int, object, str]:
        out: object = body_sorted(r.out, header_lines) if unordered else r.out
        return r.code, out, r.err

    wanted = [key(r) for r in docker_runs]
    got = key(mine)
    if got not in wanted:
        d = docker_runs[0]
        raise AssertionError(
            f"exit docker={d.code} dockyard={mine.code}\n"
            f"--- docker stdout\n{d.out}--- dockyard stdout\n{mine.out}"
            f"--- docker stderr\n{d.err}--- dockyard stderr\n{mine.err}"
        )
