"""``dockyard push`` against a real docker-registry: output, compression recorded once, mounts, errors,
and images that the reference Docker engine pulls and runs."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.oci import mediatypes as mt
from dockyard.store import Store
from tests.helpers.archives import Img, layer_tar, legacy_archive, oci_archive, oci_manifest, sha
from tests.helpers.registry import RegistryServer
from tests.helpers.cli import run_cli
from tests.helpers.images import import_image
from tests.helpers.registry_images import registry_client

pytestmark = pytest.mark.integration


def test_push_an_imported_image_then_again(registry: RegistryServer, store_root: Path, busybox_tar: Path) -> None:
    name = f"{registry.host}/dy/bb:1"
    image_id = import_image(str(busybox_tar), name)
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, "")
    with Store.open(store_root) as store:
        image = store.meta.get_image(image_id)
        assert image is not None
        diff_id = image.layers[0].diff_id
        gz = [d for d, kind, _ in store.meta.layer_blobs_for(diff_id) if kind == mt.DOCKER_LAYER_GZIP]
        assert len(gz) == 1  # the isal-compressed blob is recorded beside the plain one
        digests = store.meta.repo_digests_for(image_id)
        assert [d.repository for d in digests] == [f"{registry.host}/dy/bb"]
        manifest_digest = digests[0].digest
        size = store.content.size(Digest.parse(manifest_digest))
        assert store.check() == []
    assert out.splitlines() == [
        f"The push refers to repository [{registry.host}/dy/bb]",
        f"{diff_id.short}: Preparing",
        f"{diff_id.short}: Pushed",
        f"1: digest: {manifest_digest} size: {size}",
    ]
    client = registry_client(registry)
    assert client.head_blob("dy/bb", gz[0]) is not None
    assert client.get_manifest("dy/bb", "1").digest == Digest.parse(manifest_digest)

    code, out, _ = run_cli("push", name)
    assert code == 0
    assert out.splitlines()[2:] == [f"{diff_id.short}: Layer already exists", f"1: digest: {manifest_digest} size: {size}"]

    # Another repository on the same registry: the layer is mounted, not uploaded again.
    assert run_cli("tag", name, f"{registry.host}/dy/other:2")[0] == 0
    code, out, _ = run_cli("push", f"{registry.host}/dy/other:2")
    assert code == 0
    assert f"{diff_id.short}: Mounted from dy/bb" in out.splitlines()
    assert out.splitlines()[-1] == f"2: digest: {manifest_digest} size: {size}"


def test_quiet_all_tags_and_errors(registry: RegistryServer, store_root: Path, busybox_tar: Path) -> None:
    repo = f"{registry.host}/dy/tags"
    import_image(str(busybox_tar), f"{repo}:a")
    assert run_cli("tag", f"{repo}:a", f"{repo}:b")[0] == 0
    assert run_cli("push", "-q", f"{repo}:a") == (0, f"{repo}:a\n", "")
    code, out, _ = run_cli("push", "-a", repo)
    assert code == 0
    assert sorted(line for line in out.splitlines() if ": digest: " in line)[0].startswith("a: digest: ")
    assert sorted(registry_client(registry).list_tags("dy/tags")) == ["a", "b"]

    # As Docker: the heading starts the progress stream, so these errors come inside it, without the
    # "Error response from daemon: " prefix; a repository with no local tag at all is named as such.
    heading = f"The push refers to repository [{registry.host}/dy/absent]\n"
    missing = f"An image does not exist locally with the tag: {registry.host}/dy/absent\n"
    assert run_cli("push", f"{registry.host}/dy/absent") == (1, "Using default tag: latest\n" + heading, missing)
    assert run_cli("push", "-a", f"{registry.host}/dy/absent") == (1, heading, missing)
    assert run_cli("push", "-q", f"{registry.host}/dy/absent:3") == (1, "", missing)
    assert run_cli("push", f"{repo}:nope") == (
        1, f"The push refers to repository [{repo}]\n", f"tag does not exist: {repo}:nope\n",
    )
    assert run_cli("push", "-a", f"{repo}:a") == (1, "", "tag can't be used with --all-tags/-a\n")


def test_pushed_image_pulls_back_to_the_same_id(
    registry: RegistryServer, tmp_path: Path, store_root: Path, busybox_tar: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"{registry.host}/dy/round:1"
    image_id = import_image(str(busybox_tar), name)
    assert run_cli("push", name)[0] == 0
    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "second-store"))
    assert run_cli("pull", name)[0] == 0
    code, out, _ = run_cli("image", "inspect", name, "--format", "{{.Id}}")
    assert out.strip() == image_id


def test_docker_pulls_and_runs_what_dockyard_pushed(
    registry: RegistryServer, store_root: Path, busybox_tar: Path, docker_engine: str,
) -> None:
    env = {"DOCKER_HOST": docker_engine, "PATH": "/usr/local/bin:/usr/bin:/bin"}
    name = f"{registry.host}/dypush-{uuid.uuid4().hex[:8]}:1"
    image_id = import_image(str(busybox_tar), name)
    assert run_cli("push", name)[0] == 0
    code, out, _ = run_cli("image", "inspect", name, "--format", "{{json .RepoDigests}}")
    try:
        subprocess.run(["docker", "pull", "-q", name], env=env, check=True, capture_output=True)
        inspected = subprocess.run(
            ["docker", "image", "inspect", name, "--format", "{{.Id}} {{json .RepoDigests}}"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip()
        assert inspected == f"{image_id} {out.strip()}"
        run = subprocess.run(["docker", "run", "--rm", "--network", "none", name, "/bin/true"], env=env,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", name], env=env, capture_output=True)


def _load(tmp_path: Path, archive: bytes) -> None:
    path = tmp_path / "image.tar"
    path.write_bytes(archive)
    code, _, err = run_cli("load", "-q", "-i", str(path))
    assert (code, err) == (0, "")


def _pulls_back_as(name: str, image_id: str, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Into another store, the pushed image pulls back to the same image ID."""
    monkeypatch.setenv("DOCKYARD_ROOT", str(store))
    assert run_cli("pull", "-q", name) == (0, f"{name}\n", "")
    assert run_cli("image", "inspect", name, "--format", "{{.Id}}")[1].strip() == image_id


def test_zstd_layer_without_a_manifest_is_pushed_as_gzip(
    registry: RegistryServer, tmp_path: Path, store_root: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A docker-save archive may hold zstd layer tars; Docker pushes such layers gzip-compressed."""
    name = f"{registry.host}/dy/zstd:1"
    img = Img([layer_tar({"etc/zstd.txt": b"zstd layer\n" * 100})], tags=[name], layer_compression="zstd")
    _load(tmp_path, legacy_archive([img]).build())
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, "")
    with Store.open(store_root) as store:
        diff_id = Digest.parse(img.diff_ids[0])
        gz = [d for d, kind, _ in store.meta.layer_blobs_for(diff_id) if kind == mt.DOCKER_LAYER_GZIP]
        assert len(gz) == 1
        assert store.check() == []
    assert f"{diff_id.short}: Pushed" in out.splitlines()
    fetched = registry_client(registry).get_manifest("dy/zstd", "1")
    assert fetched.media_type == mt.DOCKER_MANIFEST
    assert [layer["digest"] for layer in json.loads(fetched.raw)["layers"]] == [str(d) for d in gz]

    _pulls_back_as(name, img.id, tmp_path / "second-store", monkeypatch)


def test_zstd_layer_with_a_zstd_manifest_is_pushed_as_it_is(
    registry: RegistryServer, tmp_path: Path, store_root: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An OCI image with zstd layers keeps its manifest, so its digest, through push and pull."""
    name = f"{registry.host}/dy/zstd-oci:1"
    img = Img([layer_tar({"etc/zstd.txt": b"zstd layer\n" * 100})], layer_compression="zstd")
    _load(tmp_path, oci_archive([(img, {"io.containerd.image.name": name})]).build())
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith(f"1: digest: {sha(oci_manifest(img))} ")
    layer = json.loads(registry_client(registry).get_manifest("dy/zstd-oci", "1").raw)["layers"][0]
    assert (layer["mediaType"], layer["digest"]) == (mt.OCI_LAYER_ZSTD, sha(img.blobs[0]))

    _pulls_back_as(name, img.id, tmp_path / "second-store", monkeypatch)


def test_a_layer_used_twice_is_compressed_and_pushed_once(
    registry: RegistryServer, tmp_path: Path, store_root: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"{registry.host}/dy/twice:1"
    base = layer_tar({"etc/base.txt": b"base\n"})
    img = Img([base, layer_tar({"etc/other.txt": b"other\n"}), base], tags=[name])
    _load(tmp_path, legacy_archive([img]).build())
    code, out, err = run_cli("push", name)
    assert (code, err) == (0, "")
    short = [Digest.parse(d).short for d in img.diff_ids]
    lines = out.splitlines()
    assert lines[1:3] == [f"{short[0]}: Preparing", f"{short[1]}: Preparing"]
    assert sorted(lines[3:5]) == sorted([f"{short[0]}: Pushed", f"{short[1]}: Pushed"])
    assert len(lines) == 6
    layers = json.loads(registry_client(registry).get_manifest("dy/twice", "1").raw)["layers"]
    assert len(layers) == 3 and layers[0] == layers[2] != layers[1]

    _pulls_back_as(name, img.id, tmp_path / "second-store", monkeypatch)
