"""save/load against containerd (``ctr``) and podman, both ways (formats.md §7.3, §8).

Each peer runs on a store of its own in a temp directory and never on the host's: containerd as a private
daemon (tests/helpers/containerd.py), podman rootful with its own root, runroot, vfs, file locks and config
files. Each peer's tests skip, with the reason, when the binary is absent or cannot start.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.oci.platform import host_platform
from tests.helpers.archives import Img, layer_tar, legacy_archive, multi_platform_archive
from tests.helpers.cli import run_cli
from tests.helpers.containerd import Containerd, ContainerdUnavailable, start_containerd
from tests.helpers.images import import_image

pytestmark = pytest.mark.interop

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def ok(*args: str) -> str:
    result = run_cli(*args)
    assert result.code == 0, result.err
    return result.out


def image_id(ref: str) -> str:
    return ok("images", "-q", "--no-trunc", ref).strip()


def tar_directory(root: Path, out: Path) -> None:
    """An OCI archive of a layout directory: its contents at the top, no wrapping directory (§8)."""
    with tarfile.open(out, "w") as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=path.relative_to(root).as_posix(), recursive=False)


# --- containerd -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def containerd() -> Iterator[Containerd]:
    try:
        daemon = start_containerd()
    except ContainerdUnavailable as err:
        pytest.skip(f"no private containerd: {err}")
    yield daemon
    daemon.stop()


def ctr_images(daemon: Containerd, ns: str) -> dict[str, tuple[str, str]]:
    """``ctr images ls``: name → (media type, target digest)."""
    lines = daemon.ctr(ns, "images", "ls").stdout.decode().splitlines()[1:]
    return {cols[0]: (cols[1], cols[2]) for cols in (line.split() for line in lines)}


def ctr_config_digest(daemon: Containerd, ns: str, media_type: str, digest: str) -> str:
    """The config digest of an image manifest read back from containerd's content store."""
    assert media_type in (OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"), media_type
    manifest = json.loads(daemon.ctr(ns, "content", "get", digest).stdout)
    return manifest["config"]["digest"]


def assert_containerd_has(daemon: Containerd, ns: str, expected: dict[str, str]) -> None:
    images = ctr_images(daemon, ns)
    assert sorted(images) == sorted(expected)
    for name, (media_type, digest) in images.items():
        assert ctr_config_digest(daemon, ns, media_type, digest) == expected[name], name


def test_containerd_imports_dockyard_archives(store_root, busybox_tar, containerd, tmp_path):
    bb = import_image(str(busybox_tar), "dyctd/bb:1")
    ok("tag", "dyctd/bb:1", "dyctd/bb:two")
    # A second image whose layers are stored gzip-compressed, so the saved manifest names gzip blobs.
    extra = Img([layer_tar({"etc/extra": b"x"}), layer_tar({"etc/more": b"y"})], ["dyctd/extra:1"], layer_compression="gzip")
    archive = tmp_path / "extra.tar"
    archive.write_bytes(legacy_archive([extra]).build())
    ok("load", "-i", str(archive))
    expected = {"docker.io/dyctd/bb:1": bb, "docker.io/dyctd/bb:two": bb, "docker.io/dyctd/extra:1": extra.id}
    names = ["dyctd/bb", "dyctd/extra:1"]

    plain = tmp_path / "plain.tar"
    ok("save", "-o", str(plain), *names)
    # ctr import unpacks each image into the native snapshotter, checking every layer against its diff ID.
    containerd.ctr("dytest-plain", "images", "import", str(plain))
    assert_containerd_has(containerd, "dytest-plain", expected)

    compressed = tmp_path / "gzip.tar.gz"
    ok("save", "--compress", "gzip", "-o", str(compressed), *names)
    # containerd 1.6's importer reads only a plain tar stream (``docker load`` decompresses; ctr does not),
    # so the archive goes in as its users feed it: through gunzip.
    with gzip.open(compressed) as f:
        containerd.ctr("dytest-gzip", "images", "import", "-", input=f.read())
    assert_containerd_has(containerd, "dytest-gzip", expected)

    layout = tmp_path / "layout"
    ok("save", "--format", "oci-layout", "-o", str(layout), *names)
    tar_directory(layout, tmp_path / "layout.tar")
    containerd.ctr("dytest-layout", "images", "import", str(tmp_path / "layout.tar"))
    assert_containerd_has(containerd, "dytest-layout", expected)


def test_dockyard_loads_containerd_exports(store_root, containerd, tmp_path):
    # Content containerd writes itself: --compress-blobs turns this docker-archive's plain layers into gzip
    # blobs under schema2 manifests of containerd's making.
    first = Img([layer_tar({"a": b"1"}), layer_tar({"b": b"2"})], ["dyctd/exp:1"])
    second = Img([layer_tar({"c": b"3"})], ["dyctd/exp:two"], cmd="true")
    source = tmp_path / "source.tar"
    source.write_bytes(legacy_archive([first, second]).build())
    ns = "dytest-export"
    containerd.ctr(ns, "images", "import", "--compress-blobs", str(source))
    assert_containerd_has(containerd, ns, {"docker.io/dyctd/exp:1": first.id, "docker.io/dyctd/exp:two": second.id})

    both = tmp_path / "both.tar"
    containerd.ctr(ns, "images", "export", str(both), "docker.io/dyctd/exp:1", "docker.io/dyctd/exp:two")
    result = run_cli("load", "-i", str(both))
    assert result.code == 0, result.err
    assert sorted(result.lines) == ["Loaded image: dyctd/exp:1", "Loaded image: dyctd/exp:two"]
    assert image_id("dyctd/exp:1") == first.id
    assert image_id("dyctd/exp:two") == second.id
    ok("rmi", "dyctd/exp:1", "dyctd/exp:two")

    single = tmp_path / "single.tar"
    containerd.ctr(ns, "images", "export", str(single), "docker.io/dyctd/exp:two")
    assert ok("load", "-i", str(single)) == "Loaded image: dyctd/exp:two\n"
    assert image_id("dyctd/exp:two") == second.id
    # The layers kept containerd's gzip compression, and dockyard hands the same image back to containerd.
    again = tmp_path / "again.tar"
    ok("save", "-o", str(again), "dyctd/exp:two")
    containerd.ctr("dytest-export-back", "images", "import", str(again))
    assert_containerd_has(containerd, "dytest-export-back", {"docker.io/dyctd/exp:two": second.id})


def test_dockyard_loads_containerd_multi_platform_exports(store_root, containerd, tmp_path):
    host = host_platform().architecture
    other = "arm64" if host != "arm64" else "amd64"
    builder, ids = multi_platform_archive("dyctd/multi:1", [host, other])
    source = tmp_path / "multi.tar"
    source.write_bytes(builder.build())
    ns = "dytest-multi"
    containerd.ctr(ns, "images", "import", "--all-platforms", "--no-unpack", str(source))

    every = tmp_path / "every.tar"
    containerd.ctr(ns, "images", "export", "--all-platforms", str(every), "docker.io/dyctd/multi:1")
    assert ok("load", "-i", str(every)) == "Loaded image: dyctd/multi:1\n"
    assert image_id("dyctd/multi:1") == ids[host]
    # containerd's manifest.json lists only the host's image; the other one is reached through index.json.
    result = run_cli("load", "--platform", f"linux/{other}", "-i", str(every))
    assert result.code == 0, result.err
    assert result.lines[-1] == "Loaded image: dyctd/multi:1"
    assert image_id("dyctd/multi:1") == ids[other]

    # Without --all-platforms containerd exports the host's blobs only: that image loads, the other is absent.
    hosts = tmp_path / "host.tar"
    containerd.ctr(ns, "images", "export", str(hosts), "docker.io/dyctd/multi:1")
    result = run_cli("load", "-i", str(hosts))
    assert result.code == 0, result.err
    assert image_id("dyctd/multi:1") == ids[host]
    result = run_cli("load", "--platform", f"linux/{other}", "-i", str(hosts))
    assert result.code == 1
    assert f"linux/{other}" in result.err
    assert image_id("dyctd/multi:1") == ids[host]


# --- podman ---------------------------------------------------------------------------------------------


@dataclass
class Podman:
    workdir: str
    env: dict[str, str]

    def __call__(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["podman", "--root", f"{self.workdir}/root", "--runroot", f"{self.workdir}/run",
             "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", *args],
            capture_output=True, text=True, env=self.env, timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done

    def images(self) -> set[str]:
        return set(self("images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").stdout.splitlines())


@pytest.fixture
def podman() -> Iterator[Podman]:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    if os.geteuid() != 0:
        pytest.skip("these podman tests run rootful")
    # Short, under /tmp: conmon's attach socket lives below the runroot and must fit in sun_path.
    workdir = tempfile.mkdtemp(prefix="dypod-", dir="/tmp")
    conf = Path(workdir, "containers.conf")
    # File locks instead of the host-wide /dev/shm/libpod_lock; no journald events; the host's hard
    # limits, as podman's default nofile/nproc above them make runc fail with EPERM in a container.
    conf.write_text(
        '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        f'[engine]\nlock_type = "file"\nevents_logger = "none"\ntmp_dir = "{workdir}/tmp"\n'
        f'[network]\nnetwork_config_dir = "{workdir}/networks"\n'
    )
    storage = Path(workdir, "storage.conf")
    storage.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{workdir}/root"\nrunroot = "{workdir}/run"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTAINERS_", "DOCKER_", "REGISTRY_AUTH"))}
    env.update(CONTAINERS_CONF=str(conf), CONTAINERS_STORAGE_CONF=str(storage))
    peer = Podman(workdir, env)
    try:
        started = peer("info", "--format", "{{.Store.GraphRoot}}", check=False)
        if started.returncode != 0:
            pytest.skip(f"podman cannot start here: {started.stderr.strip()}")
        assert started.stdout.strip() == f"{workdir}/root"
        yield peer
    finally:
        peer("rm", "--all", "--force", check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def test_podman_loads_dockyard_archives(store_root, busybox_tar, podman, tmp_path):
    bb = import_image(str(busybox_tar), "dypod/bb:1")
    short = bb.removeprefix("sha256:")[:12]

    single = tmp_path / "single.tar.gz"
    ok("save", "--compress", "gzip", "-o", str(single), "dypod/bb:1")
    assert podman("load", "-q", "-i", str(single)).stdout == "Loaded image: docker.io/dypod/bb:1\n"
    # One tag: podman reads the OCI side and names it from io.containerd.image.name.
    assert podman.images() == {f"{short} docker.io/dypod/bb:1"}
    podman("rmi", "--all", "--force")

    ok("tag", "dypod/bb:1", "dypod/bb:two")
    both = tmp_path / "both.tar"
    ok("save", "-o", str(both), "dypod/bb")
    podman("load", "-q", "-i", str(both))
    # Two tags make the OCI side ambiguous for podman, which then reads manifest.json: podman qualifies
    # its familiar RepoTags with localhost/, exactly as it does for a `docker save` archive.
    assert podman.images() == {f"{short} localhost/dypod/bb:1", f"{short} localhost/dypod/bb:two"}
    podman("rmi", "--all", "--force")

    by_id = tmp_path / "by-id.tar"
    ok("save", "-o", str(by_id), short)
    assert podman("load", "-q", "-i", str(by_id)).stdout == f"Loaded image: {bb}\n"
    assert podman.images() == {f"{short} <none>:<none>"}
    podman("rmi", "--all", "--force")

    layout = tmp_path / "layout"
    ok("save", "--format", "oci-layout", "-o", str(layout), "dypod/bb:1")
    podman("load", "-q", "-i", str(layout))
    # podman names an image from an oci: directory after the directory's path, whatever index.json says.
    assert {line.split()[0] for line in podman.images()} == {short}

    # Running needs more of the host than loading; podman's own import of the same tree proves it can.
    own = podman("import", "-q", str(busybox_tar), "dypod/own:1").stdout.strip()
    probe = podman("run", "--rm", "--pull", "never", "--network", "none", own, "/bin/true", check=False)
    if probe.returncode != 0:
        pytest.skip(f"podman run does not work here: {probe.stderr.strip()}")
    podman("run", "--rm", "--pull", "never", "--network", "none", short, "/bin/true")


def test_dockyard_loads_podman_saves(store_root, busybox_tar, podman, tmp_path):
    # podman's own images: its import writes a config dockyard never saw.
    first = podman("import", "-q", "--change", "CMD=/bin/sh", str(busybox_tar), "dypod/imp:1").stdout.strip()
    second = podman("import", "-q", "--change", "ENV=X=1", str(busybox_tar), "dypod/imp:two").stdout.strip()
    first, second = (i if i.startswith("sha256:") else f"sha256:{i}" for i in (first, second))
    assert first != second

    # docker-dir (containers/image's dir: transport) is not a format docker load reads, nor dockyard.
    for fmt, name in (("docker-archive", "d.tar"), ("oci-archive", "o.tar"), ("oci-dir", "odir")):
        out = tmp_path / name
        podman("save", "-q", "--format", fmt, "-o", str(out), "dypod/imp:1")
        assert ok("load", "-i", str(out)) == "Loaded image: localhost/dypod/imp:1\n", fmt
        assert image_id("localhost/dypod/imp:1") == first, fmt
        ok("rmi", "localhost/dypod/imp:1")

    multi = tmp_path / "multi.tar"
    podman("save", "-q", "-m", "--format", "docker-archive", "-o", str(multi), "dypod/imp:1", "dypod/imp:two")
    result = run_cli("load", "-i", str(multi))
    assert result.code == 0, result.err
    assert sorted(result.lines) == ["Loaded image: localhost/dypod/imp:1", "Loaded image: localhost/dypod/imp:two"]
    assert image_id("localhost/dypod/imp:1") == first
    assert image_id("localhost/dypod/imp:two") == second
