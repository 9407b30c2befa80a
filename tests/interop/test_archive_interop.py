"""save/load against the real tools: a Docker engine (both directions), skopeo and umoci.

Each test skips when its peer is absent. Images on the shared Docker engine are made under a unique
``dyarch-<random>`` name and only those are removed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.archives import Img, layer_tar, legacy_archive
from tests.helpers.cli import run_cli
from tests.helpers.images import import_image

pytestmark = pytest.mark.interop


def docker(host: str, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, DOCKER_HOST=host)
    return subprocess.run(["docker", *args], env=env, input=input, capture_output=True, check=check)


@pytest.fixture
def repo(docker_engine: str) -> Iterator[str]:
    name = f"dyarch-{uuid.uuid4().hex[:10]}"
    yield name
    out = docker(docker_engine, "images", "--format", "{{.ID}}", name, check=False).stdout.decode().split()
    refs = docker(docker_engine, "images", "--format", "{{.Repository}}:{{.Tag}}", name, check=False).stdout.decode().split()
    if refs:
        docker(docker_engine, "rmi", "-f", *refs, check=False)
    for image_id in set(out):
        docker(docker_engine, "rmi", "-f", image_id, check=False)


@pytest.fixture
def engine_images(docker_engine: str, repo: str, busybox_tar: Path, tmp_path: Path) -> dict[str, str]:
    """An import, a multi-layer classic build FROM it and an untagged build, on the reference engine."""
    docker(docker_engine, "import", str(busybox_tar), f"{repo}:base")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {repo}:base\nRUN echo hi > /hi.txt && mkdir -p /d/e\nENV A=1\nWORKDIR /d\n"
        "RUN dd if=/dev/zero of=/d/zero bs=1k count=64 2>/dev/null\nLABEL x=y\n"
    )
    env = {"DOCKER_BUILDKIT": "0"}
    subprocess.run(["docker", "build", "-q", "-t", f"{repo}:built", "-t", f"{repo}:alias", str(ctx)],
                   env=dict(os.environ, DOCKER_HOST=docker_engine, **env), check=True, capture_output=True)
    (ctx / "Dockerfile").write_text(f"FROM {repo}:base\nRUN echo untagged > /u\n")
    untagged = subprocess.run(["docker", "build", "-q", str(ctx)], env=dict(os.environ, DOCKER_HOST=docker_engine, **env),
                              check=True, capture_output=True).stdout.decode().strip()
    ids = {}
    for tag in ("base", "built"):
        ids[tag] = docker(docker_engine, "image", "inspect", "-f", "{{.Id}}", f"{repo}:{tag}").stdout.decode().strip()
    ids["untagged"] = untagged
    return ids


def inspect(docker_engine: str, ref: str) -> dict:
    return json.loads(docker(docker_engine, "image", "inspect", ref).stdout)[0]


def test_docker_save_then_dockyard_load(store_root, docker_engine, repo, engine_images, tmp_path):
    archive = tmp_path / "docker.tar"
    docker(docker_engine, "save", "-o", str(archive), f"{repo}:built", f"{repo}:alias", f"{repo}:base",
           engine_images["untagged"])
    result = run_cli("load", "-i", str(archive))
    assert result.code == 0
    out = result.out
    # Docker 20.10 writes manifest.json's entries in Go map order, so the expected lines follow the
    # archive's own order, as Docker's load prints them.
    with tarfile.open(archive) as tar:
        entries = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    tagged = [f"Loaded image: {tag}" for entry in entries for tag in entry.get("RepoTags") or []]
    assert out.splitlines()[: len(tagged)] == tagged
    assert sorted(tagged) == sorted(
        f"Loaded image: {repo}:{tag}" for tag in ("built", "alias", "base")
    )
    # When the last image has no tags, Docker prints every image's ID too, in the same order.
    ids = ["sha256:" + entry["Config"].split("/")[-1].removesuffix(".json") for entry in entries]
    expected_ids = [f"Loaded image ID: {i}" for i in ids] if not entries[-1].get("RepoTags") else []
    assert out.splitlines()[len(tagged):] == expected_ids
    for tag in ("built", "base"):
        theirs = inspect(docker_engine, f"{repo}:{tag}")
        result = run_cli("image", "inspect", f"{repo}:{tag}")
        assert result.code == 0
        ours = json.loads(result.out)[0]
        assert ours["Id"] == theirs["Id"]
        assert ours["RootFS"] == theirs["RootFS"]
        assert ours["Config"] == theirs["Config"]
        assert ours["Size"] == theirs["Size"]
        assert ours["Created"] == theirs["Created"]
        assert sorted(ours["RepoTags"]) == sorted(theirs["RepoTags"])
    for fmt in ("{{.CreatedBy}}|{{.Size}}|{{.Comment}}",):
        theirs = docker(docker_engine, "history", "--no-trunc", "--format", fmt, f"{repo}:built").stdout.decode()
        result = run_cli("history", "--no-trunc", "--format", fmt, f"{repo}:built")
        assert result.code == 0
        assert result.out == theirs
    with Store.open(store_root) as store:
        assert [p for p in store.check() if p.severity == "error"] == []


def test_dockyard_save_then_docker_load_and_run(store_root, docker_engine, repo, busybox_tar, tmp_path):
    image_id = import_image(str(busybox_tar), f"{repo}:mine")
    # A second, gzip-layered image loaded from a hand-made archive shares nothing with the first.
    extra = Img([layer_tar({"etc/extra": b"x"})], [f"{repo}:extra"], layer_compression="gzip")
    path = tmp_path / "extra.tar"
    path.write_bytes(legacy_archive([extra]).build())
    assert run_cli("load", "-i", str(path)).code == 0
    for compress in (None, "gzip"):
        out = tmp_path / f"ours-{compress}.tar"
        argv = ["save", "-o", str(out), f"{repo}:mine", f"{repo}:extra"] + (["--compress", compress] if compress else [])
        assert run_cli(*argv).code == 0
        docker(docker_engine, "rmi", "-f", f"{repo}:mine", f"{repo}:extra", check=False)
        loaded = docker(docker_engine, "load", "-i", str(out)).stdout.decode()
        assert loaded == f"Loaded image: {repo}:mine\nLoaded image: {repo}:extra\n"
        assert inspect(docker_engine, f"{repo}:mine")["Id"] == image_id
        assert inspect(docker_engine, f"{repo}:extra")["Id"] == extra.id
        docker(docker_engine, "run", "--rm", "--network", "none", f"{repo}:mine", "/bin/true")


def test_skopeo_reads_the_archive_both_ways(store_root, busybox_tar, tmp_path):
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    image_id = import_image(str(busybox_tar), "dyarch-skopeo:1")
    out = tmp_path / "s.tar"
    assert run_cli("save", "-o", str(out), "dyarch-skopeo:1").code == 0
    info = json.loads(subprocess.run(["skopeo", "inspect", f"docker-archive:{out}"], check=True, capture_output=True).stdout)
    assert info["Architecture"] and len(info["Layers"]) == 1
    config = json.loads(subprocess.run(["skopeo", "inspect", "--config", "--raw", f"oci-archive:{out}:1"],
                                       check=True, capture_output=True).stdout)
    assert config["rootfs"]["type"] == "layers"
    dest = tmp_path / "dir"
    subprocess.run(["skopeo", "copy", "-q", f"oci-archive:{out}:1", f"dir:{dest}"], check=True, capture_output=True)
    assert (dest / image_id.removeprefix("sha256:")).exists()
    # And the other way: what skopeo writes as a docker-archive loads here with the same ID.
    back = tmp_path / "skopeo.tar"
    subprocess.run(["skopeo", "copy", "-q", f"dir:{dest}", f"docker-archive:{back}:docker.io/dyarch/skopeo:2"],
                   check=True, capture_output=True)
    result = run_cli("load", "-i", str(back))
    assert result.code == 0
    assert result.out == "Loaded image: dyarch/skopeo:2\n"
    result = run_cli("images", "-q", "--no-trunc", "dyarch/skopeo:2")
    assert result.code == 0
    assert result.out.strip() == image_id
    # skopeo's own OCI archive (no manifest.json; names from ref.name) loads as well.
    oci = tmp_path / "skopeo-oci.tar"
    subprocess.run(["skopeo", "copy", "-q", f"dir:{dest}", f"oci-archive:{oci}:dyarch/skopeo:3"], check=True, capture_output=True)
    result = run_cli("load", "-i", str(oci))
    assert result.code == 0
    assert result.out == "Loaded image: dyarch/skopeo:3\n"


def test_umoci_reads_the_layout_directory(store_root, busybox_tar, tmp_path):
    if shutil.which("umoci") is None:
        pytest.skip("umoci is not installed")
    assert run_cli("import", str(busybox_tar), "dyarch-umoci:1").code == 0
    assert run_cli("tag", "dyarch-umoci:1", "dyarch-umoci:two").code == 0
    layout = tmp_path / "layout"
    assert run_cli("save", "--format", "oci-layout", "-o", str(layout), "dyarch-umoci").code == 0
    listed = subprocess.run(["umoci", "ls", "--layout", str(layout)], check=True, capture_output=True, text=True).stdout
    assert sorted(listed.split()) == ["1", "two"]
    stat = subprocess.run(["umoci", "stat", "--image", f"{layout}:two"], check=True, capture_output=True, text=True).stdout
    assert "LAYER" in stat or "History" in stat
