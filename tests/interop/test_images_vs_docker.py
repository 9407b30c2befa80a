"""``dockyard images`` against the reference Docker engine: the same tars imported under the same names,
the same tags, then ``images`` output compared for many formats and filters (IDs and times normalised)."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli_process
from tests.helpers.rootfs import tar_of_files

pytestmark = pytest.mark.interop


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


class Pair:
    """Runs one `images` command line on both sides."""

    def __init__(self, host: str, store_root: Path) -> None:
        self.docker_env = {**os.environ, "DOCKER_HOST": host, "TZ": "UTC"}
        self.dy_env = {**os.environ, "DOCKYARD_ROOT": str(store_root), "TZ": "UTC"}
        self.ids: dict[str, str] = {}  # full hex → label, per side

    def docker(self, *argv: str) -> tuple[int, str, str]:
        return _run(["docker", *argv], self.docker_env)

    def dockyard(self, *argv: str) -> tuple[int, str, str]:
        return run_cli_process(*argv, env=self.dy_env)


_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+")
_SINCE = re.compile(r"(Less than a second|\d+ seconds?|About a minute|\d+ minutes) ago")


def normalise(text: str, ids: dict[str, str]) -> str:
    for full, label in ids.items():
        text = text.replace("sha256:" + full, f"<ID {label}>").replace(full[:12], f"<id {label}>")
    text = _TIME.sub("<time>", text)
    return _SINCE.sub("<ago>", text)


def lines_for_compare(text: str, table: bool) -> list[str]:
    """Tables: padding depends on normalised values, so compare cells; body order of one image's
    repositories is random in docker, so bodies are compared as multisets."""
    lines = text.splitlines()
    if table:
        lines = [re.sub(r" {2,}", " | ", line.rstrip()) for line in lines]
        return lines[:1] + sorted(lines[1:])
    return sorted(lines)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    from tests.conftest import docker_engine_host

    host = docker_engine_host()
    if host is None or subprocess.run(["which", "docker"], capture_output=True).returncode != 0:
        pytest.skip("no Docker engine running here")
    work = tmp_path_factory.mktemp("images-vs-docker")
    p = Pair(host, work / "store")
    if p.docker("version", "--format", "{{.Server.Version}}")[0] != 0:
        pytest.skip("reference engine not reachable")
    prefix = "dyimgcmp" + uuid.uuid4().hex[:8]
    p.prefix = prefix  # type: ignore[attr-defined]
    tars = [
        tar_of_files(work / "a.tar", {"etc/hello": "hello\n", "bin/tool": b"\x7fELF" + b"x" * 2000}),
        tar_of_files(work / "b.tar", {"data/big": b"y" * 123456}),
    ]
    names = []
    try:
        for i, (tar, target) in enumerate(zip(tars, (f"{prefix}/base:1", f"{prefix}-other:1"))):
            if i:
                time.sleep(1.2)  # distinct Created seconds: docker's order on ties is arbitrary
            for side in (p.docker, p.dockyard):
                code, out, err = side("import", str(tar), target)
                assert code == 0, err
            names.append(target)
        for src, dst in ((f"{prefix}/base:1", f"{prefix}/base:2"), (f"{prefix}/base:1", f"{prefix}-alias:latest")):
            for side in (p.docker, p.dockyard):
                assert side("tag", src, dst)[0] == 0
            names.append(dst)
        for side, ids in ((p.docker, "docker"), (p.dockyard, "dockyard")):
            for label, name in (("base", f"{prefix}/base:1"), ("other", f"{prefix}-other:1")):
                full = side("image", "inspect", "--format", "{{.Id}}", name)[1].strip()
                p.ids.setdefault(ids, {})  # type: ignore[arg-type]
                p.ids[ids][full[len("sha256:"):]] = label  # type: ignore[index]
        yield p
    finally:
        p.docker("rmi", "-f", *names)


CASES = [
    # (args, table?)
    (["{p}*"], True),
    (["{p}/base"], True),
    (["--digests", "{p}/base"], True),
    (["--no-trunc", "{p}/*"], True),
    (["-q", "{p}*"], False),
    (["-q", "--no-trunc", "{p}*"], False),
    (["--format", "json", "{p}*"], False),
    (["--format", "{{json .}}", "{p}/base:2"], False),
    (["--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.VirtualSize}} {{.Digest}}", "{p}*"], False),
    (["--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.Size}}", "{p}*"], True),
    (["--format", "table {{.Repository}}", "--digests", "{p}*"], True),
    (["--format", "table {{.ID}}\\t{{.CreatedAt}}\\t{{.SharedSize}}\\t{{.UniqueSize}}\\t{{.Containers}}", "{p}*"], True),
    (["--format", "raw", "{p}-other"], False),
    (["--format", "{{.Repository}} {{.Tag}}", "-f", "reference={p}/*:2"], False),
    (["--format", "{{.Repository}} {{.Tag}}", "-f", "reference={p}*", "-f", "reference={p}/base:1"], False),
    (["--format", "{{.Repository}} {{.Tag}}", "-f", "reference={p}*", "-f", "dangling=false"], False),
    (["--format", "{{.Repository}} {{.Tag}}", "-f", "reference={p}*", "-f", "before={p}-other:1"], False),
    (["--format", "{{.Repository}} {{.Tag}}", "-f", "reference={p}*", "-f", "since={p}/base:1"], False),
    (["--format", "{{.Repository}} {{.Tag}}", "-f", "reference={p}*", "-f", "label=none"], False),
    (["--format", "table {{.Repository}}", "{p}-nothing"], True),
    (["--format", "{{.Bogus}}", "{p}*"], False),
]


@pytest.mark.parametrize(("args", "table"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_images_output_matches(pair: Pair, args: list[str], table: bool) -> None:
    argv = ["images", *(a.replace("{p}", pair.prefix) for a in args)]  # type: ignore[attr-defined]
    d_code, d_out, d_err = pair.docker(*argv)
    y_code, y_out, y_err = pair.dockyard(*argv)
    assert y_code == d_code, (d_err, y_err)
    assert y_err == d_err
    d_norm = lines_for_compare(normalise(d_out, pair.ids["docker"]), table)  # type: ignore[index]
    y_norm = lines_for_compare(normalise(y_out, pair.ids["dockyard"]), table)  # type: ignore[index]
    assert y_norm == d_norm
    if d_code == 0 and "nothing" not in argv[-1] and "label=none" not in argv:
        assert len(d_norm) > (1 if table else 0)  # the comparison saw rows, not just two empty outputs


@pytest.mark.parametrize(
    "flag", ["label!=x", "bogus=1", "dangling=maybe", "before=dyimgcmp-missing", "reference=[", "Label=a"]
)
def test_filter_errors_match(pair: Pair, flag: str) -> None:
    d = pair.docker("images", "-q", "-f", flag, f"{pair.prefix}*")  # type: ignore[attr-defined]
    y = pair.dockyard("images", "-q", "-f", flag, f"{pair.prefix}*")  # type: ignore[attr-defined]
    assert y[0] == d[0]
    # the 20.10 engine capitalises "Invalid filter"; v28 (what dockyard follows) does not
    assert y[2].lower() == d[2].lower()
    assert y[1] == d[1]
