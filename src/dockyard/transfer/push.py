"""``docker push``: local images to a registry (formats.md §3.6–3.7, Appendix; cli.md §2.3).

Per image: pick the manifest to send — one stored for the image whose blobs are all here (a pulled image
goes back byte for byte, so its digest stays), else a Docker v2 manifest built from gzip blobs and stored,
so the next push sends the same bytes. Layers kept uncompressed (``import``) or zstd-compressed (with no
stored manifest naming them) are gzip-compressed once with isal and that blob is recorded beside the
stored one (``layer_blobs``), so the compression is paid once.
Per blob: HEAD (``Layer already exists``) → cross-repository mount when ``blob_sources`` knows another
repository of the same registry (``Mounted from …``) → upload (``Pushed``). Then the config, then the
manifest by tag. Blobs are re-verified while they are read (hazard 24).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import errors
from ..digest import CHUNK, Digest
from .progress import Event, ProgressSink, Throttle, null_sink
from .pull import open_client, transport_in_use
from .scheduler import run_bounded

if TYPE_CHECKING:
    from ..digest import Readable
    from ..oci.descriptor import Descriptor
    from ..reference import Reference
    from ..registry.client import RegistryClient
    from ..registry.transport import Transport
    from ..store import ImageRecord, Store


@dataclass(frozen=True)
class PushResult:
    reference: Reference  # name:tag as pushed
    image_id: str
    digest: Digest
    size: int


def push(
    store: Store,
    ref: Reference,
    *,
    all_tags: bool = False,
    progress: ProgressSink | None = None,
    transport: Transport | None = None,
    docker_config_dir: Path | None = None,
    concurrency: int | None = None,
) -> list[PushResult]:
    """Push ``ref`` (a tag; a bare name means ``:latest``), or with ``all_tags`` every local tag of it."""
    from ..store.images import image_for_reference

    progress = progress or null_sink
    # As moby's Push: the heading comes first, so the lookups below already fail inside the stream.
    progress(Event(f"The push refers to repository [{ref.name}]"))
    in_repository = [(ref.with_tag(row.tag), row.image_id) for row in store.meta.all_tags()
                     if row.repository == ref.name]
    if not in_repository:  # moby checks the repository before the tag, whatever was asked for
        raise errors.NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
    targets: list[tuple[Reference, str]] = in_repository
    if not all_tags:
        tagged = ref.with_default_tag()
        image_id = image_for_reference(store, tagged)
        if image_id is None:
            raise errors.NotFound(f"tag does not exist: {tagged.familiar()}")
        targets = [(tagged, image_id)]
    with transport_in_use(transport) as transport:
        client = open_client(ref.domain, transport=transport, docker_config_dir=docker_config_dir, push=True)
        limit = concurrency or transport.hosts.settings.max_concurrent_uploads
        pusher = _Pusher(store, client, progress, limit)
        # Docker reaches the registry before any layer is listed: an unreachable or untrusted registry
        # fails right after the heading, with no "Preparing" lines.
        client.ping()
        with store.lease():
            return [pusher.push_image(target, image_id) for target, image_id in targets]


class _VerifiedUpload:
    """A committed blob read for an upload: counted for progress and re-hashed (checked at its end)."""

    def __init__(self, store: Store, digest: Digest, size: int, on_read) -> None:  # type: ignore[no-untyped-def]
        self._reader = store.content.open_verified(digest, size)
        self._size = size
        self._sent = 0
        self._on_read = on_read

    def read(self, n: int = -1) -> bytes:
        data = self._reader.read(n)
        self._sent += len(data)
        if self._sent >= self._size:
            self._reader.verify_to_end()
        if data:
            self._on_read(self._sent)
        return data

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> _VerifiedUpload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Pusher:
    def __init__(self, store: Store, client: RegistryClient, progress: ProgressSink, limit: int) -> None:
        self.store = store
        self.client = client
        self.progress = progress
        self.limit = limit

    def push_image(self, ref: Reference, image_id: str) -> PushResult:
        image = self.store.meta.get_image(image_id)
        if image is None:
            raise errors.NotFound(f"No such image: {image_id}")
        stored = self._stored_manifest(image)
        # One job per distinct blob, named by its layer's short diff ID: a layer a built manifest needs is
        # gzip-compressed (unless a gzip blob is recorded for it) and uploaded in the same job, so
        # compression runs on every core and each upload starts as soon as its blob is ready.
        jobs: dict[str, tuple[str, Callable[[], Descriptor]]] = {}
        if stored is not None:
            raw, media_type, config, layers = stored
            ids = [layer.diff_id.short for layer in image.layers]
            if len(ids) != len(layers):
                ids = [d.digest.short for d in layers]
            keys = [str(d.digest) for d in layers]
            for key, ident, desc in zip(keys, ids, layers):
                jobs.setdefault(key, (ident, lambda desc=desc: desc))
        else:
            keys = [str(layer.diff_id) for layer in image.layers]
            for key, layer in zip(keys, image.layers):
                jobs.setdefault(key, (layer.diff_id.short, lambda layer=layer: self._gzip_blob(
                    layer.diff_id, layer.blob, layer.media_type)))
        for ident in dict.fromkeys(ident for ident, _ in jobs.values()):
            self.progress(Event("Preparing", id=ident, kind="layer"))

        def job(key: str) -> Descriptor:
            ident, blob = jobs[key]
            desc = blob()
            self._push_blob(ref, ident, desc)
            return desc

        def queued(key: str) -> None:
            self.progress(Event("Waiting", id=jobs[key][0], kind="layer"))

        unique = list(jobs)
        pushed = dict(zip(unique, run_bounded(unique, job, limit=self.limit, on_queued=queued)))
        if stored is None:
            raw, media_type, config, layers = self._build_manifest(image, [pushed[key] for key in keys])
        self._push_blob(ref, None, config)
        repo = ref.path
        digest = self.client.put_manifest(repo, ref.tag or "latest", raw, media_type)
        meta = self.store.meta
        with meta.transaction():
            meta.add_repo_digest(ref.name, str(digest), image_id)
            for desc in (config, *layers):
                meta.add_blob_source(desc.digest, ref.domain, repo)
        self.progress(Event(f"digest: {digest} size: {len(raw)}", id=ref.tag))
        return PushResult(ref, image_id, digest, len(raw))

    # -- manifest -----------------------------------------------------------------------------------
    def _stored_manifest(self, image: ImageRecord) -> tuple[bytes, str, Descriptor, list[Descriptor]] | None:
        """(bytes, media type, config descriptor, layer descriptors) of a manifest stored for the image
        whose blobs are all here: a pulled image goes back byte for byte, so its digest stays."""
        from ..oci.manifest import Manifest, parse_manifest_or_index

        content = self.store.content
        for record in self.store.meta.manifests_for(image.id):
            if record.children or not content.has(record.digest):
                continue
            try:
                raw = content.read_bytes(record.digest)
                doc = parse_manifest_or_index(raw, record.media_type)
            except errors.DockyardError:
                continue
            if not isinstance(doc, Manifest) or doc.config is None or str(doc.config.digest) != image.id:
                continue
            if all(content.has(d.digest) for d in doc.layers):
                return raw, doc.media_type, doc.config, list(doc.layers)
        return None

    def _build_manifest(
        self, image: ImageRecord, layers: list[Descriptor]
    ) -> tuple[bytes, str, Descriptor, list[Descriptor]]:
        """A Docker v2 manifest over the image's gzip layers, stored so the next push sends the same bytes."""
        from ..oci import mediatypes as mt
        from ..oci.descriptor import Descriptor
        from ..oci.manifest import build_docker_manifest
        from ..store import ManifestRecord

        config = Descriptor(mt.DOCKER_CONFIG, image.config_digest, image.config_size)
        raw = build_docker_manifest(config, layers)
        digest = self.store.content.put_bytes(raw)
        self.store.meta.add_manifest(ManifestRecord(digest, mt.DOCKER_MANIFEST, len(raw)), image.id)
        return raw, mt.DOCKER_MANIFEST, config, layers

    def _gzip_blob(self, diff_id: Digest, blob: Digest, media_type: str) -> Descriptor:
        """A gzip representation of the layer: a recorded one, else made now with isal and recorded."""
        from ..digest import VerifyingReader
        from ..layers.compression import Compression, compressing_writer, open_decompressed
        from ..oci import mediatypes as mt
        from ..oci.descriptor import Descriptor

        content = self.store.content
        for digest, kind, size in self.store.meta.layer_blobs_for(diff_id):
            if kind in mt.GZIP_LAYER_TYPES and content.has(digest):
                return Descriptor(mt.DOCKER_LAYER_GZIP, digest, size)
        ingest = content.writer(f"push-gzip/{diff_id}/{uuid.uuid4().hex}")
        try:
            ingest.truncate(0)
            with content.open_verified(blob) as stored, compressing_writer(ingest, Compression.GZIP) as gz:
                source: Readable = stored
                if mt.layer_compression(media_type) is not None:
                    # A zstd layer (e.g. from a docker-save archive) goes out as gzip, as Docker pushes
                    # layers; what it decompresses to must still be the layer the config names.
                    _, plain = open_decompressed(stored)
                    source = VerifyingReader(plain, diff_id)
                while chunk := source.read(CHUNK):
                    gz.write(chunk)
            size = ingest.offset
            digest = ingest.commit()
        except BaseException:
            ingest.abort()
            raise
        self.store.meta.add_layer_blob(digest, diff_id, mt.DOCKER_LAYER_GZIP, size)
        return Descriptor(mt.DOCKER_LAYER_GZIP, digest, size)

    # -- blobs --------------------------------------------------------------------------------------
    def _push_blob(self, ref: Reference, ident: str | None, desc: Descriptor) -> None:
        repo = ref.path

        def say(status: str, **kw: int) -> None:
            if ident is not None:
                self.progress(Event(status, id=ident, kind="layer", **kw))

        if self.client.head_blob(repo, desc.digest) is not None:
            say("Layer already exists")
            return
        for source in self.store.meta.blob_sources(desc.digest):
            if source.registry != ref.domain or source.repository == repo:
                continue
            try:
                mounted = self.client.mount_blob(repo, desc.digest, source.repository)
            except (errors.NotFound, errors.Unauthorized, errors.Forbidden, errors.InvalidArgument):
                continue
            if mounted:
                say(f"Mounted from {source.repository}")
                return
            break  # the registry opened an upload session instead; the upload below uses it
        throttle = Throttle(self.progress)

        def on_read(sent: int) -> None:
            if ident is not None:
                throttle(Event("Pushing", id=ident, current=sent, total=desc.size, kind="layer"),
                         force=sent >= desc.size)

        self.client.upload_blob(
            repo, desc.digest, desc.size, lambda: _VerifiedUpload(self.store, desc.digest, desc.size, on_read)
        )
        say("Pushed")


__all__ = ["PushResult", "push"]
