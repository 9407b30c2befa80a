"""The workload image: a busybox base plus three data layers, built by a real ``docker build``.

Layers: 150 MB of random bytes (incompressible: measures raw byte moving and hashing), 10,000 small files
(measures per-file and per-tar-entry costs) and 173 MB of word-like text (compressible: measures gzip).
The build runs once per spec; its ``docker save`` tar and a registry storage holding the pushed image are
kept in the work dir, so later runs skip it.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.peers import DockerDaemon, Registry

BASE_TAG = "bench/busybox:base"
REPOSITORY = "bench/workload"


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    random_bytes: int
    small_files: int
    small_file_size: int
    text_bytes: int

    @property
    def tag(self) -> str:
        return f"{REPOSITORY}:{self.name}"

    @property
    def data_bytes(self) -> int:
        return self.random_bytes + self.small_files * self.small_file_size + self.text_bytes


FULL = WorkloadSpec("full", random_bytes=150_000_000, small_files=10_000, small_file_size=4_000,
                    text_bytes=173_000_000)
QUICK = WorkloadSpec("quick", random_bytes=16_000_000, small_files=1_000, small_file_size=4_000,
                     text_bytes=18_000_000)


@dataclass(frozen=True)
class Workload:
    spec: WorkloadSpec
    archive: Path  # the image as `docker save` wrote it
    registry_dir: Path  # a registry directory whose storage holds the pushed image
    size: int  # bytes of the image's uncompressed layers, as `docker images` counts them

    @property
    def tag(self) -> str:
        return self.spec.tag


def _words(rng: random.Random, count: int) -> list[str]:
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    weights = [12, 9, 8, 7, 7, 6, 6, 6, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    return ["".join(rng.choices(letters, weights, k=rng.randint(2, 10))) for _ in range(count)]


def write_text(path: Path, nbytes: int, rng: random.Random, vocabulary: list[str]) -> None:
    """Word-like text with lines of ~70 characters: compresses roughly as prose does."""
    with open(path, "w", encoding="ascii") as out:
        written = 0
        while written < nbytes:
            words = rng.choices(vocabulary, k=20_000)
            chunk = "\n".join(" ".join(words[i : i + 11]) for i in range(0, len(words), 11)) + "\n"
            chunk = chunk[: nbytes - written]
            out.write(chunk)
            written += len(chunk)


def make_context(spec: WorkloadSpec, context: Path) -> None:
    """Dockerfile plus the COPY sources; the random layer is made inside the build by RUN."""
    if context.exists():
        shutil.rmtree(context)
    (context / "small").mkdir(parents=True)
    (context / "text").mkdir()
    rng = random.Random(20240501)
    vocabulary = _words(rng, 8_000)
    per_dir = 500  # keeps directories of a realistic size rather than one of 10,000 entries
    for i in range(spec.small_files):
        directory = context / "small" / f"d{i // per_dir:03d}"
        directory.mkdir(exist_ok=True)
        words = rng.choices(vocabulary, k=spec.small_file_size // 4)
        body = (f"# file {i}\n" + " ".join(words) + "\n").encode()
        (directory / f"f{i:05d}.txt").write_bytes(body[: spec.small_file_size].ljust(spec.small_file_size, b"\n"))
    parts = 4
    for n in range(parts):
        write_text(context / "text" / f"part{n}.txt", spec.text_bytes // parts, rng, vocabulary)
    (context / "Dockerfile").write_text(
        f"FROM {BASE_TAG}\n"
        f"RUN mkdir -p /data && head -c {spec.random_bytes} /dev/urandom > /data/random.bin\n"
        "COPY small/ /data/small/\n"
        "COPY text/ /data/text/\n"
    )


def make_base(docker: DockerDaemon, work: Path) -> None:
    from tests.helpers.rootfs import make_busybox_tar  # pure helper: a busybox rootfs from busybox-static

    scratch = work / "busybox-rootfs"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    tar = make_busybox_tar(scratch / "busybox.tar", scratch)
    docker.docker("import", str(tar), BASE_TAG)
    shutil.rmtree(scratch, ignore_errors=True)


def busybox_tar(work: Path) -> Path:
    """The busybox rootfs tar alone (for the ``images`` benchmark's small image)."""
    from tests.helpers.rootfs import make_busybox_tar

    target = work / "busybox.tar"
    if not target.exists():
        scratch = work / "busybox-rootfs"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        make_busybox_tar(scratch / "busybox.tar", scratch).rename(target)
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def ensure_workload(spec: WorkloadSpec, docker: DockerDaemon, work: Path, log=print) -> Workload:
    """The cached workload for ``spec``, building and pushing it first when the cache lacks it."""
    home = work / f"workload-{spec.name}"
    marker = home / "ready.json"
    archive = home / "image.tar"
    registry_dir = home / "registry"
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("spec") == asdict(spec) and archive.exists() and registry_dir.exists():
            return Workload(spec, archive, registry_dir, int(saved["size"]))
    log(f"building the {spec.name} workload image (once; cached in {home})")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    docker.remove_all_images()
    make_base(docker, work)
    context = home / "context"
    make_context(spec, context)
    docker.docker("build", "--network=none", "-q", "-t", spec.tag, str(context))
    shutil.rmtree(context)
    size = int(docker.docker("image", "inspect", "-f", "{{.Size}}", spec.tag).stdout.strip())
    docker.docker("save", "-o", str(archive), spec.tag)
    registry = Registry(registry_dir)
    registry.start()
    try:
        remote = f"{registry.host}/{spec.tag}"
        docker.docker("tag", spec.tag, remote)
        docker.docker("push", remote)
    finally:
        registry.stop()
    docker.remove_all_images()
    marker.write_text(json.dumps({"spec": asdict(spec), "size": size}))
    return Workload(spec, archive, registry_dir, size)
