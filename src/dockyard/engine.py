"""The engine: one method per verb, shared by the CLI and (later) the Engine API server.

Front ends parse arguments and render; the engine does the work and returns data shaped like Docker's
Engine API (familiar names, ``sha256:`` IDs, Unix timestamps), so the same results serve ``docker``-style
tables, ``--format`` templates and JSON. Each area lives in its own module and is imported when first
used, so a command pays only for what it touches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from .digest import Digest
    from .oci.platform import Platform
    from .reference import Reference
    from .render.filters import Filters
    from .store import Store
    from .store.check import Problem
    from .store.listing import DiskUsage, ImageSummary
    from .store.inspection import HistoryItem
    from .store.removal import PruneReport, RemovalRecord


class Engine:
    def __init__(self, root: Path | None = None, docker_config_dir: Path | None = None) -> None:
        self._root = root
        self.docker_config_dir = docker_config_dir
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from .store import Store

            self._store = Store.open(self._root)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- local images ---------------------------------------------------------------------------------

    def images(self, *, all: bool = False, filters: Filters | None = None) -> list[ImageSummary]:
        from .store import listing

        return listing.list_images(self.store, all=all, filters=filters)

    def disk_usage(self) -> DiskUsage:
        from .store import listing

        return listing.disk_usage(self.store)

    def tag(self, source: str, target: Reference) -> None:
        from .store import images

        images.tag_image(self.store, source, target)

    def remove_image(self, name: str, *, force: bool = False, prune: bool = True) -> list[RemovalRecord]:
        from .store import removal

        return removal.remove_image(self.store, name, force=force, prune=prune)

    def prune_images(self, *, filters: Filters | None = None, dry_run: bool = False) -> PruneReport:
        from .store import removal

        return removal.prune_images(self.store, filters=filters, dry_run=dry_run)

    def inspect_image(self, name: str) -> dict[str, Any]:
        from .store import inspection

        return inspection.inspect_image(self.store, name)

    def history(self, name: str) -> list[HistoryItem]:
        from .store import inspection

        return inspection.history(self.store, name)

    def import_image(
        self,
        source: BinaryIO,
        *,
        source_name: str = "-",
        reference: Reference | None = None,
        changes: Sequence[str] = (),
        message: str = "",
        platform: Platform | None = None,
    ) -> Digest:
        from .archive import rootfs

        return rootfs.import_rootfs(
            self.store, source, source_name=source_name, reference=reference, changes=changes,
            message=message, platform=platform,
        )

    def check(self) -> list[Problem]:
        return self.store.check()

    # -- archives (save/load) and registries (pull/push/login/search) join here as they land ------------

    def resolve_many(self, names: Iterable[str]) -> list[str]:
        """Image IDs for lookup operands, in order (raises NotFound for the first one missing)."""
        from .store import images

        return [str(images.resolve_image(self.store, name).id) for name in names]
