"""Image configs: reading every field, and writing new ones in the exact bytes Docker 20.10 writes.

IMPORTED_CONFIG comes from ``docker import -c 'ENV X=1' -c 'EXPOSE 80' -c 'CMD ["/bin/sh"]' -c 'LABEL a=b'
-c 'WORKDIR /w' -m msg``; BUILT_CONFIG from the 20.10 classic builder. Both were taken from ``docker save``.
"""

from __future__ import annotations

import json

import pytest

from dockyard.digest import Digest
from dockyard.errors import DataCorrupt, TooLarge
from dockyard.oci.config import HistoryEntry, ImageConfig, build_config, go_container_config, go_json
from tests.helpers.engine_configs import BUILT_CONFIG

pytestmark = pytest.mark.unit

IMPORTED_CONFIG = (
    '{"architecture":"amd64","comment":"msg","config":{"Hostname":"","Domainname":"","User":"","Attac'
    'hStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"80/tcp":{}},"Tty":false'
    ',"OpenStdin":false,"StdinOnce":false,"Env":["X=1"],"Cmd":["/bin/sh"],"Image":"","Volumes":null,"'
    'WorkingDir":"/w","Entrypoint":null,"OnBuild":null,"Labels":{"a":"b"}},"container_config":{"Hostn'
    'ame":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,'
    '"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,'
    '"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"created":"2026-11-22T11:25:45.3'
    '76905076Z","docker_version":"20.10.24+dfsg1","history":[{"created":"2026-11-22T11:25:45.37690507'
    '6Z","comment":"msg"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:430c6c3cd7107a0'
    '87d098b4fba0febcd478fe356110f4b9ec26b64da83696cad"]}}'
).encode()


IMPORTED_ID = "sha256:7d452f44a2ded9ee1f493093d4ee01d20f43e9585242fc753d729d5122f2de38"
BUILT_ID = "sha256:15b22a634bcd830969b5a34aa063bcb75c7c57526ad9aa8bfe97195da448d06c"


def test_id_is_the_digest_of_the_stored_bytes() -> None:
    assert str(ImageConfig.parse(IMPORTED_CONFIG).id) == IMPORTED_ID
    assert str(ImageConfig.parse(BUILT_CONFIG).id) == BUILT_ID
    # re-serialising would change the ID: the raw bytes are kept, not the parsed form
    spaced = json.dumps(json.loads(IMPORTED_CONFIG)).encode()
    assert ImageConfig.parse(spaced).raw == spaced
    assert str(ImageConfig.parse(spaced).id) != IMPORTED_ID


def test_imported_config_accessors() -> None:
    c = ImageConfig.parse(IMPORTED_CONFIG)
    assert c.created == "2026-11-22T11:25:45.376905076Z"
    assert (c.architecture, c.os, c.variant, c.os_version) == ("amd64", "linux", None, None)
    assert c.comment == "msg"
    assert c.author is None
    assert c.docker_version == "20.10.24+dfsg1"
    assert c.container is None
    assert c.parent is None
    assert c.labels == {"a": "b"}
    assert c.config is not None and c.config["Env"] == ["X=1"] and c.config["ExposedPorts"] == {"80/tcp": {}}
    assert c.container_config is not None and c.container_config["Cmd"] is None
    assert c.diff_ids == (Digest.parse("sha256:430c6c3cd7107a087d098b4fba0febcd478fe356110f4b9ec26b64da83696cad"),)
    assert c.history == (HistoryEntry(created="2026-11-22T11:25:45.376905076Z", comment="msg"),)


def test_built_config_history_and_container() -> None:
    c = ImageConfig.parse(BUILT_CONFIG)
    assert c.container == "1ea6ee4f093d985733e69b82e2d356a8b6ed49e02277111f0a7a93aa4f97d2c8"
    assert len(c.history) == 7
    assert [h.empty_layer for h in c.history] == [False, False, True, False, True, True, True]
    # layers in history pair up with diff_ids
    assert sum(not h.empty_layer for h in c.history) == len(c.diff_ids) == 3
    assert c.history[2].created_by == "/bin/sh -c #(nop)  ENV Y=2 Z=<&>"
    assert c.config is not None
    assert c.config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5000000000}
    assert c.config["StopSignal"] == "9"


def test_build_config_reproduces_docker_import_bytes() -> None:
    original = ImageConfig.parse(IMPORTED_CONFIG)
    raw = build_config(
        architecture="amd64",
        os="linux",
        created="2026-11-22T11:25:45.376905076Z",
        comment="msg",
        docker_version="20.10.24+dfsg1",
        config={"Env": ["X=1"], "Cmd": ["/bin/sh"], "ExposedPorts": {"80/tcp": {}}, "WorkingDir": "/w",
                "Labels": {"a": "b"}},
        diff_ids=original.diff_ids,
        history=[HistoryEntry(created="2026-11-22T11:25:45.376905076Z", comment="msg")],
    )
    assert raw == IMPORTED_CONFIG


def test_build_config_reproduces_builder_bytes() -> None:
    c = ImageConfig.parse(BUILT_CONFIG)
    raw = build_config(
        architecture=c.architecture,
        os=c.os,
        created=c.created or "",
        docker_version=c.docker_version,
        container=c.container,
        config=c.config,
        container_config=c.container_config,
        diff_ids=c.diff_ids,
        history=c.history,
    )
    assert raw == BUILT_CONFIG


def test_build_config_optional_fields_sorted_at_top_level() -> None:
    raw = build_config(
        architecture="arm64",
        os="linux",
        variant="v8",
        os_features=["f"],
        author="me <me@x>",
        created="2020-01-01T00:00:00Z",
        diff_ids=[],
        history=[],
        parent="sha256:" + "a" * 64,
    )
    doc = json.loads(raw)
    assert list(doc) == sorted(doc)
    assert "config" not in doc and "history" not in doc
    assert doc["rootfs"] == {"type": "layers"}
    assert doc["variant"] == "v8" and doc["os.features"] == ["f"]
    assert b"me \\u003cme@x\\u003e" in raw  # Go escapes < > &
    c = ImageConfig.parse(raw)
    assert (c.author, c.variant, c.os_features, c.parent) == ("me <me@x>", "v8", ("f",), "sha256:" + "a" * 64)


def test_go_container_config_fills_zero_values_in_struct_order() -> None:
    out = go_container_config({"Labels": {"b": "2", "a": "1"}, "Volumes": {"/z": {}, "/a": {}}, "Cmd": "x",
                               "StopTimeout": 0, "Unknown": 1})
    assert list(out)[:6] == ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr"]
    assert list(out["Labels"]) == ["a", "b"]
    assert list(out["Volumes"]) == ["/a", "/z"]
    assert out["Cmd"] == ["x"]
    assert out["StopTimeout"] == 0  # a pointer: zero is kept
    assert "ExposedPorts" not in out and "Shell" not in out and "Healthcheck" not in out
    assert "Unknown" not in out
    assert go_container_config({"Unknown": 1}, keep_unknown=True)["Unknown"] == 1
    assert go_container_config({"Env": []})["Env"] == []  # [] and null differ


def test_go_json_escapes_like_go() -> None:
    assert go_json({"a": "<&>\u2028é"}) == '{"a":"\\u003c\\u0026\\u003e\\u2028é"}'.encode()
    assert go_json({"a": [1]}, indent=3) == b'{\n   "a": [\n      1\n   ]\n}'


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"not json", DataCorrupt),
        (b"[]", DataCorrupt),
        (b'{"rootfs":{"type":"layers","diff_ids":["sha256:xyz"]}}', DataCorrupt),
        (b'{"rootfs":{"type":"layers","diff_ids":[5]}}', DataCorrupt),
        (b'{"rootfs":{"type":"other"}}', DataCorrupt),
        (b'{"history":{}}', DataCorrupt),
        (b'{"history":[{"created_by":5}]}', DataCorrupt),
        (b'{"config":[]}', DataCorrupt),
    ],
)
def test_bad_configs_are_refused(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        ImageConfig.parse(raw)


def test_size_cap() -> None:
    big = b'{"comment":"' + b"x" * 100 + b'"}'
    with pytest.raises(TooLarge):
        ImageConfig.parse(big, limit=64)
    assert ImageConfig.parse(big, limit=len(big)).comment == "x" * 100


def test_minimal_config_has_safe_defaults() -> None:
    c = ImageConfig.parse(b"{}")
    assert c.diff_ids == () and c.history == () and c.labels == {} and c.config is None
    assert c.architecture == "" and c.created is None
