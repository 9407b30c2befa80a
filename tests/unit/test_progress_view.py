"""The terminal progress view of pull/push: bars per layer and overall, lines in Docker's stream order."""

from __future__ import annotations

import io

import pytest

from dockyard.transfer.progress import Event, RichRenderer

pytestmark = pytest.mark.unit


def layer(ident: str, status: str, current: int | None = None, total: int | None = None) -> Event:
    return Event(status, id=ident, current=current, total=total, kind="layer")


def render(events: list[Event]) -> list[str]:
    out = io.StringIO()
    view = RichRenderer(out)
    for event in events:
        view(event)
    view.close()
    return [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]


def test_digest_and_status_follow_the_bars_of_their_layers() -> None:
    lines = render([
        Event("Pulling from demo/big", id="1"),
        layer("189af46d4477", "Pulling fs layer"),
        layer("189af46d4477", "Downloading", 500, 1000),
        layer("189af46d4477", "Pull complete"),
        Event("Digest: sha256:62fa"),
        Event("Status: Downloaded newer image for demo/big:1"),
    ])
    assert lines[0] == "1: Pulling from demo/big"
    bars = [i for i, line in enumerate(lines) if "189af46d4477" in line or line.startswith("Total")]
    assert bars and lines[bars[-1]].endswith("Pull complete")
    assert "1.0/1.0 kB" in lines[bars[-1]]  # a completed layer shows its whole size
    assert lines[bars[-1] + 1:] == ["Digest: sha256:62fa", "Status: Downloaded newer image for demo/big:1"]


def test_each_tag_of_pull_all_gets_its_own_bars_below_the_previous_lines() -> None:
    lines = render([
        Event("Pulling from demo/x", id="a"),
        layer("aaaaaaaaaaaa", "Pull complete", None, None),
        Event("Digest: sha256:1"),
        Event("Pulling from demo/x", id="b"),
        layer("bbbbbbbbbbbb", "Already exists"),
        Event("Digest: sha256:2"),
    ])
    order = [next(i for i, line in enumerate(lines) if text in line) for text in
             ("a: Pulling from", "aaaaaaaaaaaa", "Digest: sha256:1", "b: Pulling from", "bbbbbbbbbbbb",
              "Digest: sha256:2")]
    assert order == sorted(order)
    assert not any("aaaaaaaaaaaa" in line for line in lines[order[3]:])


def test_a_layer_with_nothing_to_transfer_shows_its_status_without_a_bar() -> None:
    lines = render([
        Event("The push refers to repository [demo/big]"),
        layer("171dbf417009", "Preparing"),
        layer("171dbf417009", "Layer already exists"),
        Event("2: digest: sha256:62fa size: 528"),
    ])
    [row] = [line for line in lines if "171dbf417009" in line]
    assert row.split() == ["171dbf417009", "Layer", "already", "exists"]
    assert not any("?" in line or "bytes" in line for line in lines)


def test_load_layers_take_their_label_and_dropped_ones_leave_no_trace() -> None:
    from dockyard.transfer.progress import DROP

    def loading(ident: str, current: int, label: str | None = None) -> Event:
        return Event("Loading layer", id=ident, current=current, total=3000, kind="layer", label=label)

    lines = render([
        loading("0bba9ebe98a8", 0),
        loading("0bba9ebe98a8", 1500),
        loading("0bba9ebe98a8", 3000, label="a3d0afc4fb22"),
        loading("b989853aebe7", 0),
        Event("Loading layer", id="b989853aebe7", kind=DROP),
    ])
    assert lines[-1].startswith("a3d0afc4fb22") and lines[-1].endswith("Loading layer")
    assert "3.0/3.0 kB" in lines[-1]
    assert not any("0bba9ebe98a8" in line or "b989853aebe7" in line for line in lines)
    assert lines[0].startswith("Total") and "3.0/3.0 kB" in lines[0]  # the dropped layer left the total
    # A round whose every layer is dropped draws nothing at all.
    assert render([loading("b989853aebe7", 0), Event("Loading layer", id="b989853aebe7", kind=DROP)]) == []


def test_line_renderer_ignores_dropped_layers() -> None:
    from dockyard.transfer.progress import DROP, LineRenderer

    out = io.StringIO()
    view = LineRenderer(out)
    view(Event("Loading layer", id="b989853aebe7", kind=DROP))
    view(Event("Loaded", id="x"))
    assert out.getvalue() == "x: Loaded\n"
