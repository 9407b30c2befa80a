"""Bounded concurrency for transfers, and "each blob once" across threads and processes.

- ``run_bounded`` runs one job per item on at most ``limit`` threads (``max-concurrent-downloads`` /
  ``-uploads``); items that cannot start at once are announced through ``on_queued`` (Docker's
  ``Waiting``). The first failure stops jobs that have not started yet and is raised after the running
  ones finish, so no thread outlives the operation.
- ``BlobGate`` serialises work on one digest inside a process. Across processes the content store's
  per-key ingest lock does the same job: a second process blocks in ``writer(key)`` until the first one
  commits or gives up, then finds the blob committed (or resumes the partial ingest).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Stopped(Exception):
    """A queued job that was not run because an earlier one failed."""


def run_bounded(
    items: Sequence[T],
    job: Callable[[T], R],
    *,
    limit: int,
    on_queued: Callable[[T], None] | None = None,
) -> list[R]:
    """Results in item order; raises the first error (in completion order) once every thread is idle."""
    if not items:
        return []
    limit = max(1, limit)
    if on_queued is not None:
        for item in items[limit:]:
            on_queued(item)
    if limit == 1 or len(items) == 1:
        return [job(item) for item in items]
    stop = threading.Event()

    def guarded(item: T) -> R:
        if stop.is_set():
            raise _Stopped()
        try:
            return job(item)
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=min(limit, len(items)), thread_name_prefix="dockyard-transfer") as pool:
        futures: list[Future[R]] = [pool.submit(guarded, item) for item in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        first_error: BaseException | None = None
        for future in futures:
            if future.done() and not future.cancelled():
                exc = future.exception()
                if exc is not None and not isinstance(exc, _Stopped):
                    first_error = exc
                    break
        if first_error is not None:
            for future in futures:
                future.cancel()
    # The pool has joined every thread here.
    if first_error is None:
        for future in futures:
            exc = future.exception() if not future.cancelled() else None
            if exc is not None and not isinstance(exc, _Stopped):
                first_error = exc
                break
    if first_error is not None:
        raise first_error
    return [future.result() for future in futures]


class BlobGate:
    """One lock per digest (or any key) within this process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield


__all__ = ["BlobGate", "run_bounded"]
