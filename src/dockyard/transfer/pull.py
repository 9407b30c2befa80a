"""``docker pull``: a registry image into the local store (formats.md Appendix, cli.md §2.2).

HEAD the tag (stop at once when that manifest is already local and complete) → GET the manifest, walking
indexes to the platform wanted → config → layers in parallel. Every layer is read once from the network:
the bytes go into a content ingest (hashed there against the descriptor's digest) and through the
decompressor into the tar scanner (diff ID, sizes), so the diff IDs are checked against the config
without a second pass. Then one transaction registers the image, its manifests, the repo digest, the tag
and where each blob came from. A lease is held throughout, so a concurrent GC keeps what is in flight.

Beyond Docker (moby#26146): a dropped connection resumes with ``Range`` within the run; ingests are keyed
by the blob digest (``blob/sha256:…``), so a pull that died keeps its verified blobs and partial data and
the next pull continues from there; a second process pulling the same blob waits on the ingest lock and
then finds it committed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .. import errors
from ..digest import CHUNK, Digest
from .progress import Event, ProgressSink, Throttle, null_sink
from .scheduler import BlobGate, run_bounded

if TYPE_CHECKING:
    from ..oci.descriptor import Descriptor
    from ..oci.manifest import Index, Manifest
    from ..oci.platform import Platform
    from ..reference import Reference
    from ..registry.client import FetchedManifest, RegistryClient
    from ..registry.transport import Transport
    from ..store import LayerRecord, Store

MAX_INDEX_DEPTH = 4
MAX_RESUMES = 8  # per blob, each only after some progress
CONFIG_LIMIT = 4 << 20

LAYERS_MISMATCH = "layers from manifest don't match image configuration"


@dataclass(frozen=True)
class PullResult:
    reference: Reference  # what was asked for (tag or digest)
    image_id: str
    manifest_digest: Digest  # what the tag/digest names at the registry (an index's digest for an index)
    updated: bool  # the tag (or digest) now names a different image than before


@dataclass
class _Resolved:
    top: FetchedManifest
    chain: list[tuple[FetchedManifest, Index | Manifest, str | None]] = field(default_factory=list)

    @property
    def manifest(self) -> Manifest:
        return self.chain[-1][1]  # type: ignore[return-value]


def _short(d: Digest) -> str:
    return d.short


# -- clients ------------------------------------------------------------------------------------------


def make_transport(on_warning: Callable[[str], None] | None = None) -> Transport:
    """A transport honouring dockyard's registry settings (mirrors, insecure registries)."""
    from ..registry.hosts import Hosts
    from ..registry.settings import load_settings
    from ..registry.transport import Transport

    return Transport(hosts=Hosts(load_settings()), on_warning=on_warning)


@contextlib.contextmanager
def transport_in_use(
    transport: Transport | None, on_warning: Callable[[str], None] | None = None
) -> Iterator[Transport]:
    """The caller's transport as it is, or a new one that is closed when the block ends."""
    if transport is not None:
        yield transport
        return
    made = make_transport(on_warning)
    try:
        yield made
    finally:
        made.close()


def open_client(
    registry: str, *, transport: Transport, docker_config_dir: Path | None, push: bool = False
) -> RegistryClient:
    from ..registry.client import RegistryClient
    from ..registry.credentials import CredentialStore

    credentials = CredentialStore(docker_config_dir).for_registry(registry)
    return RegistryClient(registry, transport=transport, credentials=credentials, push=push)


def max_downloads(transport: Transport) -> int:
    return transport.hosts.settings.max_concurrent_downloads


# -- the verb -----------------------------------------------------------------------------------------


def pull(
    store: Store,
    ref: Reference,
    *,
    platform: Platform | None = None,
    progress: ProgressSink = null_sink,
    transport: Transport | None = None,
    docker_config_dir: Path | None = None,
    concurrency: int | None = None,
) -> PullResult:
    """Pull one tag or digest (a bare name means ``:latest``)."""
    with transport_in_use(transport) as transport:
        client = open_client(ref.domain, transport=transport, docker_config_dir=docker_config_dir)
        limit = concurrency or max_downloads(transport)
        return _Puller(store, client, progress, limit).pull(ref.with_default_tag() if ref.digest is None else ref, platform)


def pull_all_tags(
    store: Store,
    ref: Reference,
    *,
    platform: Platform | None = None,
    progress: ProgressSink = null_sink,
    transport: Transport | None = None,
    docker_config_dir: Path | None = None,
    concurrency: int | None = None,
) -> list[PullResult]:
    """``pull -a``: every tag the registry lists for the repository, in its order."""
    with transport_in_use(transport) as transport:
        client = open_client(ref.domain, transport=transport, docker_config_dir=docker_config_dir)
        try:
            tags = client.list_tags(ref.path)
        except errors.NotFound as exc:
            raise _named(errors.NotFound, f"repository {ref.familiar_name} not found: {exc}", exc) from exc
        except (errors.Unauthorized, errors.Forbidden) as exc:
            raise _access_denied(ref, exc) from exc
        puller = _Puller(store, client, progress, concurrency or max_downloads(transport))
        return [puller.pull(ref.with_tag(tag), platform) for tag in tags]


def _named(cls: type[errors.DockyardError], message: str, cause: BaseException) -> errors.DockyardError:
    err = cls(message)
    err.__cause__ = cause
    return err


def _access_denied(ref: Reference, exc: errors.DockyardError) -> errors.DockyardError:
    return _named(
        errors.Forbidden,
        f"pull access denied for {ref.familiar_name}, repository does not exist or may require "
        f"'docker login': {exc}",
        exc,
    )


class _Puller:
    def __init__(self, store: Store, client: RegistryClient, progress: ProgressSink, limit: int) -> None:
        self.store = store
        self.client = client
        self.progress = progress
        self.limit = limit
        self.gate = BlobGate()

    # -- steps ----------------------------------------------------------------------------------------
    def pull(self, ref: Reference, platform: Platform | None) -> PullResult:
        from ..oci.platform import host_platform

        wanted = platform or host_platform()
        label = str(ref.digest) if ref.digest is not None else ref.tag
        # Docker prints the heading once the registry has answered with the manifest: an unreachable or
        # untrusted registry, or a missing manifest, leaves stdout empty (observed with Docker 20.10).
        heading: Event | None = Event(f"Pulling from {ref.path}", id=label)
        target: str | Digest = ref.digest if ref.digest is not None else (ref.tag or "latest")
        with self.store.lease():
            try:
                head = self.client.head_manifest(ref.path, target)
            except (errors.Unauthorized, errors.Forbidden) as exc:
                raise _access_denied(ref, exc) from exc
            if head is not None:
                self.progress(heading)
                heading = None
            if head is not None and head.digest is not None:
                image_id = self._local_image(head.digest, wanted, platform is not None)
                if image_id is not None:
                    return self._finish(ref, image_id, head.digest, records=None, sources=())
            resolved = self._resolve(ref, target, wanted, platform is not None, heading)
            manifest = resolved.manifest
            if manifest.config is None:
                raise errors.Unsupported(f"{ref.familiar()}: the manifest has no config")
            config_raw = self._fetch_config(ref, manifest.config, wanted if platform is not None and len(resolved.chain) == 1 else None)
            image_id = str(manifest.config.digest)
            records = self._manifest_records(resolved)
            sources = [manifest.config.digest, *(d.digest for d in manifest.layers)]
            if self._image_complete(image_id):
                return self._finish(ref, image_id, resolved.top.digest, records=records, sources=sources)
            layers = self._fetch_layers(ref, manifest, config_raw)
            self._register(manifest.config, config_raw, layers, records)
            return self._finish(ref, image_id, resolved.top.digest, records=None, sources=sources)

    def _resolve(
        self, ref: Reference, target: str | Digest, wanted: Platform, explicit: bool, heading: Event | None = None
    ) -> _Resolved:
        from ..oci import mediatypes as mt
        from ..oci.manifest import Index, MediaTypeConflict, parse_manifest_or_index
        from ..oci.platform import select_manifest

        try:
            top = self.client.get_manifest(ref.path, target)
        except errors.NotFound as exc:
            raise _named(errors.NotFound, f"manifest for {ref.familiar()} not found: {exc}", exc) from exc
        except (errors.Unauthorized, errors.Forbidden) as exc:
            raise _access_denied(ref, exc) from exc
        if heading is not None:
            self.progress(heading)
        resolved = _Resolved(top)
        fetched, platform_text = top, None
        named: Descriptor | None = None  # the index entry that led here
        for _ in range(MAX_INDEX_DEPTH + 1):
            doc = parse_manifest_or_index(fetched.raw, fetched.media_type, reference=ref.familiar())
            if named is not None and mt.is_known_document(named.media_type) and (
                mt.is_index(named.media_type) != isinstance(doc, Index)
            ):
                # Hazard 13: the index said which kind of document this is; another kind is refused.
                raise MediaTypeConflict(
                    f"media type mismatch: index entry {named.digest} says {named.media_type}, got {fetched.media_type}"
                )
            resolved.chain.append((fetched, doc, platform_text))
            if not isinstance(doc, Index):
                return resolved
            chosen = named = select_manifest(doc.manifests, wanted)
            platform_text = str(chosen.platform) if chosen.platform is not None else None
            fetched = self.client.get_manifest(ref.path, chosen.digest)
            if fetched.digest != chosen.digest:
                raise errors.DigestMismatch(str(chosen.digest), str(fetched.digest), len(fetched.raw), what="manifest")
        raise errors.DataCorrupt(f"{ref.familiar()}: indexes nested more than {MAX_INDEX_DEPTH} deep")

    def _fetch_config(self, ref: Reference, desc: Descriptor, wanted: Platform | None) -> bytes:
        from ..digest import VerifyingReader
        from ..oci.config import ImageConfig
        from ..oci.platform import format_platform, matches, normalize

        if desc.size > CONFIG_LIMIT:
            raise errors.TooLarge(f"config {desc.digest}", CONFIG_LIMIT)
        if self.store.content.has(desc.digest):
            raw = self.store.content.read_bytes(desc.digest)
        else:
            with self.client.get_blob(ref.path, desc.digest, expected_size=desc.size) as stream:
                raw = VerifyingReader(stream, desc.digest, desc.size).read()
            self.store.content.put_bytes(raw, expected=desc.digest)
        if wanted is not None:
            # A single-platform image pulled with --platform: newest moby refuses a mismatch.
            config = ImageConfig.parse(raw)
            from ..oci.platform import Platform

            have = Platform(os=config.os, architecture=config.architecture, variant=config.variant)
            if not matches(normalize(wanted), normalize(have)):
                raise errors.NotFound(
                    f"image with reference {ref.familiar()} was found but its platform "
                    f"({format_platform(have)}) does not match the specified platform ({format_platform(wanted)})"
                )
        return raw

    def _manifest_records(self, resolved: _Resolved) -> list:
        from ..oci.manifest import Index
        from ..store import ManifestRecord

        records = []
        for position, (fetched, doc, platform_text) in enumerate(resolved.chain):
            self.store.content.put_bytes(fetched.raw, expected=fetched.digest)
            children: tuple[Digest, ...] = ()
            if isinstance(doc, Index) and position + 1 < len(resolved.chain):
                children = (resolved.chain[position + 1][0].digest,)
            records.append(
                ManifestRecord(fetched.digest, fetched.media_type, len(fetched.raw), platform_text, children)
            )
        return records

    # -- what is local ------------------------------------------------------------------------------
    def _image_complete(self, image_id: str) -> bool:
        record = self.store.meta.get_image(image_id)
        if record is None:
            return False
        content = self.store.content
        return content.has(record.config_digest) and all(content.has(layer.blob) for layer in record.layers)

    def _local_image(self, digest: Digest, wanted: Platform, explicit: bool) -> str | None:
        """The complete local image a manifest digest leads to for ``wanted``, without the network."""
        from ..oci.manifest import Index, parse_manifest_or_index
        from ..oci.platform import select_manifests

        for _ in range(MAX_INDEX_DEPTH + 1):
            record = self.store.meta.get_manifest(digest)
            if record is None or not self.store.content.has(digest):
                return None
            if not record.children:
                image_id = self.store.meta.image_for_manifest(digest)
                if image_id is None or not self._image_complete(image_id):
                    return None
                if explicit:
                    image = self.store.meta.get_image(image_id)
                    from ..oci.platform import Platform, matches, normalize

                    have = Platform(os=image.os, architecture=image.architecture, variant=image.variant)  # type: ignore[union-attr]
                    if not matches(normalize(wanted), normalize(have)):
                        return None
                return image_id
            try:
                doc = parse_manifest_or_index(self.store.content.read_bytes(digest), record.media_type)
            except errors.DockyardError:
                return None
            if not isinstance(doc, Index):
                return None
            candidates = select_manifests(doc.manifests, wanted)
            if not candidates:
                return None
            digest = candidates[0].digest
        return None

    # -- layers -------------------------------------------------------------------------------------
    def _fetch_layers(self, ref: Reference, manifest: Manifest, config_raw: bytes) -> list[LayerRecord]:
        from ..oci.config import ImageConfig

        config = ImageConfig.parse(config_raw)
        diff_ids = list(config.diff_ids)
        layers = list(manifest.layers)
        if len(diff_ids) != len(layers):
            raise errors.DataCorrupt(LAYERS_MISMATCH)
        for desc in layers:
            if desc.urls:
                # Foreign layers are fetched from their URLs only on Windows; dockyard never does.
                pass
        jobs = list(enumerate(layers))
        existing: dict[int, LayerRecord] = {}
        for i, desc in jobs:
            record = self._existing_layer(desc, diff_ids[i])
            if record is not None:
                existing[i] = record
        seen: set[str] = set()
        for i, desc in jobs:
            short = _short(desc.digest)
            if short in seen:
                continue
            seen.add(short)
            self.progress(Event("Already exists" if i in existing else "Pulling fs layer", id=short, kind="layer"))
        todo = [(i, desc) for i, desc in jobs if i not in existing]
        completion = _InOrder([_short(d.digest) for d in layers], self.progress, set(existing))

        def job(item: tuple[int, Descriptor]) -> LayerRecord:
            i, desc = item
            record = self._download_layer(ref, desc)
            if record.diff_id != diff_ids[i]:
                raise errors.DataCorrupt(LAYERS_MISMATCH)
            completion.done(i)
            return record

        def queued(item: tuple[int, Descriptor]) -> None:
            self.progress(Event("Waiting", id=_short(item[1].digest), kind="layer"))

        fetched = run_bounded(todo, job, limit=self.limit, on_queued=queued)
        out = dict(existing)
        out.update({i: record for (i, _), record in zip(todo, fetched)})
        return [out[i] for i in range(len(layers))]

    def _existing_layer(self, desc: Descriptor, diff_id: Digest) -> LayerRecord | None:
        from ..store import LayerRecord

        if not self.store.content.has(desc.digest) or self.store.meta.layer_for_blob(desc.digest) != diff_id:
            return None
        row = self.store.meta.connection().execute(
            "SELECT size, content_size FROM layers WHERE diff_id = ?", (str(diff_id),)
        ).fetchone()
        if row is None:
            return None
        return LayerRecord(diff_id, desc.digest, desc.media_type, desc.size, row[0], row[1])

    def _download_layer(self, ref: Reference, desc: Descriptor) -> LayerRecord:
        from ..errors import Locked

        short = _short(desc.digest)
        key = blob_ingest_key(desc.digest)
        with self.gate.hold(str(desc.digest)):
            if self.store.content.has(desc.digest):
                return self._local_layer(desc)
            try:
                ingest = self.store.content.writer(key, expected=desc.digest, expected_size=desc.size, wait=False)
            except Locked:
                # Another process fetches this blob right now; wait for it rather than fetch it twice.
                self.progress(Event("Waiting", id=short, kind="layer"))
                ingest = self.store.content.writer(key, expected=desc.digest, expected_size=desc.size, wait=True)
            with ingest:
                if self.store.content.has(desc.digest):
                    ingest.abort()
                    self.progress(Event("Download complete", id=short, kind="layer"))
                    return self._local_layer(desc)
                return self._stream_layer(ref, desc, ingest)

    def _local_layer(self, desc: Descriptor) -> LayerRecord:
        """A blob that is committed already (by an earlier run or another process): scan it locally."""
        from ..layers.scan import scan_compressed
        from ..store import LayerRecord

        diff_id = self.store.meta.layer_for_blob(desc.digest)
        if diff_id is not None:
            row = self.store.meta.connection().execute(
                "SELECT size, content_size FROM layers WHERE diff_id = ?", (str(diff_id),)
            ).fetchone()
            if row is not None:
                return LayerRecord(diff_id, desc.digest, desc.media_type, desc.size, row[0], row[1])
        with self.store.content.open_verified(desc.digest, desc.size) as blob:
            scan = scan_compressed(blob)
        return LayerRecord(
            scan.layer.diff_id, desc.digest, desc.media_type, desc.size, scan.layer.size, scan.layer.content_size
        )

    def _stream_layer(self, ref: Reference, desc: Descriptor, ingest) -> LayerRecord:  # type: ignore[no-untyped-def]
        from ..layers.compression import open_decompressed
        from ..layers.scan import scan_layer
        from ..store import LayerRecord

        short = _short(desc.digest)
        source = _Prefetched(
            _LayerSource(self.client, ref.path, desc, ingest, self.store.paths.ingest_dir(ingest.key) / "data",
                         Throttle(self.progress))
        )
        try:
            try:
                _, plain = open_decompressed(source)
                scan = scan_layer(plain)
                source.drain()
            except errors.DataCorrupt as exc:
                if isinstance(exc, (errors.DigestMismatch, errors.SizeMismatch)):
                    raise
                # A damaged stream: finish reading it so the digest tells whether the bytes are to blame.
                source.drain()
                self._commit(ingest, desc)
                raise
            self.progress(Event("Verifying Checksum", id=short, kind="layer"))
            self._commit(ingest, desc)
        finally:
            source.close()
        self.progress(Event("Download complete", id=short, kind="layer"))
        return LayerRecord(scan.diff_id, desc.digest, desc.media_type, desc.size, scan.size, scan.content_size)

    def _commit(self, ingest, desc: Descriptor) -> None:  # type: ignore[no-untyped-def]
        try:
            ingest.commit(expected=desc.digest, expected_size=desc.size)
        except (errors.DigestMismatch, errors.SizeMismatch) as exc:
            raise errors.DataCorrupt(f"filesystem layer verification failed for digest {desc.digest}: {exc}") from exc

    # -- registration --------------------------------------------------------------------------------
    def _register(self, config_desc: Descriptor, config_raw: bytes, layers: Sequence[LayerRecord], records: list) -> None:
        from ..oci.config import ImageConfig
        from ..gotime import parse_rfc3339_nano

        config = ImageConfig.parse(config_raw)
        created_ns: int | None = None
        if config.created:
            try:
                created_ns = parse_rfc3339_nano(config.created)
            except errors.DockyardError:
                created_ns = None
        self.store.meta.add_image(
            config_digest=config_desc.digest,
            config_media_type=config_desc.media_type,
            config_size=len(config_raw),
            created=config.created,
            created_ns=created_ns,
            os=config.os,
            architecture=config.architecture,
            variant=config.variant,
            layers=layers,
            manifests=records,
        )

    def _finish(
        self,
        ref: Reference,
        image_id: str,
        top: Digest,
        *,
        records: list | None,
        sources: Sequence[Digest],
    ) -> PullResult:
        from ..store.images import image_for_reference, set_tag

        meta = self.store.meta
        with meta.transaction():
            for record in records or ():
                meta.add_manifest(record, image_id)
            previous = image_for_reference(self.store, ref)
            if ref.digest is None:
                set_tag(self.store, ref, image_id, str(top))
            meta.add_repo_digest(ref.name, str(top), image_id)
            for digest in sources:
                meta.add_blob_source(digest, ref.domain, ref.path)
        self.progress(Event(f"Digest: {top}"))
        return PullResult(ref, image_id, top, updated=previous != image_id)


def list_tags(
    ref: Reference, *, transport: Transport | None = None, docker_config_dir: Path | None = None
) -> list[str]:
    """Every tag of a repository on any registry (``search --list-tags``), in the registry's order."""
    with transport_in_use(transport) as transport:
        client = open_client(ref.domain, transport=transport, docker_config_dir=docker_config_dir)
        try:
            return client.list_tags(ref.path)
        except errors.NotFound as exc:
            raise _named(errors.NotFound, f"repository {ref.familiar_name} not found: {exc}", exc) from exc


def search_registry(
    term: str,
    *,
    limit: int | None = None,
    transport: Transport | None = None,
    docker_config_dir: Path | None = None,
) -> list:
    """``docker search``: the v1 search API of the index the term names; on a registry without one
    (404/405/501), its ``_catalog`` filtered to names containing the term (as containers/image does)."""
    from ..registry.credentials import CredentialStore
    from ..registry.search import HUB_INDEX_NAME, DEFAULT_LIMIT, SearchResult, search, split_search_term

    index, remote = split_search_term(term)
    if limit is not None and not 1 <= limit <= 100:
        raise errors.InvalidArgument(f"limit {limit} is outside the range of [1, 100]")
    with transport_in_use(transport) as transport:
        credentials = CredentialStore(docker_config_dir).for_registry(index)
        try:
            return search(term, limit=limit, transport=transport, credentials=credentials)
        except (errors.NotFound, errors.Unsupported):
            if index == HUB_INDEX_NAME:
                raise
        client = open_client(index, transport=transport, docker_config_dir=docker_config_dir)
        names = [name for name in client.catalog() if remote in name]
        return [SearchResult(name, "", 0, False, False) for name in names[: limit or DEFAULT_LIMIT]]


def blob_ingest_key(digest: Digest) -> str:
    """Pulls of the same blob share this key, across runs and processes."""
    return f"blob/{digest}"


class _InOrder:
    """Docker extracts layers base first: "Pull complete" follows that order as downloads finish."""

    def __init__(self, ids: list[str], progress: ProgressSink, existing: set[int]) -> None:
        import threading

        self._lock = threading.Lock()
        self._ids = ids
        self._existing = set(existing)
        self._done = set(existing)
        self._next = 0
        self._progress = progress
        self._announced: set[str] = set()
        with self._lock:
            self._advance()

    def _advance(self) -> None:
        while self._next < len(self._ids) and self._next in self._done:
            ident = self._ids[self._next]
            if self._next not in self._existing and ident not in self._announced:
                self._announced.add(ident)
                self._progress(Event("Pull complete", id=ident, kind="layer"))
            self._next += 1

    def done(self, index: int) -> None:
        with self._lock:
            self._done.add(index)
            self._advance()


class _LayerSource:
    """The compressed bytes of one blob for the decompressor, in order, from wherever they are.

    First what an earlier run left in the ingest (read back from its file: the ingest already hashed it),
    then the network from that offset. Network bytes are written to the ingest as they pass. A dropped
    connection is resumed with ``Range`` from the current offset; a server that ignores the range sends
    the blob from byte 0, and the part already held is skipped.
    """

    def __init__(self, client, repo: str, desc: Descriptor, ingest, data_path: Path, progress: Throttle) -> None:  # type: ignore[no-untyped-def]
        self._client = client
        self._repo = repo
        self._desc = desc
        self._ingest = ingest
        self._progress = progress
        self._short = _short(desc.digest)
        self.position = ingest.offset
        self._prefix: BinaryIO | None = None
        self._prefix_left = self.position
        if self.position:
            self._prefix = open(data_path, "rb")  # noqa: SIM115 - closed in close()
        self._stream = None
        self._etag: str | None = None
        self._resumes = 0
        self._eof = self.position >= desc.size

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            size = CHUNK
        if self._prefix is not None and self._prefix_left > 0:
            data = self._prefix.read(min(size, self._prefix_left))
            if data:
                self._prefix_left -= len(data)
                return data
            self._prefix_left = 0
        while not self._eof:
            if self._stream is None:
                self._open()
                continue
            from ..registry.errors import StreamInterrupted

            try:
                chunk = self._stream.read(size)
            except StreamInterrupted:
                self._reopen_after_drop()
                continue
            if not chunk:
                self._eof = True
                self._close_stream()
                break
            self._ingest.write(chunk)
            self.position += len(chunk)
            self._progress(
                Event("Downloading", id=self._short, current=self.position, total=self._desc.size, kind="layer"),
                force=self.position >= self._desc.size,
            )
            return chunk
        return b""

    def _open(self) -> None:
        from ..registry.errors import StreamInterrupted

        stream = self._client.get_blob(
            self._repo, self._desc.digest, offset=self.position, expected_size=self._desc.size, if_range=self._etag
        )
        self._etag = self._etag or stream.etag
        skip = self.position - stream.offset
        while skip > 0:  # the range was ignored: drop what we hold already
            try:
                data = stream.read(min(CHUNK, skip))
            except StreamInterrupted:
                stream.close()
                self._reopen_after_drop()
                return
            if not data:
                stream.close()
                raise errors.SizeMismatch(str(self._desc.digest), self._desc.size, stream.offset + stream.received)
            skip -= len(data)
        self._stream = stream

    def _reopen_after_drop(self) -> None:
        self._close_stream()
        self._resumes += 1
        if self._resumes > MAX_RESUMES:
            raise errors.Unavailable(
                f"error pulling blob {self._desc.digest}: the connection broke {self._resumes} times"
            )

    def _close_stream(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
            self._stream = None

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def close(self) -> None:
        self._close_stream()
        if self._prefix is not None:
            self._prefix.close()
            self._prefix = None


class _Prefetched:
    """Runs a ``_LayerSource`` on its own thread, a few MiB ahead of the reader.

    The network, the ingest's sha256 and its disk writes then overlap with decompression and the diff-ID
    scan on the pulling thread (hashlib, isal and socket reads release the GIL). Bytes come out in the
    order the source produced them; an error on the fetching thread is raised to the reader once the
    bytes before it are consumed. ``drain`` and ``close`` return only after the thread has stopped, so
    a commit after ``drain`` sees every write."""

    _DEPTH = 8  # chunks of up to 1 MiB in flight

    def __init__(self, source: _LayerSource) -> None:
        import queue
        import threading

        self._source = source
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(self._DEPTH)
        self._stop = threading.Event()
        self._rest: memoryview | None = None
        self._done = False
        self._thread = threading.Thread(target=self._run, name="dockyard-fetch", daemon=True)
        self._thread.start()

    @property
    def position(self) -> int:
        return self._source.position

    def _run(self) -> None:
        item: bytes | BaseException | None
        try:
            while not self._stop.is_set():
                chunk = self._source.read(CHUNK)
                if not chunk:
                    break
                self._queue.put(chunk)
            item = None
        except BaseException as exc:  # handed to the reader, raised there
            item = exc
        self._queue.put(item)

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            size = CHUNK
        if self._rest is None:
            if self._done:
                return b""
            item = self._queue.get()
            if item is None:
                self._done = True
                self._thread.join()
                return b""
            if isinstance(item, BaseException):
                self._done = True
                self._thread.join()
                raise item
            if len(item) <= size:
                return item
            self._rest = memoryview(item)
        out = self._rest[:size]
        self._rest = self._rest[size:] if len(self._rest) > size else None
        return bytes(out)

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a fetcher waiting on a full queue
            with contextlib.suppress(Exception):
                self._queue.get(timeout=0.05)
        self._source.close()


__all__ = [
    "PullResult",
    "blob_ingest_key",
    "list_tags",
    "make_transport",
    "transport_in_use",
    "open_client",
    "pull",
    "pull_all_tags",
    "search_registry",
]
