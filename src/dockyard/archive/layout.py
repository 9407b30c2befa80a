"""OCI image layout directories (formats.md §8): read one for ``load -i DIR``, write one for
``save --format oci-layout -o DIR``.

Reading presents the directory as the same stream of entries an archive gives, so ``load`` has one code
path; symlinks are reported as links (resolved inside the layout by the loader), never followed.
Writing adds blobs that are missing (each written to a temp file and renamed, verified as it streams from
the store), then replaces ``index.json`` atomically: a descriptor with the same ``ref.name`` as a new one
is replaced, every other descriptor (and blob) stays, so several saves can share one layout.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from .. import errors
from ..atomicfile import removed_on_failure, write_atomically
from .tarstream import DIRECTORY, REGULAR, SYMLINK, Entry, clean_name

if TYPE_CHECKING:
    from ..store import Store
    from .save import SavedImage

_TOP_FILES = ("oci-layout", "index.json", "manifest.json", "repositories")


def walk_layout(root: str) -> Iterator[tuple[Entry, Callable[[], IO[bytes]]]]:
    """Entries of an image layout directory: its top documents and everything under ``blobs/``."""
    if not os.path.isdir(root):
        raise errors.NotFound(f"open {root}: no such file or directory")

    def entry_for(rel: str) -> tuple[Entry, Callable[[], IO[bytes]]] | None:
        path = os.path.join(root, rel)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        import stat

        if stat.S_ISLNK(st.st_mode):
            return Entry(clean_name(rel), SYMLINK, 0, os.readlink(path)), _no_body
        if stat.S_ISDIR(st.st_mode):
            return Entry(clean_name(rel), DIRECTORY, 0), _no_body
        if stat.S_ISREG(st.st_mode):
            return Entry(clean_name(rel), REGULAR, st.st_size), lambda: _open_nofollow(path)
        return None

    for name in _TOP_FILES:
        found = entry_for(name)
        if found is not None:
            yield found
    blobs = os.path.join(root, "blobs")
    if os.path.isdir(blobs) and not os.path.islink(blobs):
        for dirpath, dirnames, filenames in os.walk(blobs):
            dirnames.sort()
            for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                found = entry_for(rel)
                if found is not None:
                    yield found


def _no_body() -> IO[bytes]:
    import io

    return io.BytesIO(b"")


def _open_nofollow(path: str) -> IO[bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    return os.fdopen(fd, "rb", buffering=1 << 20)


def _atomic_bytes(path: str, data: bytes, mode: int = 0o644) -> None:
    write_atomically(path, data, mode=mode)


def _copy_blob(store: Store, digest: Any, size: int, path: str) -> None:
    from ..digest import copy_verified

    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    with removed_on_failure(tmp):
        with os.fdopen(fd, "wb", buffering=0) as out, store.content.open(digest) as src:
            copy_verified(src, out.write, digest, size)
            os.fsync(out.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)


def write_layout(store: Store, saved: Sequence[SavedImage], root: str) -> None:
    """Write (or update) an OCI image layout directory at ``root``."""
    from ..oci import Descriptor, build_oci_index, parse_index
    from .save import REF_NAME_ANNOTATION, blobs_of, index_descriptors

    if os.path.exists(root) and not os.path.isdir(root):
        raise errors.InvalidArgument(f"failed to save image: {root} exists and is not a directory", client=True)
    os.makedirs(root, exist_ok=True)
    layout_file = os.path.join(root, "oci-layout")
    if os.path.exists(layout_file):
        try:
            version = json.loads(open(layout_file, "rb").read(1 << 16)).get("imageLayoutVersion")
        except (ValueError, AttributeError):
            version = None
        if version != "1.0.0":
            raise errors.DataCorrupt(f"{root}: unsupported OCI layout version {version!r}")
    existing: list[Descriptor] = []
    index_file = os.path.join(root, "index.json")
    if os.path.exists(index_file):
        with open(index_file, "rb") as f:
            raw = f.read((4 << 20) + 1)
        existing = list(parse_index(raw, limit=4 << 20).manifests)

    for rel, blob in sorted(blobs_of(saved).items()):
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == blob.size:
            continue  # content-addressed: the same name holds the same bytes
        if blob.data is not None:
            _atomic_bytes(path, blob.data, 0o444)
        else:
            _copy_blob(store, blob.digest, blob.size, path)

    new = index_descriptors(saved)
    new_refs = {d.annotations.get(REF_NAME_ANNOTATION) for d in new} - {None}
    new_digests = {d.digest for d in new if not d.annotations}
    kept = [
        d
        for d in existing
        if d.annotations.get(REF_NAME_ANNOTATION) not in new_refs
        and not (not d.annotations and d.digest in new_digests)
    ]
    if not os.path.exists(layout_file):
        _atomic_bytes(layout_file, b'{"imageLayoutVersion":"1.0.0"}')
    _atomic_bytes(index_file, build_oci_index(kept + new, indent=None) + b"\n")


__all__ = ["walk_layout", "write_layout"]
