"""``dockyard history``: the table, -H=false, -q, --no-trunc, --format and JSON rows, the local parent chain
with ``<missing>`` below it, sizes per non-empty entry, N/A dates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dockyard.gotime import rfc3339
from dockyard.store import LayerRecord, Store
from tests.helpers.cli import run_cli
from tests.helpers.images import put_layer, register_image, rootfs
from tests.helpers.rootfs import tar_of_files

pytestmark = pytest.mark.integration

LONG = "/bin/sh -c echo\tthis is a rather long command line that docker cuts"


def _layer(store: Store, tmp_path: Path, name: str, files: dict[str, str]) -> LayerRecord:
    data = tar_of_files(tmp_path / f"{name}.tar", files).read_bytes()
    return put_layer(store, data, sum(len(v) for v in files.values()))


def _image(store: Store, layers: list[LayerRecord], history: list[dict], parent: str | None) -> str:
    config = {"architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
              "config": {"Env": ["A=1"]}, "history": history, "rootfs": rootfs(layers)}
    if parent:
        config["parent"] = parent
    return register_image(store, config, layers, created_ns=1_700_000_000 * 10**9, parent=parent)


@pytest.fixture
def chain(store_root: Path, tmp_path: Path) -> dict[str, str]:
    """base (not local) → mid (local, untagged) → top (tagged): five history entries."""
    with Store.open(store_root) as store:
        l1 = _layer(store, tmp_path, "l1", {"a": "x" * 1500})
        l2 = _layer(store, tmp_path, "l2", {"b": "y" * 20})
        base_history = [
            {"created": "1970-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in /"},
            {"created": "2023-11-14T22:13:20Z", "created_by": "/bin/sh -c #(nop)  ENV A=1", "empty_layer": True},
        ]
        mid_history = base_history + [{"created": "2023-11-14T22:13:20Z", "created_by": LONG, "comment": "c1"}]
        top_history = mid_history + [
            {"created": "2023-11-14T22:13:21Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": True},
        ]
        mid = _image(store, [l1, l2], mid_history, None)
        top = _image(store, [l1, l2], top_history, mid)
        store.meta.set_tag("docker.io/library/dyhist:top", "docker.io/library/dyhist", "top", top)
        assert store.check() == []
    return {"mid": mid, "top": top}


def test_table_default(chain: dict[str, str]) -> None:
    code, out, err = run_cli("history", "dyhist:top")
    assert code == 0, err
    lines = out.splitlines()
    assert re.split(r"  +", lines[0]) == ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    cut = (LONG.replace("\t", " "))[:44] + "…"
    assert [line.split("   ")[0] for line in lines[1:]] == [chain["top"][7:19], chain["mid"][7:19], "<missing>",
                                                             "<missing>"]
    assert cut in lines[2]
    assert lines[2].rstrip().endswith("20B       c1")
    assert "N/A" in lines[4] and "1.5kB" in lines[4]
    assert lines[1].split()[-1] == "0B"  # an empty-layer entry


def test_quiet_no_trunc_and_raw_sizes(chain: dict[str, str]) -> None:
    assert run_cli("history", "-q", "dyhist:top")[1] == f"{chain['top'][7:19]}\n{chain['mid'][7:19]}\n<missing>\n<missing>\n"
    out = run_cli("history", "--no-trunc", "-H=false", "--format", "{{.ID}}|{{.CreatedSince}}|{{.CreatedBy}}|{{.Size}}",
              "dyhist:top")[1].splitlines()
    assert out[0] == f"{chain['top']}|{rfc3339(1_700_000_001 * 10**9)}|/bin/sh -c #(nop)  CMD [\"sh\"]|0"
    assert out[1].split("|")[2] == LONG.replace("\t", " ")
    assert out[3] == f"<missing>|{rfc3339(0)}|/bin/sh -c #(nop) ADD file:abc in /|1500"
    header = run_cli("history", "-H=false", "dyhist:top")[1].splitlines()[0]
    assert header.startswith("IMAGE          CREATED AT")


def test_json_rows_and_template_errors(chain: dict[str, str]) -> None:
    code, out, _ = run_cli("history", "--format", "json", "dyhist:top")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 4
    assert list(rows[1]) == ["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"]
    assert rows[1]["Comment"] == "c1" and rows[1]["Size"] == "20B" and rows[1]["ID"] == chain["mid"][7:19]
    assert '"CreatedBy":"/bin/sh -c #(nop)  CMD [\\"sh\\"]"' in out.splitlines()[0]
    code, out, err = run_cli("history", "--format", "{{.Foo}}", "dyhist:top")
    assert (code, out) == (1, "")
    assert err == ('template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in '
                   "type *image.historyContext\n")
    assert run_cli("history", "--format", "{{.ID}", "dyhist:top")[2] == (
        "template parsing error: template: :1: bad character U+007D '}'\n")


def test_errors(store_root: Path) -> None:
    assert run_cli("history", "nosuch") == (1, "", "Error response from daemon: No such image: nosuch:latest\n")
    code, out, err = run_cli("history", "--platform", "foo/bar/baz/qux", "nosuch")
    assert (code, out) == (1, "")
    assert err == 'invalid platform: "foo/bar/baz/qux": cannot parse platform specifier: invalid argument\n'
