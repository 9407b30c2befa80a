"""``dockyard inspect`` / ``image inspect`` on imported images: keys and order, output modes, the typed and
raw template rule, per-operand errors and exit codes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.rootfs import tar_of_files

pytestmark = pytest.mark.integration

KEYS = ["Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Container", "ContainerConfig",
        "DockerVersion", "Author", "Config", "Architecture", "Os", "Size", "VirtualSize", "GraphDriver", "RootFS",
        "Metadata"]
LEGACY_KEYS = ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
               "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels"]


@pytest.fixture
def imported(store_root: Path, tmp_path: Path) -> dict[str, str]:
    tar = tar_of_files(tmp_path / "r.tar", {"etc/hello": "hi\n"}, symlinks={"etc/link": "hello"})
    code, out, err = run_cli("import", "-c", "ENV X=1", "-c", "LABEL a=b", str(tar), "dyinsp:one")
    assert code == 0, err
    code, untagged, err = run_cli("import", "-m", "<msg> & more", "--platform", "linux/arm/v7", str(tar))
    assert code == 0, err
    return {"id": out.strip(), "untagged": untagged.strip(),
            "diff_id": "sha256:" + hashlib.sha256(tar.read_bytes()).hexdigest()}


def test_default_output_shape(imported: dict[str, str]) -> None:
    code, out, err = run_cli("image", "inspect", "dyinsp:one")
    assert code == 0 and err == ""
    assert out.startswith("[\n    {\n        \"Id\": ") and out.endswith("\n    }\n]\n")
    [obj] = json.loads(out)
    assert list(obj) == KEYS
    assert obj["Id"] == imported["id"] and obj["RepoTags"] == ["dyinsp:one"] and obj["RepoDigests"] == []
    assert obj["Comment"] == "Imported from -" and obj["Parent"] == "" and obj["DockerVersion"] == ""
    assert list(obj["Config"]) == LEGACY_KEYS and list(obj["ContainerConfig"]) == LEGACY_KEYS
    assert obj["Config"]["Env"] == ["X=1"] and obj["Config"]["Labels"] == {"a": "b"}
    assert obj["Size"] == obj["VirtualSize"] == 8
    assert obj["RootFS"] == {"Type": "layers", "Layers": [imported["diff_id"]]}
    assert obj["GraphDriver"]["Name"] == "overlay2"
    assert list(obj["GraphDriver"]["Data"]) == ["MergedDir", "UpperDir", "WorkDir"]
    assert obj["Metadata"]["LastTagTime"] != "0001-01-01T00:00:00Z"
    assert '"RepoDigests": [],' in out  # empty arrays stay on one line, as Go's json.Indent writes them


def test_untagged_variant_and_escaping(imported: dict[str, str]) -> None:
    code, out, _ = run_cli("image", "inspect", imported["untagged"][7:19])
    [obj] = json.loads(out)
    assert obj["RepoTags"] == [] and obj["Metadata"] == {"LastTagTime": "0001-01-01T00:00:00Z"}
    assert list(obj)[11:14] == ["Architecture", "Variant", "Os"] and obj["Variant"] == "v7"
    assert obj["Comment"] == "<msg> & more"
    assert '"Comment": "<msg> & more"' in out  # moby's WriteJSON does not escape HTML characters


def test_json_and_templates(imported: dict[str, str]) -> None:
    code, out, _ = run_cli("image", "inspect", "-f", "json", "dyinsp:one", imported["untagged"])
    assert code == 0 and out.startswith('[{"Id":"') and out.endswith("}]\n") and out.count("\n") == 1
    assert [o["Id"] for o in json.loads(out)] == [imported["id"], imported["untagged"]]
    code, out, err = run_cli("image", "inspect", "-f", "{{.Os}} {{.Config.Labels}} {{.Config.ExposedPorts}}", "dyinsp:one")
    assert (code, out, err) == (0, "linux map[a:b] map[]\n", "")
    code, out, _ = run_cli("image", "inspect", "-f", "{{json .Config}}", "dyinsp:one")
    assert out == '{"Env":["X=1"],"Labels":{"a":"b"}}\n'
    code, out, _ = run_cli("image", "inspect", "-f", "{{json .ContainerConfig.Env}} {{.Config.Hostname}}|", "dyinsp:one")
    assert out == "null |\n"  # Hostname is not in the typed OCI config: the raw JSON answers
    code, out, err = run_cli("image", "inspect", "-f", "{{.Nope}}", "dyinsp:one")
    assert (code, out) == (1, "\n")
    assert err == 'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n'
    code, out, err = run_cli("image", "inspect", "-f", "{{.Os", "dyinsp:one")
    assert (code, out, err) == (64, "", "template parsing error: template: :1: unclosed action\n")


def test_missing_operands(imported: dict[str, str]) -> None:
    code, out, err = run_cli("image", "inspect", "-f", "{{.Os}}", "nosuch", "dyinsp:one", "other")
    assert (code, out) == (1, "linux\n")
    assert err == ("Error response from daemon: No such image: nosuch:latest\n"
                   "Error response from daemon: No such image: other:latest\n")
    assert run_cli("image", "inspect", "nosuch") == (1, "[]\n", "Error response from daemon: No such image: nosuch:latest\n")
    assert run_cli("image", "inspect", "-f", "json", "nosuch")[1] == "[]\n"
    assert run_cli("inspect", "nosuch") == (1, "[]\n", "Error: No such object: nosuch\n")
    assert run_cli("inspect", "--type", "image", "nosuch") == (
        1, "[]\n", "Error response from daemon: No such image: nosuch:latest\n")
    code, out, err = run_cli("inspect", "--type", "foo", "nosuch")
    assert (code, out) == (1, "")
    assert err.startswith('unknown type: "foo": must be one of "config", "container", "image", "network"')
    code, out, _ = run_cli("inspect", "-f", "{{.Id}}", "nosuch", "dyinsp:one")
    assert (code, out) == (1, imported["id"] + "\n")
