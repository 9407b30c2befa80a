"""``./dev bench``: time dockyard against Docker, skopeo and podman, and write bench/RESULTS.md."""

from __future__ import annotations

import argparse
import os
import subprocess
import shutil
import sys
import time
from pathlib import Path

from bench import limits, machine, operations, report, store
from bench.peers import DockerDaemon, PeerError, Registry, podman_base
from bench.results import RunResults, merge
from bench.workload import FULL, QUICK, busybox_tar, ensure_workload

HERE = Path(__file__).resolve().parent
ALL = ("limits", "version", "images", "pull", "push", "save", "load")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./dev bench", description=__doc__)
    parser.add_argument("--reps", type=int, default=None, help="repetitions per tool (default 5; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a ~40 MB image and 2 repetitions: checks the harness")
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--no-podman", action="store_true", help="leave podman out even when installed")
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument profile")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="work dir (kept: caches the image)")
    parser.add_argument("--render-only", action="store_true",
                        help="re-render the report from the last run's saved results, without measuring")
    parser.add_argument("--output", type=Path, default=None,
                        help="report path (default bench/RESULTS.md; bench/work/RESULTS-quick.md with --quick)")
    return parser.parse_args(argv)


def precompile(log) -> None:
    """Write dockyard's .pyc files first, so no timed run pays for compiling (an installed tool never does)."""
    import dockyard

    package = Path(dockyard.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], capture_output=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    log(f"byte-compiled {package}")



def _findings() -> str:
    """bench/FINDINGS.md: what was done about each target, kept by hand and copied into every report."""
    path = Path(__file__).with_name("FINDINGS.md")
    return path.read_text() if path.exists() else ""

def main(argv: list[str]) -> int:
    args = parse_args(argv)
    reps = args.reps or (2 if args.quick else 5)
    spec = QUICK if args.quick else FULL
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(ALL)
    if unknown:
        print(f"unknown operations: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    output = args.output or (args.work / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md")
    work = args.work.resolve()
    saved = work / f"results-{'quick' if args.quick else 'full'}.json"
    if args.render_only:
        previous = store.load(saved)
        for op in previous.operations:
            op.targets = dict(operations.TARGETS.get(op.key, {}))
        output.write_text(report.render(previous, _findings()))
        print(f"wrote {output}")
        return 0
    run = work / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    log = lambda text: print(text, flush=True)  # noqa: E731
    started = time.monotonic()

    podman = None if args.no_podman else podman_base(work)
    docker = DockerDaemon(work)
    bench = operations.Bench(work, run, reps, docker, podman, log, profile=not args.no_profile)
    precompile(log)
    results = RunResults(
        machine=machine.describe(work, bench.dockyard, podman),
        settings={"repetitions": str(reps), "mode": "quick" if args.quick else "full",
                  "podman storage": "vfs (rootful)" if podman else "podman not installed"},
    )
    source: Registry | None = None
    try:
        if "limits" in only:
            log("[limits] sha256, gzip, disk")
            sample = 64 << 20 if args.quick else 128 << 20
            disk = 256 << 20 if args.quick else 1 << 30
            results.limits = limits.measure(run, sample_bytes=sample, disk_bytes=disk, reps=3)
        if "version" in only:
            results.operations.append(operations.version(bench))
        needs_engine = only & {"images", "pull", "push", "save", "load"}
        if needs_engine:
            log("starting the bench's own dockerd")
            docker.start()
        if "images" in only:
            results.operations += operations.images(bench, busybox_tar(work))
        if only & {"pull", "push", "save", "load"}:
            workload = ensure_workload(spec, docker, work, log)
            results.settings["workload"] = (
                f"{workload.tag}: {workload.size / 1e6:.0f} MB uncompressed; busybox base + "
                f"{spec.random_bytes / 1e6:.0f} MB random, {spec.small_files:,} files of "
                f"{spec.small_file_size:,} B, {spec.text_bytes / 1e6:.0f} MB text (built by `docker build`)"
            )
            source = Registry(workload.registry_dir)
            source.start()
            docker.remove_all_images()
            if "pull" in only:
                results.operations.append(operations.pull(bench, workload, source))
            if only & {"push", "save"}:
                held = operations.stock_stores(bench, workload, source)
                if "push" in only:
                    results.operations += operations.push(bench, workload, held)
                if "save" in only:
                    results.operations.append(operations.save(bench, workload, held))
            if "load" in only:
                results.operations.append(operations.load(bench, workload))
    except PeerError as err:
        results.notes.append(f"The run stopped early: {err}")
        log(f"error: {err}")
    finally:
        if source is not None:
            source.stop()
        docker.stop()
        if podman:
            bench.pm("rmi", "-af", check=False)
    results.profiles = bench.profiles
    results.settings["bench run time"] = f"{(time.monotonic() - started) / 60:.1f} min"
    if only != set(ALL) and saved.exists():
        results = merge(store.load(saved), results, only, ALL)
        log(f"merged with the earlier results in {saved}")
    store.dump(results, saved)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report.render(results, _findings()))
    log(f"wrote {output}")
    shutil.rmtree(run, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
