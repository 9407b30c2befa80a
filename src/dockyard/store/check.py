"""Consistency check of a store: blobs against their names, records against blobs, SQLite itself."""

from __future__ import annotations

import json
import sqlite3
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..digest import Digest, digest_file
from ..errors import DockyardError

if TYPE_CHECKING:
    from . import Store

CONFIG_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    kind: str  # e.g. "corrupt-blob", "missing-layer", "dangling-tag"
    subject: str  # what it is about: a digest, an image ID, a tag name, an ingest key
    detail: str
    severity: str = "error"  # "error" or "info"

    def __str__(self) -> str:
        return f"{self.severity}: {self.kind}: {self.subject}: {self.detail}"


def check(store: Store) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_database(store)
    sizes, bad_blobs, blob_problems = _check_blobs(store)
    problems += blob_problems
    stages: list[Callable[[], list[Problem]]] = [
        lambda: _check_recorded_sizes(store, sizes),
        lambda: _check_images(store, sizes, bad_blobs),
        lambda: _check_references(store),
        lambda: _check_snapshots(store),
        lambda: _check_ingests(store),
    ]
    for stage in stages:
        try:
            problems += stage()
        except sqlite3.DatabaseError as e:
            # A damaged database was reported above; say what could not be checked, and go on.
            problems.append(Problem("database", str(store.paths.database), f"check incomplete: {e}"))
    return problems


def _check_database(store: Store) -> list[Problem]:
    return [Problem("database", str(store.paths.database), message) for message in store.meta.integrity_check()]


def _check_blobs(store: Store) -> tuple[dict[str, int], set[str], list[Problem]]:
    """Hash every blob. Returns sizes of the sound ones, the names of the bad ones, and the problems."""
    problems: list[Problem] = []
    sizes: dict[str, int] = {}
    bad: set[str] = set()
    blobs_root = store.paths.blobs
    try:
        alg_dirs = sorted(os.scandir(blobs_root), key=lambda e: e.name)
    except FileNotFoundError:
        return sizes, bad, problems
    for alg_dir in alg_dirs:
        if not alg_dir.is_dir(follow_symlinks=False):
            problems.append(Problem("stray-file", alg_dir.path, "not a digest algorithm directory"))
            continue
        for entry in sorted(os.scandir(alg_dir.path), key=lambda e: e.name):
            try:
                digest = Digest.parse(f"{alg_dir.name}:{entry.name}")
            except DockyardError:
                problems.append(Problem("stray-file", entry.path, "name is not a digest"))
                continue
            if not entry.is_file(follow_symlinks=False):
                problems.append(Problem("corrupt-blob", str(digest), "not a regular file"))
                bad.add(str(digest))
                continue
            try:
                actual, size = digest_file(entry.path, digest.algorithm)
            except OSError as e:
                problems.append(Problem("unreadable-blob", str(digest), str(e)))
                bad.add(str(digest))
                continue
            if actual != digest:
                problems.append(Problem("corrupt-blob", str(digest), f"content hashes to {actual} ({size} bytes)"))
                bad.add(str(digest))
                continue
            sizes[str(digest)] = size
            if entry.stat(follow_symlinks=False).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
                problems.append(Problem("writable-blob", str(digest), "committed blob is writable", "info"))
    return sizes, bad, problems


def _check_recorded_sizes(store: Store, sizes: dict[str, int]) -> list[Problem]:
    problems = []
    conn = store.meta._conn()
    recorded = conn.execute(
        "SELECT digest, size, 'layer' FROM layer_blobs UNION ALL SELECT digest, size, 'manifest' FROM manifests"
        " UNION ALL SELECT id, config_size, 'config' FROM images"
    ).fetchall()
    for digest, size, what in recorded:
        actual = sizes.get(digest)
        if actual is not None and actual != size:
            problems.append(Problem("size-mismatch", digest, f"{what} recorded as {size} bytes, blob has {actual}"))
    return problems


def _check_images(store: Store, sizes: dict[str, int], bad: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    for image in store.meta.list_images():
        if image.id not in sizes:
            if image.id not in bad:
                problems.append(Problem("missing-config", image.id, "the image's config blob is not in the store"))
        else:
            problems += _check_diff_ids(store, image)
        for layer in image.layers:
            if str(layer.blob) not in sizes and str(layer.blob) not in bad:
                problems.append(
                    Problem("missing-layer", image.id, f"layer blob {layer.blob} (diff ID {layer.diff_id}) is missing")
                )
        for manifest in store.meta.manifests_for(image.id):
            if str(manifest.digest) not in sizes and str(manifest.digest) not in bad:
                problems.append(Problem("missing-manifest", image.id, f"manifest {manifest.digest} is missing"))
    return problems


def _check_diff_ids(store: Store, image) -> list[Problem]:  # type: ignore[no-untyped-def]
    try:
        config = json.loads(store.content.read_bytes(image.config_digest, CONFIG_LIMIT))
        diff_ids = config["rootfs"]["diff_ids"] or []
        if not isinstance(diff_ids, list):
            raise TypeError("rootfs.diff_ids is not a list")
    except DockyardError as e:
        return [Problem("bad-config", image.id, str(e))]
    except (ValueError, KeyError, TypeError) as e:
        return [Problem("bad-config", image.id, f"cannot read rootfs.diff_ids: {e}")]
    recorded = [str(d) for d in image.diff_ids]
    if diff_ids != recorded:
        return [
            Problem(
                "diff-ids-mismatch",
                image.id,
                f"config lists {len(diff_ids)} layer(s) {diff_ids}, the store recorded {len(recorded)} {recorded}",
            )
        ]
    return []


def _check_references(store: Store) -> list[Problem]:
    meta = store.meta
    problems = []
    for tag in meta.all_tags():
        if not meta.image_exists(tag.image_id):
            problems.append(Problem("dangling-tag", tag.name, f"points at missing image {tag.image_id}"))
    for rd in meta.all_repo_digests():
        if not meta.image_exists(rd.image_id):
            problems.append(Problem("dangling-repo-digest", rd.reference, f"points at missing image {rd.image_id}"))
    for container in meta.all_containers():
        if meta.image_exists(container.image_id):
            continue
        # `rmi -f` may remove the image of a stopped container, as in Docker; its config and layers stay.
        if store.content.has(Digest.parse(container.image_id)):
            problems.append(Problem(
                "removed-image-container", container.id,
                f"made from image {container.image_id}, since removed; its layers are kept", "info",
            ))
        else:
            problems.append(
                Problem("dangling-container", container.id, f"made from missing image {container.image_id}")
            )
    return problems


def _check_snapshots(store: Store) -> list[Problem]:
    problems = []
    for snapshot in store.meta.all_snapshots():
        try:
            present = store.paths.snapshot_dir(snapshot.name).is_dir()
        except DockyardError:
            present = False
        if not present:
            problems.append(Problem("missing-snapshot", snapshot.chain_id, f"directory {snapshot.name!r} is missing"))
    return problems


def _check_ingests(store: Store) -> list[Problem]:
    leased = {key for kind, key in store.leases.live_resources(drop_dead=False) if kind == "ingest"}
    problems = []
    now = time.time()
    for info in store.content.ingests():
        if info.locked or info.key in leased:
            continue  # in flight, or kept for a resume by a live lease
        age = f", untouched for {int(now - info.updated)}s" if info.updated else ""
        problems.append(
            Problem("leftover-ingest", info.key, f"{info.offset} bytes written{age}; gc removes it", "info")
        )
    return problems
