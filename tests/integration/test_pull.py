"""``dockyard pull`` against a real docker-registry: output, store state, digests, indexes, errors.

Images are put into the registry either by hand (``put_image``: layers, config, manifest built here, so
diff IDs and digests are known) or by the reference Docker engine (compared ID for ID when it runs).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.store import Store
from tests.helpers.archives import layer_tar
from tests.helpers.cli import run_cli
from tests.helpers.registry import RegistryServer
from tests.helpers.registry_images import put_image, put_index

pytestmark = pytest.mark.integration


# -- helpers -------------------------------------------------------------------------------------------


def open_store(root: Path) -> Store:
    return Store.open(root)


# -- tests ---------------------------------------------------------------------------------------------


def test_pull_output_store_state_and_up_to_date(registry: RegistryServer, store_root: Path) -> None:
    img = put_image(registry, "dy/app", "1", [layer_tar({"a.txt": b"a" * 1000}), layer_tar({"b.txt": b"b" * 5000})])
    name = f"{registry.host}/dy/app:1"
    code, out, err = run_cli("pull", name)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    ids = [d.short for d in img.layer_digests]
    assert lines[0] == "1: Pulling from dy/app"
    assert lines[-3:] == [f"Digest: {img.manifest_digest}", f"Status: Downloaded newer image for {name}", name]
    for ident in ids:
        for status in ("Pulling fs layer", "Verifying Checksum", "Download complete", "Pull complete"):
            assert f"{ident}: {status}" in lines
    # Pull complete follows the layer order (base first), as Docker's extraction does.
    assert lines.index(f"{ids[0]}: Pull complete") < lines.index(f"{ids[1]}: Pull complete")

    with open_store(store_root) as store:
        assert store.meta.image_for_tag(f"{registry.host}/dy/app:1") == img.image_id
        assert store.meta.image_for_repo_digest(f"{registry.host}/dy/app", str(img.manifest_digest)) == img.image_id
        record = store.meta.get_image(img.image_id)
        assert record is not None and [layer.blob for layer in record.layers] == img.layer_digests
        assert store.content.read_bytes(img.manifest_digest) == img.manifest
        assert {s.repository for s in store.meta.blob_sources(img.layer_digests[0])} == {"dy/app"}
        assert store.content.ingests() == []
        assert store.check() == []

    code, out, _ = run_cli("pull", name)
    assert code == 0
    assert out.splitlines() == [
        "1: Pulling from dy/app", f"Digest: {img.manifest_digest}", f"Status: Image is up to date for {name}", name
    ]


def test_pull_default_tag_quiet_and_moved_tag(registry: RegistryServer, store_root: Path) -> None:
    first = put_image(registry, "dy/moving", "latest", [layer_tar({"v": b"1"})])
    code, out, _ = run_cli("pull", "-q", f"{registry.host}/dy/moving")
    assert (code, out) == (0, f"{registry.host}/dy/moving:latest\n")
    second = put_image(registry, "dy/moving", "latest", [layer_tar({"v": b"2"})])
    code, out, _ = run_cli("pull", f"{registry.host}/dy/moving")
    assert code == 0
    assert out.startswith("Using default tag: latest\nlatest: Pulling from dy/moving\n")
    assert f"Status: Downloaded newer image for {registry.host}/dy/moving:latest\n" in out
    with open_store(store_root) as store:
        assert store.meta.image_for_tag(f"{registry.host}/dy/moving:latest") == second.image_id
        assert store.meta.get_image(first.image_id) is not None  # now dangling, still there
        assert store.meta.tags_for(first.image_id) == []


def test_shared_layer_already_exists(registry: RegistryServer, store_root: Path) -> None:
    base = layer_tar({"base": b"x" * 3000})
    put_image(registry, "dy/one", "1", [base])
    two = put_image(registry, "dy/two", "1", [base, layer_tar({"top": b"y"})])
    assert run_cli("pull", f"{registry.host}/dy/one:1")[0] == 0
    code, out, _ = run_cli("pull", f"{registry.host}/dy/two:1")
    assert code == 0
    assert f"{two.layer_digests[0].short}: Already exists" in out.splitlines()
    assert f"{two.layer_digests[1].short}: Pull complete" in out.splitlines()


def test_pull_by_digest_and_all_tags(registry: RegistryServer, store_root: Path) -> None:
    a = put_image(registry, "dy/multi", "a", [layer_tar({"a": b"a"})])
    b = put_image(registry, "dy/multi", "b", [layer_tar({"b": b"b"})])
    by_digest = f"{registry.host}/dy/multi@{a.manifest_digest}"
    code, out, _ = run_cli("pull", by_digest)
    assert code == 0
    assert out.splitlines()[0] == f"{a.manifest_digest}: Pulling from dy/multi"
    assert out.splitlines()[-1] == by_digest
    with open_store(store_root) as store:
        assert store.meta.all_tags() == []
        assert store.meta.image_for_repo_digest(f"{registry.host}/dy/multi", str(a.manifest_digest)) == a.image_id

    code, out, _ = run_cli("pull", "-a", f"{registry.host}/dy/multi")
    assert code == 0
    lines = out.splitlines()
    assert "a: Pulling from dy/multi" in lines and "b: Pulling from dy/multi" in lines
    assert lines[-2:] == [f"Status: Downloaded newer image for {registry.host}/dy/multi", f"{registry.host}/dy/multi"]
    with open_store(store_root) as store:
        assert store.meta.image_for_tag(f"{registry.host}/dy/multi:a") == a.image_id
        assert store.meta.image_for_tag(f"{registry.host}/dy/multi:b") == b.image_id


def test_platform_selection_on_an_index(registry: RegistryServer, store_root: Path) -> None:
    amd = put_image(registry, "dy/plat", None, [layer_tar({"arch": b"amd64"})], arch="amd64")
    arm = put_image(registry, "dy/plat", None, [layer_tar({"arch": b"arm64"})], arch="arm64")
    index = put_index(registry, "dy/plat", "1", [
        (amd, {"architecture": "amd64", "os": "linux"}),
        (arm, {"architecture": "arm64", "os": "linux", "variant": "v8"}),
    ])
    name = f"{registry.host}/dy/plat:1"
    code, out, err = run_cli("pull", "--platform", "linux/arm64", name)
    assert (code, err) == (0, "")
    assert f"Digest: {index}" in out.splitlines()
    with open_store(store_root) as store:
        assert store.meta.image_for_tag(name) == arm.image_id
        assert store.meta.image_for_repo_digest(f"{registry.host}/dy/plat", str(index)) == arm.image_id
        record = store.meta.get_manifest(index)
        assert record is not None and list(record.children) == [arm.manifest_digest]
    # The same index for another platform is not "up to date": the amd64 image is fetched.
    code, out, _ = run_cli("pull", "--platform", "linux/amd64", name)
    assert code == 0 and "Downloaded newer image" in out
    with open_store(store_root) as store:
        assert store.meta.image_for_tag(name) == amd.image_id
    code, _, err = run_cli("pull", "--platform", "linux/s390x", name)
    assert code == 1
    # After "Pulling from" the error arrives inside the progress stream: Docker prints it bare.
    assert err == "no matching manifest for linux/s390x in the manifest list entries\n"


def test_config_and_layers_disagree_nothing_tagged(registry: RegistryServer, store_root: Path) -> None:
    put_image(registry, "dy/liar", "1", [layer_tar({"x": b"x"})], diff_ids=[Digest.of(b"something else")])
    code, out, err = run_cli("pull", f"{registry.host}/dy/liar:1")
    assert code == 1
    assert err == "layers from manifest don't match image configuration\n"
    with open_store(store_root) as store:
        assert store.meta.all_tags() == [] and store.meta.list_images() == []
        assert store.check() == []


def test_pull_errors_in_dockers_words(registry: RegistryServer, store_root: Path) -> None:
    host = registry.host
    # No "Pulling from" heading before the registry has a manifest to show (observed with Docker 20.10).
    assert run_cli("pull", f"{host}/dy/none:nope")[1:] == (
        "",
        f"Error response from daemon: manifest for {host}/dy/none:nope not found: manifest unknown: manifest unknown\n",
    )
    code, _, err = run_cli("pull", "-a", f"{host}/dy/none")
    assert code == 1
    assert err == (f"Error response from daemon: repository {host}/dy/none not found: name unknown: "
                   "repository name not known to registry\n")
    assert run_cli("pull", "-a", f"{host}/dy/none:1") == (1, "", "tag can't be used with --all-tags/-a\n")
    code, _, err = run_cli("pull", "Upper/Case")
    assert code == 1 and err.startswith("invalid reference format")


def test_same_image_ids_and_digests_as_docker(
    registry: RegistryServer, store_root: Path, docker_engine: str, busybox_tar: Path
) -> None:
    env = {"DOCKER_HOST": docker_engine, "PATH": "/usr/local/bin:/usr/bin:/bin"}
    tag = f"dypull-{uuid.uuid4().hex[:8]}:1"
    target = f"{registry.host}/{tag}"

    def docker(*args: str) -> str:
        return subprocess.run(["docker", *args], env=env, check=True, capture_output=True, text=True).stdout

    docker("import", str(busybox_tar), tag)
    try:
        docker("tag", tag, target)
        docker("push", target)
        docker_id, docker_digests = docker("image", "inspect", target, "--format", "{{.Id}} {{json .RepoDigests}}").split(" ", 1)
        code, out, err = run_cli("pull", target)
        assert (code, err) == (0, "")
        code, out, _ = run_cli("image", "inspect", target, "--format", "{{.Id}} {{json .RepoDigests}}")
        assert out.strip() == f"{docker_id} {docker_digests.strip()}"
    finally:
        subprocess.run(["docker", "rmi", "-f", tag, target], env=env, capture_output=True)
