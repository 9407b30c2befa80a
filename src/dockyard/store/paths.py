"""Where things live under a store root. Every path is built from a parsed value, never from raw text."""

from __future__ import annotations

import os
import re
from .._record import dataclass
from pathlib import Path

from ..digest import Digest
from ..errors import InvalidArgument

# Snapshot directory names are chosen by dockyard itself; this keeps a hostile name from leaving snapshots/.
_SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def default_root() -> Path:
    """``DOCKYARD_ROOT``, else ``/var/lib/dockyard`` for root, else the user's XDG data directory."""
    explicit = os.environ.get("DOCKYARD_ROOT")
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/var/lib/dockyard")
    xdg = os.environ.get("XDG_DATA_HOME")
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "dockyard"
    return Path.home() / ".local" / "share" / "dockyard"


def ingest_dirname(key: str) -> str:
    """Ingest keys are free text (``pull/sha256:…``); on disk they are named by their sha256."""
    import hashlib  # not at import time: listing never names an ingest

    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StorePaths:
    root: Path

    @property
    def blobs(self) -> Path:
        return self.root / "content" / "blobs"

    @property
    def ingest(self) -> Path:
        return self.root / "content" / "ingest"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def leases(self) -> Path:
        return self.root / "leases"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def database(self) -> Path:
        return self.root / "dockyard.db"

    def blob(self, digest: Digest) -> Path:
        # Re-parse: a Digest built by hand (Digest("sha256", "../x")) must never become a path.
        checked = Digest.parse(str(digest))
        return self.blobs / checked.algorithm / checked.hex

    def ingest_dir(self, key: str) -> Path:
        return self.ingest / ingest_dirname(key)

    def snapshot_dir(self, name: str) -> Path:
        if not _SNAPSHOT_NAME.fullmatch(name):
            raise InvalidArgument(f"invalid snapshot name {name!r}")
        return self.snapshots / name

    def lease_lock(self, lease_id: str) -> Path:
        if not re.fullmatch(r"[a-f0-9]{32}", lease_id):
            raise InvalidArgument(f"invalid lease id {lease_id!r}")
        return self.leases / f"{lease_id}.lock"

    def make_dirs(self) -> None:
        for directory in (self.blobs, self.ingest, self.snapshots, self.containers, self.leases, self.locks):
            directory.mkdir(parents=True, exist_ok=True)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Delete a tree even where it holds read-only directories (unpacked layers often do)."""
    import shutil

    def make_traversable(directory: str) -> None:
        try:
            os.chmod(directory, 0o700)
        except OSError:
            pass

    if not path.is_symlink() and path.is_dir():
        make_traversable(str(path))
        # Top-down: each directory is opened up before os.walk lists it.
        for dirpath, dirnames, _filenames in os.walk(path):
            for name in dirnames:
                child = os.path.join(dirpath, name)
                if not os.path.islink(child):  # chmod follows links; never touch what a link names
                    make_traversable(child)
    shutil.rmtree(path, ignore_errors=True)
