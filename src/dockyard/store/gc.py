"""Mark-and-sweep garbage collection of blobs, ingests and snapshots.

Roots: every image record (its config blob, every known representation of its layers, its manifests and,
transitively, their children), tags' and repo digests' manifests, containers' images, and whatever a live
lease names. Everything else under ``content/blobs`` is swept, as are unlocked ingests no live lease names
and snapshots no image's layer stack (chain ID) or lease needs.

Protocol with concurrent writers (pull, load, import, build), which is what makes the sweep safe:
1. A writer takes a lease (``with store.lease():``) *before* its first ingest, and keeps it until its image
   is registered (``add_image``, tags) — registering is what makes the blobs reachable without the lease.
2. The content store names each ingest key in the lease before locking it, and each blob's digest in the
   lease *before* the commit renames it into place or finds it already present (``Ingest.commit``).
3. GC holds the store-wide prune lock and runs its mark *and* its sweep inside one ``BEGIN IMMEDIATE``
   transaction. Naming a resource in a lease and ``add_image`` are write transactions too, so each of them
   happens either wholly before the mark (and is seen by it) or after the sweep has finished (and then
   the commit finds the blob gone and renames its own copy in; ``add_image`` finds it missing and refuses).
4. Snapshot writers name the snapshot directory in their lease before creating it and record it with
   ``add_snapshot`` before releasing the lease. Unrecorded, unleased directories older than
   ``ORPHAN_SNAPSHOT_GRACE`` are removed as leftovers of a crash.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import json

from ..digest import Digest
from ..errors import Conflict, DockyardError, Locked
from ..oci.chain import chain_ids as oci_chain_ids
from .locks import FileLock
from .paths import remove_tree

if TYPE_CHECKING:
    from . import Store

ORPHAN_SNAPSHOT_GRACE = 3600.0  # seconds


@dataclass(frozen=True)
class GCResult:
    removed: list[Digest]
    reclaimed: int  # bytes of the removed blobs
    snapshots_removed: int
    ingests_removed: int = 0
    removed_snapshot_names: list[str] = field(default_factory=list)


class PruneLock:
    """The store-wide prune lock; re-entrant within one Store so ``image prune`` can hold it across gc."""

    def __init__(self, lock: FileLock) -> None:
        self._lock = lock
        self._depth = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self._depth == 0:
            try:
                self._lock.acquire(wait=False)
            except Locked:
                raise Conflict("a prune operation is already running") from None
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._lock.release()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainIDs as text, for code that reads digests from SQLite rows."""
    return [str(c) for c in oci_chain_ids([Digest.parse(d) for d in diff_ids])]


def collect(store: Store, *, dry_run: bool = False) -> GCResult:
    with store.prune_lock(), store.meta.transaction() as conn:
        resources = store.leases.live_resources(drop_dead=not dry_run)
        leased = {kind: {key for k, key in resources if k == kind} for kind in ("blob", "ingest", "snapshot")}
        marked = _mark_blobs(conn) | _mark_orphaned_container_layers(store, conn) | leased["blob"]

        removed: list[Digest] = []
        reclaimed = 0
        for digest, size in list(store.content.iter_blobs()):
            if str(digest) in marked:
                continue
            removed.append(digest)
            reclaimed += size
            if not dry_run:
                store.content.delete(digest)

        ingests_removed = 0
        for info in store.content.ingests():
            if info.locked or info.key in leased["ingest"]:
                continue
            if dry_run or store.content.remove_ingest(info.key):
                ingests_removed += 1
        if not dry_run:
            store.content._collect_trash()

        snapshot_names = _sweep_snapshots(store, conn, leased["snapshot"], dry_run)
        return GCResult(
            removed=removed,
            reclaimed=reclaimed,
            snapshots_removed=len(snapshot_names),
            ingests_removed=ingests_removed,
            removed_snapshot_names=snapshot_names,
        )


def _mark_blobs(conn) -> set[str]:  # type: ignore[no-untyped-def]
    marked: set[str] = set()
    for (image_id,) in conn.execute("SELECT id FROM images"):
        marked.add(image_id)
    for (image_id,) in conn.execute("SELECT image_id FROM containers"):
        marked.add(image_id)  # even when rmi -f removed the record, keep what a container was made from
    for (blob,) in conn.execute("SELECT blob FROM image_layers"):
        marked.add(blob)
    for (digest,) in conn.execute(
        "SELECT lb.digest FROM layer_blobs lb WHERE lb.diff_id IN (SELECT diff_id FROM image_layers)"
    ):
        marked.add(digest)
    manifests: set[str] = set()
    for (digest,) in conn.execute("SELECT manifest_digest FROM image_manifests"):
        manifests.add(digest)
    for (digest,) in conn.execute("SELECT digest FROM repo_digests"):
        manifests.add(digest)
    for (digest,) in conn.execute("SELECT manifest_digest FROM tags WHERE manifest_digest IS NOT NULL"):
        manifests.add(digest)
    pending = list(manifests)
    while pending:  # indexes name manifests (and nested indexes); walk them all
        parent = pending.pop()
        for (child,) in conn.execute("SELECT child_digest FROM manifest_children WHERE parent_digest = ?", (parent,)):
            if child not in manifests:
                manifests.add(child)
                pending.append(child)
    return marked | manifests


def _mark_orphaned_container_layers(store: Store, conn) -> set[str]:  # type: ignore[no-untyped-def]
    """Layers of images that `rmi -f` removed while a container still uses them.

    Docker lets a forced rmi delete an image a stopped container was made from; the container keeps its
    layers. The image record is gone, so the kept config blob says which layers those are.
    """
    marked: set[str] = set()
    rows = conn.execute(
        "SELECT DISTINCT image_id FROM containers WHERE image_id NOT IN (SELECT id FROM images)"
    ).fetchall()
    for (image_id,) in rows:
        try:
            config = json.loads(store.content.read_bytes(Digest.parse(image_id)))
            diff_ids = [str(Digest.parse(d)) for d in config.get("rootfs", {}).get("diff_ids", [])]
        except (DockyardError, ValueError, AttributeError, TypeError):
            continue  # check() reports a container whose config is missing or unreadable
        for diff_id in diff_ids:
            for (digest,) in conn.execute("SELECT digest FROM layer_blobs WHERE diff_id = ?", (diff_id,)):
                marked.add(digest)
    return marked


def _sweep_snapshots(store: Store, conn, leased_names: set[str], dry_run: bool) -> list[str]:  # type: ignore[no-untyped-def]
    needed: set[str] = set()
    images: dict[str, list[str]] = {}
    for image_id, diff_id in conn.execute("SELECT image_id, diff_id FROM image_layers ORDER BY image_id, position"):
        images.setdefault(image_id, []).append(diff_id)
    for diff_ids in images.values():
        needed.update(chain_ids(diff_ids))
    rows = conn.execute("SELECT chain_id, name, parent FROM snapshots").fetchall()
    by_chain = {chain_id: (name, parent) for chain_id, name, parent in rows}
    # A leased snapshot keeps its whole parent chain.
    for chain_id, (name, _parent) in by_chain.items():
        if name in leased_names:
            current: str | None = chain_id
            while current is not None and current in by_chain and current not in needed:
                needed.add(current)
                current = by_chain[current][1]
    removed: list[str] = []
    recorded_names = {name for name, _ in by_chain.values()}
    for chain_id, (name, _parent) in by_chain.items():
        if chain_id in needed:
            continue
        removed.append(name)
        if not dry_run:
            conn.execute("DELETE FROM snapshots WHERE chain_id = ?", (chain_id,))
            _remove_snapshot_dir(store, name)
    try:
        entries = list(os.scandir(store.paths.snapshots))
    except FileNotFoundError:
        entries = []
    cutoff = time.time() - ORPHAN_SNAPSHOT_GRACE
    for entry in entries:
        if entry.name in recorded_names or entry.name in leased_names:
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        removed.append(entry.name)
        if not dry_run:
            path = store.paths.snapshots / entry.name
            if entry.is_dir(follow_symlinks=False):
                remove_tree(path)
            else:
                path.unlink(missing_ok=True)
    return removed


def _remove_snapshot_dir(store: Store, name: str) -> None:
    try:
        path = store.paths.snapshot_dir(name)
    except Exception:  # noqa: BLE001 - a row with an unusable name has no directory to remove
        return
    remove_tree(path)
