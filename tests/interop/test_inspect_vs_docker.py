"""The same tar imported into dockyard and into a real Docker engine: ``inspect`` and ``history`` agree once
IDs, times, paths and the engine's DockerVersion are normalised. Docker images use the ``dyinspx-`` prefix
and are removed afterwards."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.rootfs import tar_of_files

pytestmark = pytest.mark.interop

CHANGES = ["ENV X=1", "LABEL org.dyr=one", "EXPOSE 80", "CMD [\"/bin/sh\"]", "WORKDIR /w"]


def docker(host: str, *argv: str) -> tuple[int, str, str]:
    env = dict(os.environ, DOCKER_HOST=host)
    p = subprocess.run(["docker", *argv], env=env, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def pair(docker_engine: str, store_root: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    tar = tar_of_files(tmp_path / "r.tar", {"etc/hello": "hi\n", "bin/tool": "x" * 1234},
                       symlinks={"etc/link": "hello"})
    name = f"dyinspx-{uuid.uuid4().hex[:10]}:v1"
    args = ["import", *[a for c in CHANGES for a in ("-c", c)], "-m", "a <msg>", str(tar), name]
    code, _, err = docker(docker_engine, *args)
    assert code == 0, err
    try:
        code, _, err = run_cli(*args)
        assert code == 0, err
        yield docker_engine, name
    finally:
        docker(docker_engine, "rmi", name)


def _normalise(text: str) -> str:
    text = re.sub(r"sha256:[0-9a-f]{64}(?<!dfff)", "sha256:ID", text)
    text = re.sub(r"\b[0-9a-f]{12}\b", "SHORT", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "TIME", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC", "GOTIME", text)
    text = re.sub(r'"(MergedDir|UpperDir|WorkDir|LowerDir)": "[^"]*"', r'"\1": "PATH"', text)
    text = re.sub(r'"DockerVersion": "[^"]*"', '"DockerVersion": "V"', text)
    return text


def test_default_inspect_matches(pair: tuple[str, str]) -> None:
    host, name = pair
    code_d, out_d, _ = docker(host, "image", "inspect", name)
    code_y, out_y, _ = run_cli("image", "inspect", name)
    assert code_d == code_y == 0
    # 20.10 honours only the OS of --platform; the default here is the host either way
    assert _normalise(out_y) == _normalise(out_d)
    obj_d, obj_y = json.loads(out_d)[0], json.loads(out_y)[0]
    assert obj_y["RootFS"] == obj_d["RootFS"]  # the same diff ID: the layer is the tar byte for byte
    assert obj_y["Size"] == obj_d["Size"]


@pytest.mark.parametrize(
    "template",
    [
        "{{.Os}} {{.Architecture}} {{.Size}} {{.Comment}}",
        "{{.Config.Labels}} {{.Config.ExposedPorts}} {{.Config.Env}} {{.Config.Cmd}} {{.Config.WorkingDir}}",
        "{{json .Config}}",
        "{{json .ContainerConfig}}",
        "{{json .RootFS}} {{.RootFS}}",
        "{{.Config.Healthcheck}} {{.Config.Hostname}}|{{.RepoTags}} {{.RepoDigests}} {{len .RepoTags}}",
        "{{.Metadata}}",
        "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}",
        "{{.Nope}}",
        "{{.Config.Nope}}",
        "{{.Os",
        "{{json .Nope}",
    ],
)
def test_templates_match(pair: tuple[str, str], template: str) -> None:
    host, name = pair
    got_d = docker(host, "image", "inspect", "-f", template, name)
    got_y = run_cli("image", "inspect", "-f", template, name)
    assert got_y[0] == got_d[0]
    assert _normalise(got_y[1]) == _normalise(got_d[1])
    assert got_y[2] == got_d[2]


def test_history_matches(pair: tuple[str, str]) -> None:
    host, name = pair
    for argv in (["history", name], ["history", "--format", "json", name], ["history", "-q", "--no-trunc", name],
                 ["history", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}", name]):
        got_d = docker(host, *argv)
        got_y = run_cli(*argv)
        assert got_y[0] == got_d[0] == 0
        # the age may tick between the two runs
        norm = lambda s: re.sub(r"(\d+|About an?|Less than a) \w+ ago", "AGO", _normalise(s))  # noqa: E731
        assert norm(got_y[1]) == norm(got_d[1])


def test_errors_match(pair: tuple[str, str]) -> None:
    host, name = pair
    missing = f"dyinspx-missing-{uuid.uuid4().hex[:8]}"
    for argv in (["image", "inspect", missing], ["inspect", missing], ["inspect", "--type", "foo", missing],
                 ["image", "inspect", "-f", "{{.Os}}", missing, name]):
        got_d = docker(host, *argv)
        got_y = run_cli(*argv)
        assert (got_y[0], got_y[1]) == (got_d[0], got_d[1])
        # the 20.10 engine wraps not-found as "no such image: X: No such image: X:latest" (cli.md §3)
        assert got_y[2] == re.sub(r"no such image: [^:]+: ", "", got_d[2])
