"""Leases: what an operation in flight (pull, load, import, build) is using, so GC leaves it alone.

A lease is a row in ``leases`` plus a lock file ``leases/<id>.lock`` that its owner holds with ``flock``.
It is live while the lock is held **or** until it expires: the kernel drops the lock when the owner dies,
even by SIGKILL, and the expiry then keeps a crashed pull's partial work resumable for a while. Nothing
depends on the owner cleaning up after itself; GC drops dead leases it finds.

The lease an operation holds is found implicitly: ``with store.lease():`` makes it the current lease of the
calling context, and of the Store for threads that do not inherit the context, so the content store names
every ingest and committed blob in it without the caller passing it around.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from ..digest import Digest
from ..errors import InvalidArgument
from .locks import FileLock, is_locked
from .metadata import Metadata
from .paths import StorePaths

LEASE_KINDS = frozenset({"blob", "ingest", "snapshot"})

_current: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("dockyard_lease", default=None)


@dataclass(frozen=True)
class LeaseInfo:
    id: str
    pid: int
    created_ns: int
    expires_ns: int
    held: bool  # its owner's lock is held right now

    def live(self, now_ns: int) -> bool:
        return self.held or self.expires_ns > now_ns


class Lease:
    def __init__(self, manager: LeaseManager, lease_id: str, lock: FileLock, expires_ns: int) -> None:
        self.manager = manager
        self.id = lease_id
        self.expires_ns = expires_ns
        self._lock = lock
        self._named: set[tuple[str, str]] = set()
        self._named_lock = threading.Lock()
        self._token: contextvars.Token[Lease | None] | None = None
        self.released = False

    def add(self, kind: str, key: str) -> None:
        """Name a resource in the lease: ``blob`` (a digest), ``ingest`` (an ingest key), ``snapshot`` (a name)."""
        if kind not in LEASE_KINDS:
            raise InvalidArgument(f"unknown lease resource kind {kind!r}")
        if kind == "blob":
            key = str(Digest.parse(key))
        if self.released:
            raise InvalidArgument(f"lease {self.id} has been released")
        with self._named_lock:
            if (kind, key) in self._named:
                return
        with self.manager.meta.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO lease_resources(lease_id, kind, key) VALUES (?, ?, ?)", (self.id, kind, key)
            )
        with self._named_lock:
            self._named.add((kind, key))

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.manager._forget(self)
        try:
            with self.manager.meta.transaction() as conn:
                conn.execute("DELETE FROM leases WHERE id = ?", (self.id,))
        finally:
            self._lock.path.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> Lease:
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            try:
                _current.reset(self._token)
            except ValueError:  # exited in another context than entered; nothing to restore there
                pass
            self._token = None
        self.release()


class LeaseManager:
    def __init__(self, paths: StorePaths, meta: Metadata) -> None:
        self.paths = paths
        self.meta = meta
        self._open: list[Lease] = []
        self._open_lock = threading.Lock()

    def create(self, ttl: float = 3600.0) -> Lease:
        if ttl < 0:
            raise InvalidArgument(f"invalid lease ttl {ttl}")
        lease_id = uuid.uuid4().hex
        lock = FileLock(self.paths.lease_lock(lease_id), what=f"lease {lease_id}")
        # Lock first, then the row: the row never exists without either a held lock or an expiry.
        lock.acquire(wait=False)
        now = time.time_ns()
        expires = now + int(ttl * 1e9)
        try:
            with self.meta.transaction() as conn:
                conn.execute(
                    "INSERT INTO leases(id, pid, created_ns, expires_ns) VALUES (?, ?, ?, ?)",
                    (lease_id, os.getpid(), now, expires),
                )
        except BaseException:
            lock.path.unlink(missing_ok=True)
            lock.release()
            raise
        lease = Lease(self, lease_id, lock, expires)
        with self._open_lock:
            self._open.append(lease)
        return lease

    def _forget(self, lease: Lease) -> None:
        with self._open_lock:
            if lease in self._open:
                self._open.remove(lease)

    def current(self) -> Lease | None:
        """The lease of the calling context, else the most recent one this Store holds."""
        lease = _current.get()
        if lease is not None and lease.manager is self and not lease.released:
            return lease
        with self._open_lock:
            return self._open[-1] if self._open else None

    def announce(self, kind: str, key: str) -> None:
        lease = self.current()
        if lease is not None:
            lease.add(kind, key)

    def leases(self) -> list[LeaseInfo]:
        rows = self.meta._rows("SELECT id, pid, created_ns, expires_ns FROM leases ORDER BY created_ns")
        return [LeaseInfo(r[0], r[1], r[2], r[3], is_locked(self.paths.lease_lock(r[0]))) for r in rows]

    def live_resources(self, *, drop_dead: bool) -> set[tuple[str, str]]:
        """(kind, key) named by live leases; with ``drop_dead``, dead leases and stray lock files go.

        Call it inside the GC's write transaction so that no lease can change under the mark.
        """
        now = time.time_ns()
        infos = self.leases()
        live_ids = [info.id for info in infos if info.live(now)]
        dead_ids = [info.id for info in infos if not info.live(now)]
        conn = self.meta._conn()
        if drop_dead and dead_ids:
            conn.executemany("DELETE FROM leases WHERE id = ?", [(i,) for i in dead_ids])
            for lease_id in dead_ids:
                self.paths.lease_lock(lease_id).unlink(missing_ok=True)
        if drop_dead:
            self._remove_stray_lock_files(set(live_ids) | set(dead_ids))
        resources: set[tuple[str, str]] = set()
        for lease_id in live_ids:
            rows = conn.execute("SELECT kind, key FROM lease_resources WHERE lease_id = ?", (lease_id,)).fetchall()
            resources.update((r[0], r[1]) for r in rows)
        return resources

    def _remove_stray_lock_files(self, known: Iterable[str]) -> None:
        known_set = set(known)
        try:
            files = list(self.paths.leases.iterdir())
        except FileNotFoundError:
            return
        for path in files:
            lease_id = path.name.removesuffix(".lock")
            # An unknown lock file that is held belongs to a lease being created right now.
            if path.suffix == ".lock" and lease_id not in known_set and not is_locked(path):
                path.unlink(missing_ok=True)

