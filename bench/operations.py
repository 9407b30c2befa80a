"""The benchmarked operations: for each, how every tool does it and what is prepared between runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import Case, interleave, last_line
from bench.peers import DockerDaemon, Registry
from bench.profiling import profile
from bench.results import NOT_AVAILABLE, OperationResult, ProfileResult
from bench.workload import Workload

TAG_COUNT = 1_000

# Targets are policy, not measurements: kept here by operation key, so a re-render applies the current ones.
TARGETS: dict[str, dict[str, float]] = {
    f"images-{TAG_COUNT}": {"docker": 1.0},
    "pull": {"skopeo": 1.0, "docker": 0.5},
    "push": {"docker": 0.5},
    "save": {"docker": 0.5},
    "load": {"docker": 0.5},
}


def dockyard_argv() -> list[str]:
    """The installed entry point, as a user runs it (its start-up is part of every timing)."""
    script = Path(sys.executable).parent / "dockyard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dockyard"]


@dataclass
class Bench:
    work: Path  # kept between runs (workload cache, dockerd data root)
    run: Path  # emptied at the start of each run
    reps: int
    docker: DockerDaemon
    podman: list[str] | None
    log: Callable[[str], None] = print
    dockyard: list[str] = field(default_factory=dockyard_argv)
    profile: bool = True
    profiles: list[ProfileResult] = field(default_factory=list)

    @property
    def dockyard_env(self) -> dict[str, str]:
        import os

        # Byte-compiled modules, as an installed tool has them: a developer's PYTHONDONTWRITEBYTECODE would
        # make every run recompile whatever changed since the last write of its .pyc.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        return {**env, "DOCKER_CONFIG": str(self.work / "docker-config"),
                "DOCKYARD_CONFIG": str(self.work / "dockyard-config.toml")}

    def dy(self, root: Path, *args: str) -> list[str]:
        return [*self.dockyard, "--root", str(root), *args]

    def dy_run(self, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.dy(root, *args), env=self.dockyard_env, capture_output=True, text=True)

    def pm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.podman is not None
        done = subprocess.run([*self.podman, *args], capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)}: {last_line(done.stderr)}")
        return done

    def measure(self, key: str, title: str, description: str, cases: list[Case],
                nbytes: int | None = None) -> OperationResult:
        self.log(f"[{key}] {title}")
        tools = interleave(cases, self.reps, self.log)
        ours = next((c for c in cases if c.tool == "dockyard"), None)
        if self.profile and ours is not None and key != "version":
            found = profile(ours, key, self.run, self.log)
            if found is not None:
                self.profiles.append(found)
        return OperationResult(key, title, description, tools, dict(TARGETS.get(key, {})), nbytes)


def rmtree(path: Path) -> Callable[[], None]:
    return lambda: shutil.rmtree(path, ignore_errors=True)


def unlink(path: Path) -> Callable[[], None]:
    return lambda: path.unlink(missing_ok=True)


def dockyard_failure(done: subprocess.CompletedProcess[str]) -> str:
    message = done.stderr or done.stdout
    return NOT_AVAILABLE if "not implemented yet" in message else f"failed: {last_line(message)}"


# -- start-up ------------------------------------------------------------------------------------------


def version(b: Bench) -> OperationResult:
    cases = [
        Case("dockyard", [*b.dockyard, "--version"], env=b.dockyard_env),
        Case("docker", ["docker", "--version"], env=b.docker.env),
        Case("skopeo", ["skopeo", "--version"]),
        Case("python -c pass", [sys.executable, "-c", "pass"]),
    ]
    return b.measure("version", "Start-up: `--version`",
                     "How long a command takes before it does anything; `python -c pass` is the floor for "
                     "a Python program. The docker client is a Go binary (client only, no daemon call).",
                     cases)


# -- images ----------------------------------------------------------------------------------------------


def _tag_many_dockyard(b: Bench, root: Path, source: str, names: list[str]) -> str | None:
    """Tags through the library in one process (999 CLI start-ups would only measure start-up)."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from dockyard.engine import Engine\n"
        "from dockyard.reference import reference_for_tagging\n"
        "with Engine(Path(sys.argv[1])) as engine:\n"
        "    for name in sys.argv[3:]:\n"
        "        engine.tag(sys.argv[2], reference_for_tagging(name))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(root), source, *names], env=b.dockyard_env,
                          capture_output=True, text=True)
    return None if done.returncode == 0 else f"failed: tagging: {last_line(done.stderr)}"


def images(b: Bench, busybox_tar: Path) -> list[OperationResult]:
    root = b.run / "images-store"
    source = "bench/tags:0"
    names = [f"bench/tags:{i}" for i in range(1, TAG_COUNT)]
    dy_setup = b.dy_run(root, "import", str(busybox_tar), source)
    dy_reason = None if dy_setup.returncode == 0 else dockyard_failure(dy_setup)
    b.docker.remove_all_images()
    b.docker.docker("import", str(busybox_tar), source)
    if b.podman:
        b.pm("rmi", "-af", check=False)
        b.pm("import", str(busybox_tar), source)

    def cases() -> list[Case]:
        out = [Case("dockyard", b.dy(root, "images"), env=b.dockyard_env, unavailable=lambda: dy_reason),
               Case("docker", ["docker", "images"], env=b.docker.env)]
        if b.podman:
            out.append(Case("podman", [*b.podman, "images"]))
        return out

    described = "The default table, written to a pipe. The image is a small busybox rootfs."
    results = [b.measure("images-1", "`images` with 1 tag", described, cases())]
    if dy_reason is None:
        dy_reason = _tag_many_dockyard(b, root, source, names)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: b.docker.docker("tag", source, name), names))
    if b.podman:
        b.pm("tag", source, *names)
    results.append(b.measure(f"images-{TAG_COUNT}", f"`images` with {TAG_COUNT:,} tags",
                             described + f" It carries {TAG_COUNT:,} tags (one table row each).", cases()))
    b.docker.remove_all_images()
    if b.podman:
        b.pm("rmi", "-af", check=False)
    shutil.rmtree(root, ignore_errors=True)
    return results


# -- pull, push, save, load --------------------------------------------------------------------------------


def pull(b: Bench, w: Workload, source: Registry) -> OperationResult:
    ref = f"{source.host}/{w.tag}"
    store, oci = b.run / "pull-store", b.run / "pull-oci"
    cases = [
        Case("dockyard", b.dy(store, "pull", ref), env=b.dockyard_env, prepare=rmtree(store), cleanup=rmtree(store)),
        Case("skopeo", ["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}",
                        f"oci:{oci}:{w.spec.name}"], prepare=rmtree(oci), cleanup=rmtree(oci)),
        Case("docker", ["docker", "pull", ref], env=b.docker.env, prepare=b.docker.remove_all_images,
             cleanup=b.docker.remove_all_images),
    ]
    if b.podman:
        wipe = lambda: b.pm("rmi", "-af", check=False)  # noqa: E731
        cases.append(Case("podman", [*b.podman, "pull", "-q", "--tls-verify=false", ref], prepare=wipe, cleanup=wipe))
    return b.measure(
        "pull", f"pull ({w.size / 1e6:.0f} MB, 4 layers) from a local registry",
        "From a `docker-registry` on loopback into an empty store each time: dockyard into a fresh store root, "
        "skopeo into a fresh OCI layout (no unpacking), docker and podman into engines with no image. "
        "docker and podman unpack the layers (podman with vfs storage); dockyard and skopeo keep them "
        "compressed. Rate = uncompressed image size / time.",
        cases, nbytes=w.size)


@dataclass
class Holdings:
    """Where the image already sits before push and save: each tool's own store."""

    dockyard_root: Path  # as `dockyard load` left it: layers as in the tar, no compressed copies yet
    dockyard_reason: str | None
    pulled_root: Path  # as `dockyard pull` left it: the registry's compressed blobs
    pulled_reason: str | None
    pulled_ref: str  # the name the pulled store knows the image by
    oci_layout: Path
    podman_ref: str | None


def stock_stores(b: Bench, w: Workload, source: Registry) -> Holdings:
    """Put the image into each tool's store, untimed: `docker save | dockyard load` as the brief says
    (and a pulled copy for the push of compressed blobs)."""
    remote = f"{source.host}/{w.tag}"
    root = b.run / "main-store"
    loaded = b.dy_run(root, "load", "-i", str(w.archive))
    reason = None if loaded.returncode == 0 else dockyard_failure(loaded)
    if reason == NOT_AVAILABLE:
        reason = f"{NOT_AVAILABLE} (needs `dockyard load`)"
    pulled_root = b.run / "pulled-store"
    pulled = b.dy_run(pulled_root, "pull", remote)
    pulled_reason = None if pulled.returncode == 0 else dockyard_failure(pulled)
    if pulled_reason == NOT_AVAILABLE:
        pulled_reason = f"{NOT_AVAILABLE} (needs `dockyard pull`)"
    b.docker.remove_all_images()
    b.docker.docker("load", "-i", str(w.archive))
    oci = b.run / "oci-source"
    shutil.rmtree(oci, ignore_errors=True)
    subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{remote}",
                    f"oci:{oci}:{w.spec.name}"], check=True, capture_output=True)
    podman_ref = None
    if b.podman:
        b.pm("rmi", "-af", check=False)
        b.pm("pull", "-q", "--tls-verify=false", remote)
        podman_ref = remote
    return Holdings(root, reason, pulled_root, pulled_reason, remote, oci, podman_ref)


def _fresh_copy(pristine: Path, target: Path) -> Callable[[], None]:
    """A store exactly as it was after its setup, so each push starts from the same state (dockyard
    remembers the compressed blobs it made on a first push; a second push would reuse them)."""

    def copy() -> None:
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(pristine), str(target)], check=True)

    return copy


def _then(*steps: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        for step in steps:
            step()

    return run


def push(b: Bench, w: Workload, held: Holdings) -> list[OperationResult]:
    """Two pushes, each against the peers in the same position: layers that must be compressed on the way
    out (dockyard after `load`, docker, podman), and compressed blobs already at hand (dockyard after `pull`,
    skopeo from an OCI layout)."""
    target = Registry(b.run / "push-registry")
    target.start()
    ref = f"{target.host}/{w.tag}"
    results = []
    try:
        loaded_reason = held.dockyard_reason
        if loaded_reason is None:
            tagged = b.dy_run(held.dockyard_root, "tag", w.tag, ref)
            loaded_reason = None if tagged.returncode == 0 else f"failed: setup: {dockyard_failure(tagged)}"
        working = b.run / "push-store"
        b.docker.docker("tag", w.tag, ref)
        cases = [
            Case("dockyard", b.dy(working, "push", ref), env=b.dockyard_env,
                 prepare=_then(target.reset, _fresh_copy(held.dockyard_root, working)),
                 cleanup=rmtree(working), unavailable=lambda: loaded_reason),
            Case("docker", ["docker", "push", ref], env=b.docker.env, prepare=target.reset),
        ]
        if b.podman and held.podman_ref:
            cases.append(Case("podman", [*b.podman, "push", "-q", "--tls-verify=false", held.podman_ref,
                                         f"docker://{ref}"], prepare=target.reset))
        results.append(b.measure(
            "push", f"push ({w.size / 1e6:.0f} MB, 4 layers) to an empty registry, compressing",
            "To a `docker-registry` on loopback restarted over empty storage before every run, so nothing "
            "can be skipped or mounted. Every tool has to gzip the layers on the way out: dockyard pushes from "
            "a store as `dockyard load` of the `docker save` tar left it (uncompressed layers; the store is "
            "restored to that state before each run, since dockyard keeps the compressed blobs it makes), "
            "docker and podman from their unpacked layers.",
            cases, nbytes=w.size))

        pulled_reason = held.pulled_reason
        if pulled_reason is None:
            tagged = b.dy_run(held.pulled_root, "tag", held.pulled_ref, ref)
            pulled_reason = None if tagged.returncode == 0 else f"failed: setup: {dockyard_failure(tagged)}"
        cases = [
            Case("dockyard", b.dy(held.pulled_root, "push", ref), env=b.dockyard_env, prepare=target.reset,
                 unavailable=lambda: pulled_reason),
            Case("skopeo", ["skopeo", "copy", "-q", "--dest-tls-verify=false",
                            f"oci:{held.oci_layout}:{w.spec.name}", f"docker://{ref}"], prepare=target.reset),
        ]
        results.append(b.measure(
            "push-blobs", f"push ({w.size / 1e6:.0f} MB, 4 layers) to an empty registry, compressed blobs at hand",
            "The same push when the compressed layers are already stored: dockyard from a store that pulled the "
            "image, skopeo from an OCI layout it copied from the registry. Nothing is recompressed.",
            cases, nbytes=w.size))
        return results
    finally:
        target.stop()
        b.docker.docker("rmi", ref, check=False)


def save(b: Bench, w: Workload, held: Holdings) -> OperationResult:
    out = b.run / "save-out"
    out.mkdir(parents=True, exist_ok=True)
    cases = [
        Case("dockyard", b.dy(held.dockyard_root, "save", "-o", str(out / "dockyard.tar"), w.tag),
             env=b.dockyard_env, unavailable=lambda: held.dockyard_reason, cleanup=unlink(out / "dockyard.tar"),
             output=out / "dockyard.tar"),
        Case("docker", ["docker", "save", "-o", str(out / "docker.tar"), w.tag], env=b.docker.env,
             cleanup=unlink(out / "docker.tar"), output=out / "docker.tar"),
    ]
    if b.podman and held.podman_ref:
        cases.append(Case("podman", [*b.podman, "save", "-q", "-o", str(out / "podman.tar"), held.podman_ref],
                          cleanup=unlink(out / "podman.tar"), output=out / "podman.tar"))
    return b.measure(
        "save", f"save ({w.size / 1e6:.0f} MB) to a docker-archive tar",
        "`save -o FILE IMAGE` from each tool's own store (the image is already there).",
        cases, nbytes=w.size)


def load(b: Bench, w: Workload) -> OperationResult:
    root = b.run / "load-store"
    cases = [
        Case("dockyard", b.dy(root, "load", "-q", "-i", str(w.archive)), env=b.dockyard_env,
             prepare=rmtree(root), cleanup=rmtree(root)),
        Case("docker", ["docker", "load", "-q", "-i", str(w.archive)], env=b.docker.env,
             prepare=b.docker.remove_all_images, cleanup=b.docker.remove_all_images),
    ]
    if b.podman:
        wipe = lambda: b.pm("rmi", "-af", check=False)  # noqa: E731
        cases.append(Case("podman", [*b.podman, "load", "-q", "-i", str(w.archive)], prepare=wipe, cleanup=wipe))
    return b.measure(
        "load", f"load ({w.size / 1e6:.0f} MB) from a `docker save` tar",
        "`load -i FILE` of the tar `docker save` wrote (uncompressed layers), into an empty store each time.",
        cases, nbytes=w.size)
