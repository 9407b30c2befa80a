"""The engine: one method per verb, shared by the CLI and (later) the Engine API server.

Front ends parse arguments and render; the engine does the work and returns data shaped like Docker's
Engine API (familiar names, ``sha256:`` IDs, Unix timestamps), so the same results serve ``docker``-style
tables, ``--format`` templates and JSON. Each area lives in its own module and is imported when first
used, so a command pays only for what it touches.
"""

from __future__ import annotations


TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, BinaryIO
    from .digest import Digest
    from .oci.platform import Platform
    from .reference import Reference
    from .filters import Filters
    from .store import Store
    from .store.check import Problem
    from .store.listing import DiskUsage, ImageSummary
    from .store.inspection import HistoryItem
    from .store.removal import PruneReport, RemovalRecord
    from .registry.transport import Transport
    from .transfer.progress import ProgressSink
    from .transfer.pull import PullResult
    from .transfer.push import PushResult
    from .registry.credentials import AuthConfig, StoreResult
    from .registry.search import SearchResult


class Engine:
    def __init__(
        self,
        root: str | Path | None = None,
        docker_config_dir: str | Path | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        # Either may be text: a Path is made only when asked for (pathlib costs `images` start-up time).
        self._root = root
        self._docker_config_dir = docker_config_dir
        # Registry notes meant for the user (rate limits, 299 warnings); the front end prints them.
        self.on_warning = on_warning
        self._store: Store | None = None

    @property
    def docker_config_dir(self) -> Path | None:
        if isinstance(self._docker_config_dir, str):
            from pathlib import Path

            self._docker_config_dir = Path(self._docker_config_dir)
        return self._docker_config_dir

    @docker_config_dir.setter
    def docker_config_dir(self, value: str | Path | None) -> None:
        self._docker_config_dir = value

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

    # -- registries: pull, push, login, logout, search ---------------------------------------------------

    def pull(
        self,
        reference: Reference,
        *,
        all_tags: bool = False,
        platform: Platform | None = None,
        progress: ProgressSink | None = None,
        transport: Transport | None = None,
    ) -> list[PullResult]:
        from .transfer import pull

        with pull.transport_in_use(transport, self.on_warning) as transport:
            kwargs = dict(platform=platform, transport=transport, docker_config_dir=self.docker_config_dir)
            if progress is not None:
                kwargs["progress"] = progress
            if all_tags:
                return pull.pull_all_tags(self.store, reference, **kwargs)  # type: ignore[arg-type]
            return [pull.pull(self.store, reference, **kwargs)]  # type: ignore[arg-type]

    def push(
        self,
        reference: Reference,
        *,
        all_tags: bool = False,
        progress: ProgressSink | None = None,
        transport: Transport | None = None,
    ) -> list[PushResult]:
        from .transfer import push
        from .transfer.pull import transport_in_use

        with transport_in_use(transport, self.on_warning) as transport:
            return push.push(
                self.store, reference, all_tags=all_tags, progress=progress, transport=transport,
                docker_config_dir=self.docker_config_dir,
            )

    def login(self, server: str, username: str, password: str, *, transport: Transport | None = None) -> StoreResult:
        """Check the credentials against the registry (``server`` is a config key: ``host[:port]`` or the
        Hub URL), then store them as ``docker login`` does (with an identity token if one was issued)."""
        from .registry.client import RegistryClient
        from .registry.credentials import HUB_SERVER_KEY, AuthConfig, CredentialStore, convert_to_hostname
        from .registry.hosts import HUB_DOMAIN
        from .transfer.pull import transport_in_use

        registry = HUB_DOMAIN if server == HUB_SERVER_KEY else convert_to_hostname(server)
        with transport_in_use(transport) as transport:
            creds = AuthConfig(username=username, password=password, server_address=server)
            identity = RegistryClient(registry, transport=transport, credentials=creds, push=True).login()
        return CredentialStore(self.docker_config_dir).store(server, username, password, identity_token=identity or "")

    def stored_credentials(self, server: str) -> AuthConfig:
        from .registry.credentials import CredentialStore

        return CredentialStore(self.docker_config_dir).get(server)

    def logout(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        """Erase credentials under each config key (``docker logout`` tries several spellings of a
        server); returns (key, error) for those that failed."""
        from .errors import DockyardError
        from .registry.credentials import CredentialStore

        store = CredentialStore(self.docker_config_dir)
        failures: list[tuple[str, str]] = []
        for key in keys:
            try:
                store.erase(key)
            except DockyardError as exc:
                failures.append((key, str(exc)))
        return failures

    def search(self, term: str, *, limit: int | None = None, transport: Transport | None = None) -> list[SearchResult]:
        from .transfer.pull import search_registry

        return search_registry(term, limit=limit, transport=transport, docker_config_dir=self.docker_config_dir)

    def list_tags(self, name: Reference, *, transport: Transport | None = None) -> list[str]:
        from .transfer.pull import list_tags

        return list_tags(name, transport=transport, docker_config_dir=self.docker_config_dir)

    # -- save and load --------------------------------------------------------------------------------

    def save(
        self,
        names: Sequence[str],
        *,
        output: str | None = None,
        sink: BinaryIO | None = None,
        layout_dir: str | None = None,
        platform: Platform | None = None,
        compress: str | None = None,
    ) -> None:
        """``docker save`` to a file (atomic), a stream, or an OCI layout directory."""
        from .archive import layout, save

        if layout_dir is not None:
            layout.write_layout(self.store, save.select_images(self.store, names, platform), layout_dir)
        elif output is not None:
            save.save_to_file(self.store, names, output, platform=platform, compress=compress)
        else:
            save.save(self.store, names, sink, platform=platform, compress=compress)

    def load(
        self, source: BinaryIO | str, *, platform: Platform | None = None, progress: ProgressSink | None = None
    ) -> Any:
        """``docker load`` from an archive stream or an OCI layout directory; returns a LoadResult.

        ``progress`` gets ``Loading layer`` events per layer while the archive streams."""
        from .archive import load

        return load.load(self.store, source, platform=platform, progress=progress)
