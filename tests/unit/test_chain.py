"""Chain IDs and legacy v1 layer IDs, checked against Docker 20.10's own layer store and ``docker save``.

BUILT_CONFIG is the config of a three-layer image built by the 20.10 classic builder (COPY, ENV with
``<&>``, COPY, LABEL, HEALTHCHECK, STOPSIGNAL); the V1_JSON_* files are the ``<v1id>/json`` entries of its
``docker save``, and the chain IDs are the directory names of the engine's layerdb.
"""

from __future__ import annotations

import pytest

from dockyard.digest import Digest
from dockyard.oci.chain import chain_id, chain_ids, go_time_text, v1_layer_ids, v1_layer_json
from dockyard.oci.config import ImageConfig, build_config
from tests.helpers.engine_configs import BUILT_CONFIG

pytestmark = pytest.mark.unit

V1_JSON_0 = (
    '{"id":"8817c7bf60944e149caf502519aa225126bf34c2539b6cfcc2ecc4aa6acc155b","created":"1970-01-01T0'
    '0:00:00Z","container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"Attac'
    'hStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"'
    'Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":nu'
    'll},"os":"linux"}'
).encode()
V1_JSON_1 = (
    '{"id":"55568ff144ed155059e44f59fd8c3339c4893cca7a66f1d67d5c7e8205e15c90","parent":"8817c7bf60944'
    'e149caf502519aa225126bf34c2539b6cfcc2ecc4aa6acc155b","created":"1970-01-01T00:00:00Z","container'
    '_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"Atta'
    'chStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":""'
    ',"Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"os":"linux"}'
).encode()
V1_JSON_2 = (
    '{"id":"4b99815722f82d1cb93d8325830c899ef410c1ababa0fff80a75a60f3812b20b","parent":"55568ff144ed1'
    '55059e44f59fd8c3339c4893cca7a66f1d67d5c7e8205e15c90","created":"2026-11-22T11:26:22.04022738Z","'
    'container":"1ea6ee4f093d985733e69b82e2d356a8b6ed49e02277111f0a7a93aa4f97d2c8","container_config"'
    ':{"Hostname":"1ea6ee4f093d","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"'
    'AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin'
    ':/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","Y=2","Z=\\u003c\\u0026\\u003e"],"Cmd":["/bin/sh","-'
    'c","#(nop) ","STOPSIGNAL 9"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000},"'
    'Image":"sha256:0d62a2332c39c678f53e2c610bb9122ae69823aec8b9b7eb6732b0b94bfd5f70","Volumes":null,'
    '"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"x":"y"},"StopSignal":"9"},"docker_ve'
    'rsion":"20.10.24+dfsg1","config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"A'
    'ttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["'
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","Y=2","Z=\\u003c\\u0026\\u003e"]'
    ',"Cmd":null,"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000},"Image":"sha256:0d'
    '62a2332c39c678f53e2c610bb9122ae69823aec8b9b7eb6732b0b94bfd5f70","Volumes":null,"WorkingDir":"","'
    'Entrypoint":null,"OnBuild":null,"Labels":{"x":"y"},"StopSignal":"9"},"architecture":"amd64","os"'
    ':"linux"}'
).encode()

DIFF_IDS = [
    Digest.parse("sha256:430c6c3cd7107a087d098b4fba0febcd478fe356110f4b9ec26b64da83696cad"),
    Digest.parse("sha256:d2ab3e42007bc756ff4afa9bd8989de8e2ed91c8c3796232ea033ee1003a44f4"),
    Digest.parse("sha256:38638a4368c69f303afde153e45e4bd7280282d14c6aa2821241d224fdbb2409"),
]
# layerdb/sha256/<chain id> directories of the reference engine for the stack above
LAYERDB_CHAIN_IDS = [
    "sha256:430c6c3cd7107a087d098b4fba0febcd478fe356110f4b9ec26b64da83696cad",
    "sha256:b04d5547a241cc8ab29c87a37e1bacc2fe42f831d3c223301589c30ea1171f0d",
    "sha256:236e083b01e75373c9bbe0c3914598dfdbbe5d6bb9927c5bf585347475b0a8ab",
]
SAVED_V1_IDS = [
    "8817c7bf60944e149caf502519aa225126bf34c2539b6cfcc2ecc4aa6acc155b",
    "55568ff144ed155059e44f59fd8c3339c4893cca7a66f1d67d5c7e8205e15c90",
    "4b99815722f82d1cb93d8325830c899ef410c1ababa0fff80a75a60f3812b20b",
]


def test_chain_ids_match_the_engine_layer_store() -> None:
    assert [str(c) for c in chain_ids(DIFF_IDS)] == LAYERDB_CHAIN_IDS
    assert str(chain_id(DIFF_IDS)) == LAYERDB_CHAIN_IDS[-1]


def test_chain_id_edge_cases() -> None:
    assert chain_ids([]) == []
    assert chain_id([]) is None
    assert chain_ids(DIFF_IDS[:1]) == DIFF_IDS[:1]


def test_chain_id_depends_on_the_base() -> None:
    # the same top layer on another base is another stacked filesystem
    assert chain_ids([DIFF_IDS[0], DIFF_IDS[2]])[-1] != chain_ids(DIFF_IDS[1:])[-1]
    assert chain_ids(DIFF_IDS[::-1])[-1] != chain_ids(DIFF_IDS)[-1]


def test_chain_id_hashes_full_digest_strings() -> None:
    import hashlib

    expected = hashlib.sha256(f"{DIFF_IDS[0]} {DIFF_IDS[1]}".encode()).hexdigest()
    assert chain_ids(DIFF_IDS[:2])[1].hex == expected


def test_v1_layer_ids_match_docker_save() -> None:
    config = ImageConfig.parse(BUILT_CONFIG)
    assert config.diff_ids == tuple(DIFF_IDS)
    assert v1_layer_ids(config) == SAVED_V1_IDS


@pytest.mark.parametrize("index", [0, 1, 2])
def test_v1_layer_json_matches_docker_save_bytes(index: int) -> None:
    config = ImageConfig.parse(BUILT_CONFIG)
    expected = [V1_JSON_0, V1_JSON_1, V1_JSON_2][index]
    assert v1_layer_json(config, index, SAVED_V1_IDS) == expected


@pytest.mark.parametrize(
    ("config_kwargs", "v1_id"),
    [
        # `docker import` with -c ENV/EXPOSE/CMD/LABEL/WORKDIR -m msg, then `docker save`
        (
            dict(
                config={"Env": ["X=1"], "Cmd": ["/bin/sh"], "ExposedPorts": {"80/tcp": {}}, "WorkingDir": "/w",
                        "Labels": {"a": "b"}},
                comment="msg",
                created="2026-11-22T11:25:45.376905076Z",
            ),
            "2c3de3050fa3e1a715e0c3aad16967d928344500aa6b6ca9060381e3cc4777e2",
        ),
        # plain `docker import`
        (
            dict(config={}, comment="Imported from -", created="2026-11-22T11:24:16.846969926Z"),
            "54ff9c5c9f2b4a24cb4484c5679523cb786f085fc724a4e74b14db7bcedf9c86",
        ),
    ],
)
def test_v1_id_of_single_layer_imports(config_kwargs: dict, v1_id: str) -> None:
    raw = build_config(
        architecture="amd64",
        os="linux",
        diff_ids=DIFF_IDS[:1],
        history=[],
        docker_version="20.10.24+dfsg1",
        **config_kwargs,
    )
    assert v1_layer_ids(ImageConfig.parse(raw)) == [v1_id]


def test_v1_ids_change_with_the_config() -> None:
    config = ImageConfig.parse(BUILT_CONFIG)
    other = ImageConfig.parse(BUILT_CONFIG.replace(b'"Labels":{"x":"y"}', b'"Labels":{"x":"z"}'))
    ours, theirs = v1_layer_ids(config), v1_layer_ids(other)
    assert ours[:2] == theirs[:2]  # lower layers hash only the epoch and the chain
    assert ours[2] != theirs[2]


@pytest.mark.parametrize(
    ("text", "go"),
    [
        ("2026-11-22T11:26:22.04022738Z", "2026-11-22T11:26:22.04022738Z"),
        ("2026-11-22T11:26:22.040227380Z", "2026-11-22T11:26:22.04022738Z"),
        ("2026-11-22T11:26:22.000Z", "2026-11-22T11:26:22Z"),
        ("2026-11-22T11:26:22+00:00", "2026-11-22T11:26:22Z"),
        ("2026-11-22T11:26:22.5+02:00", "2026-11-22T11:26:22.5+02:00"),
    ],
)
def test_go_time_text(text: str, go: str) -> None:
    assert go_time_text(text) == go
