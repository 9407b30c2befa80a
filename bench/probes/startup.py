"""Median wall time of a command over N runs, and the import-time tree of `dockyard images`.

    .venv/bin/python bench/probes/startup.py STORE [N]

Prints the median/min of `dockyard --root STORE images` (to a pipe) and `python -c pass`, interleaved,
then the top-level imports with the largest cumulative time (from -X importtime, median of 5 runs).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

PY = sys.executable


def _time(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    store = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    env_cmds = {
        "dockyard images": [os.path.join(os.path.dirname(PY), "dockyard"), "--root", store, "images"],
        "python -c pass": [PY, "-c", "pass"],
        "python -c 'import dockyard.cli.main'": [PY, "-c", "import dockyard.cli.main"],
    }
    if os.environ.get("DOCKER_HOST"):
        env_cmds["docker images"] = ["docker", "images"]
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(n):
        for name, argv in env_cmds.items():
            times[name].append(_time(argv))
    for name, ts in times.items():
        print(f"{name:40s} median {statistics.median(ts)*1000:7.1f} ms  min {min(ts)*1000:7.1f} ms")
    cum: dict[str, list[int]] = defaultdict(list)
    for _ in range(5):
        r = subprocess.run([PY, "-X", "importtime", "-m", "dockyard", "--root", store, "images"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
        for line in r.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            parts = line[len("import time:"):].split("|")
            name = parts[2].rstrip()
            cum[name].append(int(parts[1]))
    rows = sorted(((statistics.median(v), k) for k, v in cum.items()), reverse=True)[:40]
    for us, name in rows:
        print(f"{us/1000:7.2f} ms  {name}")


if __name__ == "__main__":
    main()
