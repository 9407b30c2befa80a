"""The local store: content-addressed blobs, SQLite metadata, leases, GC and a consistency check.

    store = Store.open()                 # or Store.open(Path(...)); DOCKYARD_ROOT etc. otherwise
    with store.lease():                  # before the first ingest of an operation (see gc.py)
        digest = store.content.put_bytes(config_bytes)
        store.meta.add_image(...)        # metadata lives at store.meta
        store.meta.set_tag(...)
    store.gc(); store.check(); store.close()
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property

from .metadata import Metadata
from .paths import StorePaths, default_root

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from pathlib import Path
    from collections.abc import Iterator
    from typing import Any
    from .check import Problem
    from .content import ContentStore
    from .gc import GCResult, PruneLock
    from .leases import Lease, LeaseManager

# Names re-exported from the submodules, imported on first use: a read-only command such as `images`
# needs only paths and metadata, and start-up time is what a user feels there.
_LAZY_EXPORTS = {
    "Problem": "check", "ContentStore": "content", "Ingest": "content", "IngestInfo": "content",
    "VerifiedBlob": "content", "GCResult": "gc", "PruneLock": "gc", "Lease": "leases", "LeaseInfo": "leases",
    "LeaseManager": "leases", "FileLock": "locks", "BlobSource": "metadata", "ContainerRecord": "metadata",
    "ImageRecord": "metadata", "LayerRecord": "metadata", "ManifestRecord": "metadata",
    "RepoDigestRecord": "metadata", "SnapshotRecord": "metadata", "TagRecord": "metadata",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)


__all__ = [
    "BlobSource",
    "ContainerRecord",
    "ContentStore",
    "GCResult",
    "ImageRecord",
    "Ingest",
    "IngestInfo",
    "LayerRecord",
    "Lease",
    "LeaseInfo",
    "ManifestRecord",
    "Metadata",
    "Problem",
    "RepoDigestRecord",
    "SnapshotRecord",
    "Store",
    "StorePaths",
    "TagRecord",
    "VerifiedBlob",
    "default_root",
]

class Store:
    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths
        paths.make_dirs()
        self.meta = Metadata(paths.database_file, lambda: self.content)

    @cached_property
    def content(self) -> ContentStore:
        from .content import ContentStore

        return ContentStore(self.paths, lease_hook=self._announce)

    @cached_property
    def leases(self) -> LeaseManager:
        from .leases import LeaseManager

        return LeaseManager(self.paths, self.meta)

    @cached_property
    def _prune_lock(self) -> PruneLock:
        from .gc import PruneLock
        from .locks import FileLock

        return PruneLock(FileLock(self.paths.locks / "prune.lock", what="prune"))

    @classmethod
    def open(cls, root: str | os.PathLike[str] | None = None) -> Store:
        return cls(StorePaths(root if root is not None else default_root()))

    @property
    def root(self) -> Path:
        return self.paths.root

    def _announce(self, kind: str, key: str) -> None:
        self.leases.announce(kind, key)

    def lease(self, ttl: float = 3600.0) -> Lease:
        """A lease for an operation in flight; use as a context manager (``with store.lease() as lease:``)."""
        return self.leases.create(ttl)

    @contextmanager
    def prune_lock(self) -> Iterator[None]:
        """Held by gc; ``image prune`` may hold it around its whole run. A second holder gets Conflict."""
        with self._prune_lock.hold():
            yield

    def gc(self, *, dry_run: bool = False) -> GCResult:
        from .gc import collect

        return collect(self, dry_run=dry_run)

    def check(self) -> list[Problem]:
        from .check import check

        return check(self)

    def close(self) -> None:
        self.meta.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
