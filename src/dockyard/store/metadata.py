"""SQLite metadata: schema and migrations, and every record the store keeps besides blob bytes.

The database is in WAL mode with a long busy timeout; every state change runs in one ``BEGIN IMMEDIATE``
transaction, so several dockyard processes can share a store. Each thread gets its own connection.
Methods that change state join a transaction already opened with ``transaction()`` on the same thread,
so a multi-step change (``rmi``: untag, then delete) commits or fails as a whole.
"""

from __future__ import annotations

import os
import sqlite3
# threading's own local and Lock, without importing threading (start-up time)
from _thread import _local as _thread_local, allocate_lock as _allocate_lock
import time
from contextlib import contextmanager
from .._record import dataclass
from datetime import datetime, timezone

from ..digest import Digest
from ..errors import DataCorrupt, FailedPrecondition, InvalidArgument, Locked, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os as _os
    from collections.abc import Callable, Iterator, Sequence
    from .content import ContentStore

BUSY_TIMEOUT_MS = 120_000

MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            """CREATE TABLE images(
                id TEXT PRIMARY KEY,              -- "sha256:<hex>", the config digest
                config_media_type TEXT NOT NULL,
                config_size INTEGER NOT NULL,
                created TEXT,                     -- the config's "created", verbatim
                created_ns INTEGER,
                parent TEXT,
                os TEXT NOT NULL,
                architecture TEXT NOT NULL,
                variant TEXT,
                size INTEGER NOT NULL,            -- sum of the layers' content_size, as Docker shows
                last_tag_time TEXT,
                added_ns INTEGER NOT NULL)""",
            "CREATE INDEX images_parent ON images(parent)",
            """CREATE TABLE layers(
                diff_id TEXT PRIMARY KEY,
                size INTEGER NOT NULL,            -- uncompressed tar size
                content_size INTEGER NOT NULL)    -- regular file sizes + symlink target lengths""",
            """CREATE TABLE image_layers(
                image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                diff_id TEXT NOT NULL,
                blob TEXT NOT NULL,               -- the representation the image was registered with
                PRIMARY KEY(image_id, position))""",
            "CREATE INDEX image_layers_diff_id ON image_layers(diff_id)",
            """CREATE TABLE layer_blobs(
                digest TEXT PRIMARY KEY,
                diff_id TEXT NOT NULL,
                media_type TEXT NOT NULL,
                size INTEGER NOT NULL)""",
            "CREATE INDEX layer_blobs_diff_id ON layer_blobs(diff_id)",
            """CREATE TABLE manifests(
                digest TEXT PRIMARY KEY,
                media_type TEXT NOT NULL,
                size INTEGER NOT NULL,
                image_id TEXT,                    -- set for an image manifest, NULL for an index
                platform TEXT)""",
            """CREATE TABLE manifest_children(
                parent_digest TEXT NOT NULL,
                child_digest TEXT NOT NULL,
                PRIMARY KEY(parent_digest, child_digest))""",
            """CREATE TABLE image_manifests(
                image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
                manifest_digest TEXT NOT NULL,
                PRIMARY KEY(image_id, manifest_digest))""",
            "CREATE INDEX image_manifests_digest ON image_manifests(manifest_digest)",
            """CREATE TABLE tags(
                name TEXT PRIMARY KEY,            -- "docker.io/library/busybox:latest"
                repository TEXT NOT NULL,
                tag TEXT NOT NULL,
                image_id TEXT NOT NULL REFERENCES images(id),
                manifest_digest TEXT,
                seq INTEGER NOT NULL)""",
            "CREATE INDEX tags_image_id ON tags(image_id)",
            """CREATE TABLE repo_digests(
                repository TEXT NOT NULL,
                digest TEXT NOT NULL,
                image_id TEXT NOT NULL REFERENCES images(id),
                seq INTEGER NOT NULL,
                PRIMARY KEY(repository, digest))""",
            "CREATE INDEX repo_digests_image_id ON repo_digests(image_id)",
            """CREATE TABLE blob_sources(
                digest TEXT NOT NULL,
                registry TEXT NOT NULL,
                repository TEXT NOT NULL,
                PRIMARY KEY(digest, registry, repository))""",
            """CREATE TABLE containers(
                id TEXT PRIMARY KEY,
                image_id TEXT NOT NULL,           -- no foreign key: rmi -f may leave a container's image gone
                name TEXT,
                state TEXT NOT NULL,
                created_ns INTEGER NOT NULL)""",
            "CREATE INDEX containers_image_id ON containers(image_id)",
            """CREATE TABLE snapshots(
                chain_id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,        -- directory under snapshots/
                parent TEXT,
                created_ns INTEGER NOT NULL)""",
            """CREATE TABLE leases(
                id TEXT PRIMARY KEY,
                pid INTEGER NOT NULL,
                created_ns INTEGER NOT NULL,
                expires_ns INTEGER NOT NULL)""",
            """CREATE TABLE lease_resources(
                lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                key TEXT NOT NULL,
                PRIMARY KEY(lease_id, kind, key))""",
        ),
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]


# --- records -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerRecord:
    diff_id: Digest
    blob: Digest
    media_type: str
    blob_size: int
    size: int  # uncompressed tar size
    content_size: int  # what Docker counts towards an image's size


@dataclass(frozen=True)
class ManifestRecord:
    digest: Digest
    media_type: str
    size: int
    platform: str | None = None
    children: Sequence[Digest] = ()  # for an index: the manifests it lists


@dataclass(frozen=True)
class ImageRecord:
    id: str  # "sha256:<hex>"
    config_media_type: str
    config_size: int
    created: str | None
    created_ns: int | None
    parent: str | None
    os: str
    architecture: str
    variant: str | None
    size: int
    last_tag_time: str | None
    added_ns: int
    layers: tuple[LayerRecord, ...] = ()

    @property
    def config_digest(self) -> Digest:
        return Digest.parse(self.id)

    @property
    def diff_ids(self) -> list[Digest]:
        return [layer.diff_id for layer in self.layers]


@dataclass(frozen=True)
class TagRecord:
    name: str
    repository: str
    tag: str
    image_id: str
    manifest_digest: str | None
    seq: int


@dataclass(frozen=True)
class RepoDigestRecord:
    repository: str
    digest: str
    image_id: str

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    image_id: str
    name: str | None
    state: str
    created_ns: int


@dataclass(frozen=True)
class SnapshotRecord:
    chain_id: str
    name: str
    parent: str | None
    created_ns: int


@dataclass(frozen=True)
class BlobSource:
    digest: str
    registry: str
    repository: str


CONTAINER_STATES = frozenset({"created", "running", "paused", "restarting", "exited", "dead"})


def go_time_utc(ns: int) -> str:
    """Go's RFC3339Nano rendering in UTC (trailing zeros of the fraction trimmed), as Docker stores times."""
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{frac:09d}".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


# --- connection and migrations ------------------------------------------------------------------------


def _connect(path: str | _os.PathLike[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=FULL")
    _ensure_wal(conn)
    return conn


def _ensure_wal(conn: sqlite3.Connection) -> None:
    # Switching to WAL needs an exclusive moment; several processes opening a fresh store race for it,
    # and SQLite does not use the busy handler for this one, so retry briefly ourselves.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    if row is None:
        return 0
    value = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    return int(value or 0)


def migrate(conn: sqlite3.Connection, migrations: Sequence[tuple[int, Sequence[str]]] = MIGRATIONS) -> int:
    """Run pending steps in order, each with its version bump in one transaction; return the version."""
    current = schema_version(conn)
    if current >= migrations[-1][0]:
        return current  # the usual case: two cheap reads, no transaction
    for version, statements in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied_ns INTEGER)")
            if schema_version(conn) >= version:
                conn.execute("COMMIT")
                continue  # another process got here first
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version(version, applied_ns) VALUES (?, ?)", (version, time.time_ns()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return schema_version(conn)


# --- the metadata object ------------------------------------------------------------------------------


class Metadata:
    def __init__(self, path: str | _os.PathLike[str], content: Callable[[], ContentStore]) -> None:
        self.path = path
        self._content = content  # a provider: read-only commands never need the content store
        self._local = _thread_local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = _allocate_lock()
        self._pid = os.getpid()
        with _database_errors():
            migrate(self._conn())


    @property
    def content(self) -> ContentStore:
        return self._content()
    def _conn(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            # Forked: the parent's connections must not be used (or closed) here; start afresh.
            self._pid = os.getpid()
            self._local = _thread_local()
            self._all = []
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            self._local.depth = 0
            with self._all_lock:
                self._all.append(conn)
        return conn

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, for read-only queries the methods below do not cover."""
        return self._conn()

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = _thread_local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction; nested uses on the same thread join the outer one."""
        conn = self._conn()
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        with _database_errors():
            conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield conn
            with _database_errors():
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            self._local.depth = 0

    @property
    def in_transaction(self) -> bool:
        return bool(getattr(self._local, "depth", 0))

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row | tuple]:
        return self._conn().execute(sql, params).fetchall()

    # --- images ------------------------------------------------------------------------------------

    def add_image(
        self,
        *,
        config_digest: Digest,
        config_media_type: str,
        config_size: int,
        created: str | None,
        created_ns: int | None,
        os: str,
        architecture: str,
        variant: str | None,
        layers: Sequence[LayerRecord],
        parent: Digest | None = None,
        manifests: Sequence[ManifestRecord] = (),
    ) -> ImageRecord:
        """Register an image whose config, layer and manifest blobs are all committed (else FailedPrecondition)."""
        image_id = str(config_digest)
        with self.transaction() as conn:
            # Checked inside the write transaction: GC sweeps inside one too, so nothing vanishes between
            # this check and the commit below.
            missing = [str(config_digest)] if not self.content.has(config_digest) else []
            missing += [str(layer.blob) for layer in layers if not self.content.has(layer.blob)]
            missing += [str(m.digest) for m in manifests if not self.content.has(m.digest)]
            if missing:
                raise FailedPrecondition(
                    f"cannot register image {image_id}: content not committed: {', '.join(missing)}"
                )
            for layer in layers:
                conn.execute(
                    "INSERT OR IGNORE INTO layers(diff_id, size, content_size) VALUES (?, ?, ?)",
                    (str(layer.diff_id), layer.size, layer.content_size),
                )
                self._insert_layer_blob(conn, layer.blob, layer.diff_id, layer.media_type, layer.blob_size)
            exists = conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone()
            if not exists:
                conn.execute(
                    "INSERT INTO images(id, config_media_type, config_size, created, created_ns, parent, os,"
                    " architecture, variant, size, last_tag_time, added_ns)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                    (
                        image_id, config_media_type, config_size, created, created_ns,
                        str(parent) if parent else None, os, architecture, variant or None,
                        sum(layer.content_size for layer in layers), time.time_ns(),
                    ),
                )
                conn.executemany(
                    "INSERT INTO image_layers(image_id, position, diff_id, blob) VALUES (?, ?, ?, ?)",
                    [(image_id, i, str(layer.diff_id), str(layer.blob)) for i, layer in enumerate(layers)],
                )
            for manifest in manifests:
                self._insert_manifest(conn, manifest, image_id)
            record = self.get_image(image_id)
        assert record is not None
        return record

    def get_image(self, image_id: str) -> ImageRecord | None:
        row = self._conn().execute(_IMAGE_SELECT + " WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            return None
        return self._image_from_row(row)

    def list_images(self) -> list[ImageRecord]:
        rows = self._rows(_IMAGE_SELECT + " ORDER BY added_ns, id")
        return [self._image_from_row(row) for row in rows]

    def _image_from_row(self, row: tuple) -> ImageRecord:
        layer_rows = self._rows(
            "SELECT il.diff_id, il.blob, COALESCE(lb.media_type, ''), COALESCE(lb.size, 0),"
            " COALESCE(l.size, 0), COALESCE(l.content_size, 0)"
            " FROM image_layers il LEFT JOIN layer_blobs lb ON lb.digest = il.blob"
            " LEFT JOIN layers l ON l.diff_id = il.diff_id WHERE il.image_id = ? ORDER BY il.position",
            (row[0],),
        )
        layers = tuple(
            LayerRecord(Digest.parse(r[0]), Digest.parse(r[1]), r[2], r[3], r[4], r[5]) for r in layer_rows
        )
        return ImageRecord(*row, layers=layers)

    def image_exists(self, image_id: str) -> bool:
        return self._conn().execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is not None

    def images_by_prefix(self, hex_prefix: str) -> list[str]:
        """IDs whose hex starts with ``hex_prefix`` (Docker's short-ID lookup)."""
        hex_prefix = hex_prefix.removeprefix("sha256:")
        if not hex_prefix or any(c not in "0123456789abcdef" for c in hex_prefix):
            return []
        rows = self._rows(
            "SELECT id FROM images WHERE substr(id, 8, ?) = ? ORDER BY id", (len(hex_prefix), hex_prefix)
        )
        return [r[0] for r in rows]

    def children(self, image_id: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM images WHERE parent = ? ORDER BY id", (image_id,))]

    def delete_image(self, image_id: str) -> None:
        """Remove an image record; its tags and repo digests must be gone already. Blobs go by GC."""
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone():
                raise NotFound(f"No such image: {image_id}")
            refs = conn.execute(
                "SELECT (SELECT COUNT(*) FROM tags WHERE image_id = ?) + "
                "(SELECT COUNT(*) FROM repo_digests WHERE image_id = ?)",
                (image_id, image_id),
            ).fetchone()[0]
            if refs:
                raise FailedPrecondition(f"image {image_id} is still referenced by {refs} tag(s) or digest(s)")
            manifests = [
                r[0]
                for r in conn.execute(
                    "SELECT manifest_digest FROM image_manifests WHERE image_id = ?", (image_id,)
                ).fetchall()
            ]
            conn.execute("DELETE FROM image_layers WHERE image_id = ?", (image_id,))
            conn.execute("DELETE FROM image_manifests WHERE image_id = ?", (image_id,))
            conn.execute("DELETE FROM images WHERE id = ?", (image_id,))
            conn.execute("UPDATE images SET parent = NULL WHERE parent = ?", (image_id,))
            for digest in manifests:
                still_used = conn.execute(
                    "SELECT 1 FROM image_manifests WHERE manifest_digest = ? LIMIT 1", (digest,)
                ).fetchone()
                if not still_used:
                    conn.execute("DELETE FROM manifest_children WHERE parent_digest = ?", (digest,))
                    conn.execute("DELETE FROM manifests WHERE digest = ?", (digest,))

    # --- layers and manifests ------------------------------------------------------------------------

    def _insert_layer_blob(
        self, conn: sqlite3.Connection, digest: Digest, diff_id: Digest, media_type: str, size: int
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO layer_blobs(digest, diff_id, media_type, size) VALUES (?, ?, ?, ?)",
            (str(digest), str(diff_id), media_type, size),
        )

    def add_layer_blob(self, digest: Digest, diff_id: Digest, media_type: str, size: int) -> None:
        """Record another representation (plain, gzip, zstd) of a layer, e.g. after a push recompresses."""
        with self.transaction() as conn:
            self._insert_layer_blob(conn, digest, diff_id, media_type, size)

    def layer_blobs_for(self, diff_id: Digest) -> list[tuple[Digest, str, int]]:
        """(blob digest, media type, size) of every known representation of the layer."""
        rows = self._rows(
            "SELECT digest, media_type, size FROM layer_blobs WHERE diff_id = ? ORDER BY digest", (str(diff_id),)
        )
        return [(Digest.parse(r[0]), r[1], r[2]) for r in rows]

    def layer_for_blob(self, digest: Digest) -> Digest | None:
        row = self._conn().execute("SELECT diff_id FROM layer_blobs WHERE digest = ?", (str(digest),)).fetchone()
        return Digest.parse(row[0]) if row else None

    def _insert_manifest(self, conn: sqlite3.Connection, manifest: ManifestRecord, image_id: str | None) -> None:
        owner = image_id if not manifest.children else None
        conn.execute(
            "INSERT INTO manifests(digest, media_type, size, image_id, platform) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(digest) DO UPDATE SET image_id = COALESCE(manifests.image_id, excluded.image_id),"
            " platform = COALESCE(manifests.platform, excluded.platform)",
            (str(manifest.digest), manifest.media_type, manifest.size, owner, manifest.platform),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO manifest_children(parent_digest, child_digest) VALUES (?, ?)",
            [(str(manifest.digest), str(child)) for child in manifest.children],
        )
        if image_id is not None:
            conn.execute(
                "INSERT OR IGNORE INTO image_manifests(image_id, manifest_digest) VALUES (?, ?)",
                (image_id, str(manifest.digest)),
            )

    def add_manifest(self, manifest: ManifestRecord, image_id: str | None = None) -> None:
        """Record a manifest (its bytes must be committed) and, if given, link it to an existing image."""
        with self.transaction() as conn:
            if not self.content.has(manifest.digest):
                raise FailedPrecondition(f"cannot record manifest {manifest.digest}: content not committed")
            if image_id is not None and not conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone():
                raise NotFound(f"No such image: {image_id}")
            self._insert_manifest(conn, manifest, image_id)

    def get_manifest(self, digest: Digest) -> ManifestRecord | None:
        row = self._conn().execute(
            "SELECT digest, media_type, size, platform FROM manifests WHERE digest = ?", (str(digest),)
        ).fetchone()
        if row is None:
            return None
        children = tuple(
            Digest.parse(r[0])
            for r in self._rows(
                "SELECT child_digest FROM manifest_children WHERE parent_digest = ? ORDER BY rowid", (row[0],)
            )
        )
        return ManifestRecord(Digest.parse(row[0]), row[1], row[2], row[3], children)

    def manifests_for(self, image_id: str) -> list[ManifestRecord]:
        rows = self._rows(
            "SELECT manifest_digest FROM image_manifests WHERE image_id = ? ORDER BY rowid", (image_id,)
        )
        records = [self.get_manifest(Digest.parse(r[0])) for r in rows]
        return [r for r in records if r is not None]

    def image_for_manifest(self, digest: Digest) -> str | None:
        row = self._conn().execute(
            "SELECT image_id FROM image_manifests WHERE manifest_digest = ? ORDER BY rowid LIMIT 1", (str(digest),)
        ).fetchone()
        return row[0] if row else None

    # --- tags and repo digests -----------------------------------------------------------------------

    def set_tag(
        self, name: str, repository: str, tag: str, image_id: str, manifest_digest: str | None = None
    ) -> str | None:
        """Point ``name`` at an image; returns the image it pointed at before (None if it is new)."""
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone():
                raise NotFound(f"No such image: {image_id}")
            row = conn.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
            previous = row[0] if row else None
            if previous == image_id:
                conn.execute(
                    "UPDATE tags SET repository = ?, tag = ?, manifest_digest = ? WHERE name = ?",
                    (repository, tag, manifest_digest, name),
                )
            else:
                seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM tags").fetchone()[0]
                conn.execute(
                    "INSERT OR REPLACE INTO tags(name, repository, tag, image_id, manifest_digest, seq)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (name, repository, tag, image_id, manifest_digest, seq),
                )
            conn.execute(
                "UPDATE images SET last_tag_time = ? WHERE id = ?", (go_time_utc(time.time_ns()), image_id)
            )
            return previous

    def remove_tag(self, name: str) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM tags WHERE name = ?", (name,)).rowcount > 0

    def get_tag(self, name: str) -> TagRecord | None:
        row = self._conn().execute(_TAG_SELECT + " WHERE name = ?", (name,)).fetchone()
        return TagRecord(*row) if row else None

    def image_for_tag(self, name: str) -> str | None:
        row = self._conn().execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def tags_for(self, image_id: str) -> list[TagRecord]:
        return [TagRecord(*r) for r in self._rows(_TAG_SELECT + " WHERE image_id = ? ORDER BY seq", (image_id,))]

    def all_tags(self) -> list[TagRecord]:
        return [TagRecord(*r) for r in self._rows(_TAG_SELECT + " ORDER BY seq")]

    def add_repo_digest(self, repository: str, digest: str, image_id: str) -> None:
        """Record ``repository@digest`` for an image (moved to this image if it named another)."""
        Digest.parse(digest)
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone():
                raise NotFound(f"No such image: {image_id}")
            row = conn.execute(
                "SELECT image_id FROM repo_digests WHERE repository = ? AND digest = ?", (repository, digest)
            ).fetchone()
            if row is not None and row[0] == image_id:
                return
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM repo_digests").fetchone()[0]
            conn.execute(
                "INSERT OR REPLACE INTO repo_digests(repository, digest, image_id, seq) VALUES (?, ?, ?, ?)",
                (repository, digest, image_id, seq),
            )

    def remove_repo_digest(self, repository: str, digest: str) -> bool:
        with self.transaction() as conn:
            return (
                conn.execute(
                    "DELETE FROM repo_digests WHERE repository = ? AND digest = ?", (repository, digest)
                ).rowcount
                > 0
            )

    def repo_digests_for(self, image_id: str) -> list[RepoDigestRecord]:
        rows = self._rows(
            "SELECT repository, digest, image_id FROM repo_digests WHERE image_id = ? ORDER BY seq", (image_id,)
        )
        return [RepoDigestRecord(*r) for r in rows]

    def all_repo_digests(self) -> list[RepoDigestRecord]:
        return [RepoDigestRecord(*r) for r in self._rows("SELECT repository, digest, image_id FROM repo_digests ORDER BY seq")]

    def image_for_repo_digest(self, repository: str, digest: str) -> str | None:
        row = self._conn().execute(
            "SELECT image_id FROM repo_digests WHERE repository = ? AND digest = ?", (repository, digest)
        ).fetchone()
        return row[0] if row else None

    # --- blob sources --------------------------------------------------------------------------------

    def add_blob_source(self, digest: Digest, registry: str, repository: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO blob_sources(digest, registry, repository) VALUES (?, ?, ?)",
                (str(digest), registry, repository),
            )

    def blob_sources(self, digest: Digest) -> list[BlobSource]:
        rows = self._rows(
            "SELECT digest, registry, repository FROM blob_sources WHERE digest = ? ORDER BY rowid", (str(digest),)
        )
        return [BlobSource(*r) for r in rows]

    # --- containers ----------------------------------------------------------------------------------

    def add_container(self, id: str, image_id: str, name: str | None, state: str = "created") -> ContainerRecord:
        _check_state(state)
        created_ns = time.time_ns()
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone():
                raise NotFound(f"No such image: {image_id}")
            conn.execute(
                "INSERT INTO containers(id, image_id, name, state, created_ns) VALUES (?, ?, ?, ?, ?)",
                (id, image_id, name, state, created_ns),
            )
        return ContainerRecord(id, image_id, name, state, created_ns)

    def set_container_state(self, id: str, state: str) -> None:
        _check_state(state)
        with self.transaction() as conn:
            if conn.execute("UPDATE containers SET state = ? WHERE id = ?", (state, id)).rowcount == 0:
                raise NotFound(f"No such container: {id}")

    def remove_container(self, id: str) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM containers WHERE id = ?", (id,)).rowcount > 0

    def containers_for(self, image_id: str) -> list[ContainerRecord]:
        rows = self._rows(_CONTAINER_SELECT + " WHERE image_id = ? ORDER BY created_ns, id", (image_id,))
        return [ContainerRecord(*r) for r in rows]

    def all_containers(self) -> list[ContainerRecord]:
        return [ContainerRecord(*r) for r in self._rows(_CONTAINER_SELECT + " ORDER BY created_ns, id")]

    # --- snapshots -----------------------------------------------------------------------------------

    def add_snapshot(self, chain_id: Digest, name: str, parent: Digest | None = None) -> SnapshotRecord:
        """Record that ``snapshots/<name>/`` holds the unpacked stack ``chain_id`` (the directory is ready)."""
        created_ns = time.time_ns()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO snapshots(chain_id, name, parent, created_ns) VALUES (?, ?, ?, ?)",
                (str(chain_id), name, str(parent) if parent else None, created_ns),
            )
        return SnapshotRecord(str(chain_id), name, str(parent) if parent else None, created_ns)

    def get_snapshot(self, chain_id: Digest) -> SnapshotRecord | None:
        row = self._conn().execute(
            "SELECT chain_id, name, parent, created_ns FROM snapshots WHERE chain_id = ?", (str(chain_id),)
        ).fetchone()
        return SnapshotRecord(*row) if row else None

    def all_snapshots(self) -> list[SnapshotRecord]:
        return [SnapshotRecord(*r) for r in self._rows("SELECT chain_id, name, parent, created_ns FROM snapshots ORDER BY created_ns")]

    def remove_snapshot(self, chain_id: Digest) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM snapshots WHERE chain_id = ?", (str(chain_id),)).rowcount > 0

    # --- health ----------------------------------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """SQLite's own findings; ``[]`` when the database file is sound."""
        try:
            messages = [r[0] for r in self._rows("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as e:
            return [str(e)]
        return [] if messages == ["ok"] else messages

    def version(self) -> int:
        return schema_version(self._conn())


@contextmanager
def _database_errors() -> Iterator[None]:
    """Turn SQLite's failures to start or finish a transaction into dockyard's categories."""
    try:
        yield
    except sqlite3.OperationalError as e:
        if e.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise Locked(f"the store database is busy: another dockyard process held it too long ({e})") from e
        raise
    except sqlite3.DatabaseError as e:
        if e.sqlite_errorcode in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            raise DataCorrupt(f"the store database is damaged: {e}") from e
        raise


def _check_state(state: str) -> None:
    if state not in CONTAINER_STATES:
        raise InvalidArgument(f"invalid container state {state!r}")


_IMAGE_SELECT = (
    "SELECT id, config_media_type, config_size, created, created_ns, parent, os, architecture, variant, size,"
    " last_tag_time, added_ns FROM images"
)
_TAG_SELECT = "SELECT name, repository, tag, image_id, manifest_digest, seq FROM tags"
_CONTAINER_SELECT = "SELECT id, image_id, name, state, created_ns FROM containers"
