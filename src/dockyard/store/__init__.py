"""The local store: content-addressed blobs, SQLite metadata, leases, GC and a consistency check.

    store = Store.open()                 # or Store.open(Path(...)); DOCKYARD_ROOT etc. otherwise
    with store.lease():                  # before the first ingest of an operation (see gc.py)
        digest = store.content.put_bytes(config_bytes)
        store.meta.add_image(...)        # metadata lives at store.meta; Store forwards its methods too
        store.meta.set_tag(...)
    store.gc(); store.check(); store.close()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .check import Problem
from .content import ContentStore, Ingest, IngestInfo, VerifiedBlob
from .gc import GCResult, PruneLock
from .leases import Lease, LeaseInfo, LeaseManager
from .locks import FileLock
from .metadata import (
    BlobSource,
    ContainerRecord,
    ImageRecord,
    LayerRecord,
    ManifestRecord,
    Metadata,
    RepoDigestRecord,
    SnapshotRecord,
    TagRecord,
)
from .paths import StorePaths, default_root

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

# Metadata methods the Store forwards, so callers may write store.set_tag(...) as well as store.meta.set_tag(...).
_FORWARDED = frozenset(
    {
        "add_image", "get_image", "list_images", "image_exists", "delete_image", "images_by_prefix", "children",
        "add_layer_blob", "layer_blobs_for", "layer_for_blob", "add_manifest", "get_manifest", "manifests_for",
        "image_for_manifest", "set_tag", "remove_tag", "get_tag", "image_for_tag", "tags_for", "all_tags",
        "add_repo_digest", "remove_repo_digest", "repo_digests_for", "all_repo_digests", "image_for_repo_digest",
        "add_blob_source", "blob_sources", "add_container", "set_container_state", "remove_container",
        "containers_for", "all_containers", "add_snapshot", "get_snapshot", "all_snapshots", "remove_snapshot",
        "transaction",
    }
)


class Store:
    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths
        paths.make_dirs()
        self.content = ContentStore(paths, lease_hook=self._announce)
        self.meta = Metadata(paths.database, self.content)
        self.leases = LeaseManager(paths, self.meta)
        self._prune_lock = PruneLock(FileLock(paths.locks / "prune.lock", what="prune"))

    @classmethod
    def open(cls, root: Path | None = None) -> Store:
        return cls(StorePaths(Path(root) if root is not None else default_root()))

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

    def __getattr__(self, name: str) -> Any:
        if name in _FORWARDED:
            return getattr(self.meta, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
