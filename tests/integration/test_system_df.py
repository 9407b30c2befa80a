"""``dockyard system df``: the summary table, JSON rows, the verbose image table, numbers from the store."""

from __future__ import annotations

import json

import pytest

from dockyard.store import Store
from tests.helpers.cli import run_cli
from tests.helpers.images import make_image

pytestmark = pytest.mark.integration


def test_empty_store(store: Store) -> None:
    assert run_cli("system", "df") == (0, (
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"
        "Images          0         0         0B        0B\n"
        "Containers      0         0         0B        0B\n"
        "Local Volumes   0         0         0B        0B\n"
        "Build Cache     0         0         0B        0B\n"
    ), "")


def test_summary_numbers(store: Store) -> None:
    shared = {"base": b"b" * 1_000_000}
    a = make_image(store, layers=[shared, {"a": b"a" * 982_291}], tags=("a",), salt="a")
    make_image(store, layers=[shared], tags=("b",), salt="b")
    make_image(store, layers=[{"c": b"c" * 5000}], salt="c")
    store.meta.add_container("c1", a, "x")
    code, out, _ = run_cli("system", "df")
    # total 1,987,291 B; in use: a's unique 982,291 → reclaimable 1,005,000 (50%)
    assert out.splitlines()[1] == "Images          3         1         1.987MB   1.005MB (50%)"
    code, out, _ = run_cli("system", "df", "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0] == {"Active": "1", "Reclaimable": "1.005MB (50%)", "Size": "1.987MB", "TotalCount": "3",
                       "Type": "Images"}
    assert rows[1]["Type"] == "Containers" and rows[1]["TotalCount"] == "1"
    assert [r["Type"] for r in rows] == ["Images", "Containers", "Local Volumes", "Build Cache"]
    code, out, _ = run_cli("system", "df", "--format", "{{.Type}}={{.Size}}")
    assert out.splitlines()[0] == "Images=1.987MB"


def test_verbose_image_table(store: Store) -> None:
    shared = {"base": b"b" * 1_000_000}
    a = make_image(store, created=1_700_000_100, layers=[shared, {"a": b"a" * 4}], tags=("web:1", "web:2"), salt="a")
    b = make_image(store, created=1_700_000_000, layers=[shared], salt="b")
    code, out, _ = run_cli("system", "df", "-v")
    lines = out.splitlines()
    assert lines[:3] == ["Images space usage:", "", "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE      "
                                                       "SHARED SIZE   UNIQUE SIZE   CONTAINERS"]
    assert lines[3] == f"web          1         {a[7:19]}   3 years ago   1MB       1MB           4B            0"
    assert lines[4] == f"<none>       <none>    {b[7:19]}   3 years ago   1MB       1MB           0B            0"
    assert out.endswith(
        "\nContainers space usage:\n\n"
        "CONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES\n"
        "\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n"
        "\nBuild cache usage: 0B\n\n"
        "CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"
    )
    code, out, _ = run_cli("system", "df", "-v", "--format", "json")
    doc = json.loads(out)
    assert [i["Repository"] for i in doc["Images"]] == ["web", "<none>"]
    assert doc["Images"][0]["UniqueSize"] == "4B" and doc["Containers"] == []
