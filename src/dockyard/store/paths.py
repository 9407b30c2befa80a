"""Where things live under a store root. Every path is built from a parsed value, never from raw text."""

from __future__ import annotations

import os
from .._lazyre import lazy_compile
from .._record import FrozenInstanceError

from ..digest import Digest
from ..errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

# Snapshot directory names are chosen by dockyard itself; this keeps a hostile name from leaving snapshots/.
_SNAPSHOT_NAME = lazy_compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_LEASE_ID = lazy_compile(r"[a-f0-9]{32}")


def default_root() -> Path:
    """``DOCKYARD_ROOT``, else ``/var/lib/dockyard`` for root, else the user's XDG data directory."""
    from pathlib import Path

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


class StorePaths:
    """The places under a store root.

    The root is kept as text and made a ``Path`` on first use: ``images`` needs only the database file
    and the directories, and importing pathlib would cost it several ms of start-up. Otherwise this
    behaves as the frozen record ``StorePaths(root: Path)`` it was.
    """

    __slots__ = ("_root_text", "_root")

    def __init__(self, root: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "_root_text", os.fspath(root))
        object.__setattr__(self, "_root", None)
        if not isinstance(root, str):
            from pathlib import Path  # already imported by whoever made the PathLike, as a rule

            object.__setattr__(self, "_root", root if isinstance(root, Path) else Path(self._root_text))

    @property
    def root(self) -> Path:
        if self._root is None:
            from pathlib import Path

            object.__setattr__(self, "_root", Path(self._root_text))
        return self._root  # type: ignore[return-value]

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self.root == other.root  # type: ignore[attr-defined, no-any-return]
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.root,))

    def __repr__(self) -> str:
        return f"StorePaths(root={self.root!r})"

    @property
    def database_file(self) -> str:
        """``database`` as text."""
        return os.path.join(self._root_text, "dockyard.db")

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
        if not _LEASE_ID.fullmatch(lease_id):
            raise InvalidArgument(f"invalid lease id {lease_id!r}")
        return self.leases / f"{lease_id}.lock"

    def make_dirs(self) -> None:
        root = self._root_text
        for directory in ("content/blobs", "content/ingest", "snapshots", "containers", "leases", "locks"):
            os.makedirs(os.path.join(root, directory), exist_ok=True)


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
