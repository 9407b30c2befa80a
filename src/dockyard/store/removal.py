"""``rmi`` and ``image prune``: moby's ``daemon/images/image_delete.go`` and ``image_prune.go`` on dockyard's store.

The rules (conflict kinds, what ``--force`` may override, which references go with which, when untagged
parents are pruned) and the order of the ``Untagged:`` / ``Deleted:`` records are the graphdriver engine's.
That engine also reports, after an image's ``Deleted: <image ID>``, the chain ID of every layer the delete
released, top layer first; a layer is released when no remaining image, and no container, has it in its
stack. Those records carry the layer's size so prune can report the space reclaimed as Docker counts it
(the layer's content size).

Metadata changes for one ``rmi`` operand, or for one whole prune, happen in one store transaction; the
blobs they free are swept by ``store.gc()`` afterwards, which also honours the leases of operations in flight.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntFlag
from typing import TYPE_CHECKING, Any

from ..digest import Digest
from ..errors import Conflict, DockyardError, NotFound
from ..goquote import go_quote
from ..reference import Reference, parse_normalized
from .gc import chain_ids
from .images import image_references, is_image_id_prefix, remove_reference, resolve, short_id
from .metadata import ImageRecord

if TYPE_CHECKING:
    from ..filters import Filters
    from . import Store

log = logging.getLogger(__name__)

# Docker's container states in which ``IsRunning()`` is true.
RUNNING_STATES = frozenset({"running", "paused", "restarting"})

PRUNE_ACCEPTED_FILTERS = ("dangling", "label", "label!", "until")


@dataclass(frozen=True)
class RemovalRecord:
    """One line of ``rmi`` output: ``Untagged: <familiar ref>`` or ``Deleted: sha256:…``.

    ``layer`` marks a ``Deleted`` record that names a released layer's chain ID; ``size`` is then the
    layer's size as Docker counts it for reclaimed space.
    """

    untagged: str | None = None
    deleted: str | None = None
    layer: bool = False
    size: int = 0

    def line(self) -> str:
        return f"Untagged: {self.untagged}" if self.untagged is not None else f"Deleted: {self.deleted}"

    def as_api(self) -> dict[str, str]:
        """The Engine API's ``DeleteResponse`` item."""
        return {"Untagged": self.untagged} if self.untagged is not None else {"Deleted": self.deleted or ""}


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed (or, on a dry run, would remove).

    ``reclaimed`` is the space Docker reports (the sizes of the released layers); ``reasons`` maps each
    deleted image ID to why it went (``dangling``, ``unused``, ``untagged parent of sha256:…``).
    ``blobs_reclaimed`` is what dockyard's GC actually freed on disk (0 on a dry run).
    """

    deleted: list[RemovalRecord]
    reclaimed: int
    reasons: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    blobs_reclaimed: int = 0


class _Conflict(IntFlag):
    DEPENDENT_CHILD = 1
    RUNNING_CONTAINER = 2
    ACTIVE_REFERENCE = 4
    STOPPED_CONTAINER = 8
    HARD = DEPENDENT_CHILD | RUNNING_CONTAINER
    SOFT = ACTIVE_REFERENCE | STOPPED_CONTAINER


class ImageDeleteConflict(Conflict):
    """moby's ``imageDeleteConflict``: ``conflict: unable to delete <id> (must be forced|cannot be forced) - …``."""

    def __init__(self, image_id: str, message: str, *, hard: bool, used: bool = False) -> None:
        force = "cannot be forced" if hard else "must be forced"
        super().__init__(f"conflict: unable to delete {short_id(image_id)} ({force}) - {message}")
        self.image_id = image_id
        self.hard = hard
        self.used = used


def _is_single_reference(refs: list[Reference]) -> bool:
    """moby's ``isSingleReference``: all references in one repository, with at most one tag."""
    if len(refs) <= 1:
        return len(refs) == 1
    single: Reference | None = None
    canonical: set[str] = set()
    for ref in refs:
        if ref.digest is not None:
            canonical.add(ref.name)
        elif single is None:
            single = ref
        else:
            return False
    if single is None:
        single = refs[0]
    return len(canonical) == 1 and single.name in canonical


def _config_labels(store: Store, image_id: str) -> dict[str, str] | None:
    """The config's ``config.Labels`` (None when the config has no ``config`` section)."""
    try:
        raw = store.content.read_bytes(Digest.parse(image_id))
        doc = json.loads(raw)
    except (DockyardError, OSError, ValueError):
        return None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        return None
    labels = config.get("Labels")
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


def _config_diff_ids(store: Store, image_id: str) -> list[str]:
    """Layer diff IDs from a config blob (for containers whose image record was force-removed)."""
    try:
        doc = json.loads(store.content.read_bytes(Digest.parse(image_id)))
        return [str(d) for d in doc["rootfs"]["diff_ids"]]
    except (DockyardError, OSError, ValueError, KeyError, TypeError):
        return []


class _Deleter:
    """One delete session inside one transaction: moby's ImageDelete and its helpers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.meta = store.meta
        self.reasons: dict[str, str] = {}
        self._container_chains: set[str] | None = None

    # -- facts --------------------------------------------------------------------------------------------

    def _references(self, image_id: str) -> list[Reference]:
        return image_references(self.store, image_id)

    def _containers(self, image_id: str) -> list[Any]:
        return self.meta.containers_for(image_id)

    def _is_dangling(self, image_id: str) -> bool:
        return not self._references(image_id) and not self.meta.children(image_id)

    def _held_by_containers(self) -> set[str]:
        """Chain IDs a container's filesystem stands on (its image's stack, even if rmi -f removed the image)."""
        if self._container_chains is None:
            chains: set[str] = set()
            for container in self.meta.all_containers():
                image = self.meta.get_image(container.image_id)
                diff_ids = (
                    [str(d) for d in image.diff_ids] if image else _config_diff_ids(self.store, container.image_id)
                )
                chains.update(chain_ids(diff_ids))
            self._container_chains = chains
        return self._container_chains

    def _held_by_images(self) -> set[str]:
        conn = self.meta.connection()
        stacks: dict[str, list[str]] = {}
        for image_id, diff_id in conn.execute(
            "SELECT image_id, diff_id FROM image_layers ORDER BY image_id, position"
        ):
            stacks.setdefault(image_id, []).append(diff_id)
        held: set[str] = set()
        for diff_ids in stacks.values():
            held.update(chain_ids(diff_ids))
        return held

    def _check_conflict(self, image_id: str, mask: _Conflict) -> ImageDeleteConflict | None:
        """moby's ``checkImageDeleteConflict``, in its order: children, running, references, stopped."""
        if mask & _Conflict.DEPENDENT_CHILD and self.meta.children(image_id):
            return ImageDeleteConflict(image_id, "image has dependent child images", hard=True)
        containers = self._containers(image_id) if mask & (_Conflict.RUNNING_CONTAINER | _Conflict.STOPPED_CONTAINER) else []
        if mask & _Conflict.RUNNING_CONTAINER:
            running = next((c for c in containers if c.state in RUNNING_STATES), None)
            if running is not None:
                return ImageDeleteConflict(
                    image_id, f"image is being used by running container {short_id(running.id)}", hard=True, used=True
                )
        if mask & _Conflict.ACTIVE_REFERENCE and self._references(image_id):
            return ImageDeleteConflict(image_id, "image is referenced in multiple repositories", hard=False)
        if mask & _Conflict.STOPPED_CONTAINER:
            stopped = next((c for c in containers if c.state not in RUNNING_STATES), None)
            if stopped is not None:
                return ImageDeleteConflict(
                    image_id, f"image is being used by stopped container {short_id(stopped.id)}", hard=False, used=True
                )
        return None

    # -- operations -----------------------------------------------------------------------------------------

    def image_delete(self, operand: str, *, force: bool, prune: bool) -> list[RemovalRecord]:
        """moby's ``ImageDelete`` for one operand (no transaction of its own)."""
        records: list[RemovalRecord] = []
        found = resolve(self.store, operand)
        image = found.image
        image_id = image.id
        refs = self._references(image_id)

        removed_repository_ref = False
        if not is_image_id_prefix(image_id, operand):
            if not force and _is_single_reference(refs):
                users = self._containers(image_id)
                if users:
                    # Removing the last name would leave the image dangling under a container; make the
                    # user say so with --force.
                    raise Conflict(
                        f"conflict: unable to remove repository reference {go_quote(operand)} (must force) - "
                        f"container {short_id(users[0].id)} is using its referenced image {short_id(image_id)}"
                    )
            parsed = parse_normalized(operand).with_default_tag()
            remove_reference(self.store, parsed)
            records.append(RemovalRecord(untagged=parsed.familiar()))

            refs = self._references(image_id)
            if parsed.digest is None:
                # Last tag of its repository: that repository's digest references go with it.
                if not any(r.digest is None and r.name == parsed.name for r in refs):
                    remaining = []
                    for ref in refs:
                        if ref.digest is not None and ref.name == parsed.name:
                            remove_reference(self.store, ref)
                            records.append(RemovalRecord(untagged=ref.familiar()))
                        else:
                            remaining.append(ref)
                    refs = remaining
            if refs:
                return records
            removed_repository_ref = True
        elif _is_single_reference(refs):
            mask = _Conflict.HARD
            if not force:
                mask |= _Conflict.SOFT & ~_Conflict.ACTIVE_REFERENCE
            conflict = self._check_conflict(image_id, mask)
            if conflict is not None:
                raise conflict
            for ref in refs:
                remove_reference(self.store, ref)
                records.append(RemovalRecord(untagged=ref.familiar()))

        self._delete_helper(image, records, force=force, prune=prune, quiet=removed_repository_ref)
        return records

    def _delete_helper(
        self, image: ImageRecord, records: list[RemovalRecord], *, force: bool, prune: bool, quiet: bool
    ) -> None:
        """moby's ``imageDeleteHelper``: delete the image, then (with ``prune``) its untagged parents."""
        while True:
            image_id = image.id
            mask = _Conflict.HARD if force else _Conflict.HARD | _Conflict.SOFT
            conflict = self._check_conflict(image_id, mask)
            if conflict is not None:
                if quiet and (not self._is_dangling(image_id) or conflict.used):
                    return  # a quiet delete (untag, or a parent prune) stops silently
                raise conflict

            parent = image.parent
            for ref in self._references(image_id):
                remove_reference(self.store, ref)
                records.append(RemovalRecord(untagged=ref.familiar()))
            self.meta.delete_image(image_id)
            records.append(RemovalRecord(deleted=image_id))
            records.extend(self._released_layers(image))

            if not prune or not parent:
                return
            parent_image = self.meta.get_image(parent)
            if parent_image is None:
                return
            self.reasons.setdefault(parent, f"untagged parent of {image_id}")
            # Parents are pruned quietly and never forced.
            image, force, quiet = parent_image, False, True

    def _released_layers(self, image: ImageRecord) -> list[RemovalRecord]:
        """Records for the layers of a just-deleted image that nothing else stands on, top layer first."""
        diff_ids = [str(d) for d in image.diff_ids]
        chains = chain_ids(diff_ids)
        held = self._held_by_images() | self._held_by_containers()
        released: list[RemovalRecord] = []
        for position in range(len(chains) - 1, -1, -1):
            if chains[position] in held:
                break  # everything below a held layer is held through it
            released.append(RemovalRecord(deleted=chains[position], layer=True, size=image.layers[position].content_size))
        return released


@contextmanager
def _savepoint(conn: sqlite3.Connection, name: str) -> Iterator[None]:
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


class _DryRun(Exception):
    """Raised inside a transaction to roll a dry run back."""


def _collect_garbage(store: Store) -> int:
    """Sweep the blobs a removal freed; a prune holding the lock right now will do it instead."""
    try:
        return store.gc().reclaimed
    except Conflict:
        return 0


def remove_image(store: Store, name: str, *, force: bool = False, prune: bool = True) -> list[RemovalRecord]:
    """``docker rmi <name>``: the records in engine order; raises NotFound / Conflict / InvalidArgument."""
    deleter = _Deleter(store)
    with store.meta.transaction():
        records = deleter.image_delete(name, force=force, prune=prune)
    if any(r.deleted for r in records):
        _collect_garbage(store)
    return records


def _leased_blobs(store: Store) -> set[str]:
    return {key for kind, key in store.leases.live_resources(drop_dead=False) if kind == "blob"}


def _prune_options(filters: Filters | None) -> tuple[Filters, bool, int | None]:
    from ..filters import Filters as _Filters
    from ..gotime import parse_timestamp

    args = filters.copy() if filters is not None else _Filters()
    args.validate(PRUNE_ACCEPTED_FILTERS)
    dangling_only = args.get_bool("dangling", True)
    until_ns: int | None = None
    untils = args.get("until")
    if len(untils) > 1:
        from ..errors import InvalidArgument

        raise InvalidArgument("more than one until filter specified")
    if untils:
        until_ns = parse_timestamp(untils[0], time.time_ns())
    return args, dangling_only, until_ns


def prune_images(store: Store, *, filters: Filters | None = None, dry_run: bool = False) -> PruneReport:
    """``docker image prune``: dangling images (``dangling=true``, the default) or, with ``dangling=false``,
    every image no container uses; ``until`` / ``label`` / ``label!`` narrow the choice.

    Images whose config a live lease names (an import, load or pull registering right now) are left alone.
    With ``dry_run`` the same deletes run and are rolled back, so the report is exactly what a real run
    would do at this moment.
    """
    with store.prune_lock():
        args, dangling_only, until_ns = _prune_options(filters)
        deleter = _Deleter(store)
        deleted: list[RemovalRecord] = []
        try:
            with store.meta.transaction() as conn:
                leased = _leased_blobs(store)
                for image_id, reason in _prune_candidates(store, args, dangling_only, until_ns, leased):
                    deleter.reasons.setdefault(image_id, reason)
                    deleted.extend(_prune_one(deleter, conn, image_id, dangling_only))
                if dry_run:
                    raise _DryRun()
        except _DryRun:
            pass
        reasons = {
            r.deleted: deleter.reasons.get(r.deleted, "") for r in deleted if r.deleted is not None and not r.layer
        }
        reclaimed = sum(r.size for r in deleted if r.layer)
        blobs = 0 if dry_run or not deleted else _collect_garbage(store)
    return PruneReport(deleted, reclaimed, reasons, dry_run, blobs)


def _prune_candidates(
    store: Store, args: Filters, dangling_only: bool, until_ns: int | None, leased: set[str]
) -> list[tuple[str, str]]:
    """(image ID, reason) of the images prune starts from, newest first (Go's map order is random)."""
    meta = store.meta
    images = meta.list_images()
    chosen: list[tuple[int, str, str]] = []
    for image in images:
        if image.id in leased:
            continue
        children = meta.children(image.id)
        if dangling_only and children:
            continue  # moby starts from the heads only
        refs = image_references(store, image.id)
        if not refs and children:
            continue
        if until_ns is not None and (image.created_ns is None or image.created_ns > until_ns):
            continue
        labels = _config_labels(store, image.id)
        if labels is not None and not args.match_labels(labels):
            continue
        reason = "dangling" if not any(r.digest is None for r in refs) else "unused"
        chosen.append((image.created_ns or 0, image.id, reason))
    chosen.sort(key=lambda item: (-item[0], item[1]))
    return [(image_id, reason) for _, image_id, reason in chosen]


def _prune_one(deleter: _Deleter, conn: sqlite3.Connection, image_id: str, dangling_only: bool) -> list[RemovalRecord]:
    """One top image of moby's prune loop: delete it through its references, or by ID when it has none."""
    store = deleter.store
    if not store.meta.image_exists(image_id):
        return []  # already pruned as someone's parent
    refs = image_references(store, image_id)
    operands: list[str]
    if refs:
        if dangling_only and any(r.digest is None for r in refs):
            return []  # only repo:<none> (digest-only) images count as dangling
        operands = [str(r) for r in refs]
    else:
        operands = [image_id.removeprefix("sha256:")]
    records: list[RemovalRecord] = []
    for operand in operands:
        try:
            with _savepoint(conn, "prune_one"):
                records.extend(deleter.image_delete(operand, force=False, prune=True))
        except (Conflict, NotFound) as err:
            log.debug("prune skips %s: %s", operand, err)
        except DockyardError as err:
            # moby logs any other failure and goes on with the next image.
            log.warning("failed to prune image %s: %s", operand, err)
    return records
