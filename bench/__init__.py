"""Benchmarks of dockyard against its peers (Docker, skopeo, podman) on the same machine.

Run with ``./dev bench`` (``--quick`` for a small image and two repetitions). Never part of ``./dev test``.
The pure parts (statistics, report rendering) are unit-tested; timings are never asserted on.
"""
