"""Progress of pulls, pushes and loads: a stream of events, and the two ways the CLI draws them.

The transfer code only emits ``Event``s (moby's ``progress.Progress``: an id, a status, optional byte
counts). Front ends pick a renderer:

- ``LineRenderer``: what ``docker pull``/``push`` print when stdout is not a terminal: ``<id>: <status>``
  per message, the status alone when there is no id, and messages carrying byte counts skipped.
- ``RichRenderer``: a live view on a terminal, one bar per layer plus an overall bar with speed and ETA.
- ``NullRenderer``: ``-q``.

Renderers are called from several worker threads, so each one serialises its output.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any


@dataclass(frozen=True)
class Event:
    status: str
    id: str | None = None
    current: int | None = None  # bytes done, for Downloading / Pushing / Extracting
    total: int | None = None
    # Extra facts for richer front ends; the line renderer ignores them.
    kind: str = ""  # LAYER for a per-blob event, DROP to take a layer off the view, "" otherwise
    # What a view shows for the layer from now on, when that is learnt only after its first events: load
    # names a layer by where the archive puts it until it has read it and knows its diff ID.
    label: str | None = None

    @property
    def has_progress(self) -> bool:
        return self.current is not None


ProgressSink = Callable[[Event], None]

LAYER = "layer"
# The layer turned out to need no showing (load: the store already had it, or it was no layer at all);
# Docker never shows such layers, so a live view removes what it drew for it.
DROP = "drop"


def null_sink(event: Event) -> None:
    return None


class NullRenderer:
    def __call__(self, event: Event) -> None:
        return None

    def close(self) -> None:
        return None


class LineRenderer:
    """Docker's non-TTY progress: one line per message, byte progress skipped."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if event.has_progress or event.kind == DROP:
            return
        line = f"{event.id}: {event.status}\n" if event.id else f"{event.status}\n"
        with self._lock:
            self._out.write(line)
            self._out.flush()

    def close(self) -> None:
        return None


class RichRenderer:
    """A live terminal view: a bar per layer and an overall bar (bytes, speed, ETA).

    Lines without a layer (``Pulling from …``, ``Digest: …``, ``Status: …``) print as plain lines in
    stream order, as Docker's do: the live bars of a round of layers stop, and stay on screen where they
    are, when the first line after them arrives; the next layers (another tag of ``pull -a``) get a new
    live area below.
    """

    def __init__(self, out: IO[str], *, overall_label: str = "Total") -> None:
        from rich.console import Console

        self._console = Console(file=out, highlight=False)
        self._overall_label = overall_label
        self._lock = threading.Lock()
        self._progress: Any = None  # the live area of the current round of layers, if one is showing
        self._tasks: dict[str, Any] = {}
        self._done: dict[str, int] = {}
        self._totals: dict[str, int] = {}
        self._overall: Any = None

    def _start_round(self) -> Any:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.fields[label]}", justify="left"),
            *_when_sized(BarColumn(bar_width=40), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()),
            TextColumn("{task.fields[status]}"),
            console=self._console,
            transient=False,
            refresh_per_second=8,
        )
        self._tasks, self._done, self._totals = {}, {}, {}
        self._overall = self._progress.add_task("", total=None, label=self._overall_label, status="")
        self._progress.start()
        return self._progress

    def _end_round(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _task(self, ident: str, label: str | None) -> Any:
        task = self._tasks.get(ident)
        if task is None:
            task = self._progress.add_task("", total=None, label=label or ident, status="")
            self._tasks[ident] = task
        return task

    def _update_overall(self) -> None:
        total = sum(self._totals.values()) or None
        self._progress.update(self._overall, completed=sum(self._done.values()), total=total)

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.kind == DROP:
                self._drop(event.id)
                return
            if event.kind != LAYER:
                self._end_round()
                # "<tag>: Pulling from <repo>", "<tag>: digest: …" are headings, not layers.
                line = f"{event.id}: {event.status}" if event.id else event.status
                self._console.print(line, markup=False)
                return
            if self._progress is None:
                self._start_round()
            task = self._task(event.id, event.label)
            fields: dict[str, Any] = {"status": event.status}
            if event.label is not None:
                fields["label"] = event.label
            if event.total is not None:
                self._totals[event.id] = event.total
                fields["total"] = event.total
            if event.current is not None:
                self._done[event.id] = event.current
                fields["completed"] = event.current
            elif event.status in ("Download complete", "Pull complete", "Pushed", "Already exists",
                                  "Layer already exists") or event.status.startswith("Mounted from"):
                total = self._totals.get(event.id)
                if total is not None:
                    self._done[event.id] = total
                    fields["completed"] = total
            self._progress.update(task, **fields)
            self._update_overall()

    def _drop(self, ident: str | None) -> None:
        task = self._tasks.pop(ident, None) if ident is not None else None
        if task is None or self._progress is None:
            return
        self._progress.remove_task(task)
        self._done.pop(ident, None)
        self._totals.pop(ident, None)
        if self._tasks:
            self._update_overall()
            return
        # Nothing of this round is worth showing: erase its live area rather than leave a bare total
        # (Progress.stop would add a blank line on a non-interactive console).
        self._progress.live.transient = True
        self._progress.live.stop()
        self._progress = None

    def close(self) -> None:
        with self._lock:
            self._end_round()


def _when_sized(*columns: Any) -> list[Any]:
    """Byte columns that stay blank for a task of unknown size (a layer the registry already has)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class WhenSized(ProgressColumn):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def render(self, task: Any) -> Any:
            return self.inner.render(task) if task.total is not None else Text("")

    return [WhenSized(column) for column in columns]


class Throttle:
    """Lets byte-progress events through at most every ``interval`` seconds (and always the last one)."""

    def __init__(self, sink: ProgressSink, interval: float = 0.1) -> None:
        self._sink = sink
        self._interval = interval
        self._last = 0.0

    def __call__(self, event: Event, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self._sink(event)


def renderer_for(out: IO[str], *, quiet: bool, tty: bool) -> NullRenderer | LineRenderer | RichRenderer:
    if quiet:
        return NullRenderer()
    if tty:
        return RichRenderer(out)
    return LineRenderer(out)


__all__ = [
    "DROP",
    "Event",
    "LAYER",
    "LineRenderer",
    "NullRenderer",
    "ProgressSink",
    "RichRenderer",
    "Throttle",
    "null_sink",
    "renderer_for",
]
