"""Time layers.scan.scan_layer over an uncompressed layer tar held in memory (median of N runs).

    .venv/bin/python bench/probes/scan.py LAYER.tar [N]
"""

from __future__ import annotations

import io
import statistics
import sys
import time

from dockyard.layers.scan import scan_layer


def main() -> None:
    data = open(sys.argv[1], "rb").read()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    times = []
    for _ in range(n):
        t = time.process_time()
        scan = scan_layer(io.BytesIO(data))
        times.append(time.process_time() - t)
    print(f"{len(data) / 1e6:.1f} MB, {scan.entries} entries: cpu median {statistics.median(times) * 1000:.1f} ms"
          f"  min {min(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
