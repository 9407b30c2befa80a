"""dockyard, skopeo and the reference Docker engine against the same docker-registry (skipped when absent)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.helpers.registry import RegistryServer
from tests.helpers.cli import run_cli
from tests.helpers.images import import_image

pytestmark = pytest.mark.interop


def skopeo(*args: str) -> str:
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    return subprocess.run(["skopeo", *args], check=True, capture_output=True, text=True).stdout


def test_skopeo_reads_what_dockyard_pushed_and_dockyard_pulls_what_skopeo_copied(
    registry: RegistryServer, store_root: Path, busybox_tar: Path
) -> None:
    name = f"{registry.host}/dy/interop:1"
    image_id = import_image(str(busybox_tar), name)
    assert run_cli("push", name)[0] == 0
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{name}"))
    digest = run_cli("image", "inspect", name, "--format", "{{index .RepoDigests 0}}")[1].strip()
    assert inspected["Digest"] == digest.split("@", 1)[1]
    config = json.loads(skopeo("inspect", "--tls-verify=false", "--config", f"docker://{name}"))
    assert config["rootfs"]["diff_ids"] == [
        run_cli("image", "inspect", name, "--format", "{{index .RootFS.Layers 0}}")[1].strip()
    ]
    # skopeo re-publishes it as OCI under another name (converting the config, so a new image ID);
    # dockyard pulls that to the ID skopeo's manifest names, with the same layer.
    copied = f"{registry.host}/dy/interop-oci:1"
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--format", "oci",
           f"docker://{name}", f"docker://{copied}")
    code, _, err = run_cli("pull", copied)
    assert (code, err) == (0, "")
    raw = json.loads(skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{copied}"))
    assert raw["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert run_cli("image", "inspect", copied, "--format", "{{.Id}}")[1].strip() == raw["config"]["digest"]
    layers = "{{json .RootFS.Layers}}"
    assert run_cli("image", "inspect", copied, "--format", layers)[1] == run_cli(
        "image", "inspect", image_id, "--format", layers)[1]


def test_docker_pushed_multi_layer_image_pulls_identically(
    registry: RegistryServer, store_root: Path, busybox_tar: Path, docker_engine: str,
    tmp_path: Path,
) -> None:
    env = {"DOCKER_HOST": docker_engine, "PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKER_BUILDKIT": "0"}
    base = f"dypull-{uuid.uuid4().hex[:8]}"
    target = f"{registry.host}/{base}-built:1"

    def docker(*args: str) -> str:
        return subprocess.run(["docker", *args], env=env, check=True, capture_output=True, text=True).stdout

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}:1\nRUN echo hi > /hi\nENV A=1\nRUN mkdir /d && echo x > /d/x\n")
    docker("import", str(busybox_tar), f"{base}:1")
    try:
        docker("build", "-q", "-t", target, str(ctx))
        docker("push", target)
        expected = docker("image", "inspect", target, "--format", "{{.Id}} {{json .RepoDigests}}").strip()
        code, out, err = run_cli("pull", target)
        assert (code, err) == (0, "")
        assert run_cli("image", "inspect", target, "--format", "{{.Id}} {{json .RepoDigests}}")[1].strip() == expected
        # And back: dockyard pushes it under a new name; Docker pulls the same ID and runs it.
        again = f"{registry.host}/{base}-again:1"
        assert run_cli("tag", target, again)[0] == 0
        assert run_cli("push", again)[0] == 0
        docker("pull", "-q", again)
        assert docker("image", "inspect", again, "--format", "{{.Id}}").strip() == expected.split()[0]
        docker("run", "--rm", "--network", "none", again, "/bin/cat", "/d/x")
    finally:
        subprocess.run(["docker", "rmi", "-f", target, f"{base}:1", f"{registry.host}/{base}-again:1"],
                       env=env, capture_output=True)
