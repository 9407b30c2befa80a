"""``docker load``: docker-save archives (legacy and Docker 25+), OCI archives and OCI layout directories.

One sequential pass over the archive (formats.md §7.3, §8). Entries come in any order and
``manifest.json`` is often last, so every entry is dealt with as it passes:
- small JSON documents (configs, manifests, indexes, ``manifest.json``, ``repositories``) are kept in
  memory, each capped, the lot capped too;
- everything else is treated as a layer: streamed into a content-store ingest while its diff ID is computed
  (``layers.scan``); plain tars are stored as they are, gzip/zstd ones stay compressed (their diff ID comes
  from decompressing on the fly), bzip2/xz ones are stored decompressed (no registry media type exists for
  them). A blob named by its digest (``blobs/sha256/<hex>``) is verified against that name, and not
  written again when the store already has it;
- symlinks and hardlinks are remembered and resolved inside the archive only, with cycle detection.
Each layer's reading is reported as progress events as it passes (``Loading layer``, bytes of the entry
against its size in the tar header); see ``_LayerProgress``.
Once the pass is over the manifests are read, every diff ID is checked against its config (hazard 15),
and the images and tags are registered in one transaction. Everything runs under a lease: a failure (or
a kill) leaves at most unreferenced blobs that GC takes, never a tag or an image.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import errors
from ..digest import Digest
from ..errors import DataCorrupt, DockyardError, InvalidArgument, TooLarge
from .tarstream import DIRECTORY, HARDLINK, REGULAR, SYMLINK, Entry, TarReader, clean_name

if TYPE_CHECKING:
    from ..oci import ImageConfig, Manifest, Platform
    from ..reference import Reference
    from ..store import Store
    from ..transfer.progress import ProgressSink

DOCUMENT_LIMIT = 4 << 20  # manifest.json, index.json, manifests (hazard 9)
CONFIG_LIMIT = 8 << 20  # configs with long histories outgrow 4 MiB
KEPT_DOCUMENTS_LIMIT = 256 << 20  # all documents held in memory at once
DEFAULT_MAX_OUTPUT = 1 << 38  # uncompressed bytes of the outer archive and of each layer (bombs, hazard 8)
MAX_LINK_HOPS = 40
_PEEK = 18
_DOC_NAMES = frozenset({"manifest.json", "index.json", "oci-layout", "repositories"})

IMAGE_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class StoredLayer:
    digest: Digest  # the blob as stored
    diff_id: Digest
    media_type: str
    blob_size: int
    size: int  # uncompressed tar size
    content_size: int


@dataclass
class _Image:
    config_raw: bytes
    config: ImageConfig
    config_media_type: str
    layers: list[StoredLayer]
    tags: list[Reference]
    manifests: list[tuple[bytes, str]] = field(default_factory=list)  # (raw, media type), kept as they came
    parent: Digest | None = None

    @property
    def id(self) -> str:
        return str(self.config.id)


@dataclass(frozen=True)
class LoadResult:
    lines: list[str]  # what docker load prints, in order
    image_ids: list[str]  # loaded images in archive order


# --- collecting the archive's contents ------------------------------------------------------------------


def _digest_of_name(name: str) -> Digest | None:
    """``blobs/<alg>/<hex>`` names its content; anything else does not."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "blobs":
        return None
    try:
        return Digest.parse(f"{parts[1]}:{parts[2]}")
    except errors.InvalidDigest:
        return None


def _looks_like_document(name: str, head: bytes) -> bool:
    base = posixpath.basename(name)
    if name in _DOC_NAMES or base in ("json", "VERSION") or base.endswith(".json"):
        return True
    return head.lstrip(b" \t\r\n")[:1] in (b"{", b"[")


class _Collector:
    """Takes the archive's entries one by one; afterwards answers lookups by archive path."""

    def __init__(self, store: Store, *, max_output: int, progress: ProgressSink | None = None) -> None:
        self.store = store
        self.max_output = max_output
        self.progress = progress
        self.documents: dict[str, bytes] = {}
        self.oversized: dict[str, int] = {}  # documents past their cap: fatal only if someone needs them
        self.layers: dict[str, StoredLayer] = {}
        self.unreadable: dict[str, str] = {}  # entries that are neither documents nor layer tars
        self.links: dict[str, str] = {}
        self.seen: set[str] = set()
        self._kept = 0

    # -- intake --

    def take(self, entry: Entry, body: Callable[[int], bytes]) -> None:
        if entry.type == DIRECTORY or not entry.name:
            return
        if entry.name in self.seen:
            raise DataCorrupt(f"invalid archive: duplicate entry {entry.name!r}")
        self.seen.add(entry.name)
        if entry.type == SYMLINK:
            self.links[entry.name] = _link_target(entry.name, entry.linkname)
        elif entry.type == HARDLINK:
            self.links[entry.name] = clean_name(entry.linkname)
        elif entry.type == REGULAR:
            self._take_file(entry, _EntryBody(body))

    def _take_file(self, entry: Entry, body: _EntryBody) -> None:
        from ..layers.compression import read_up_to

        head = read_up_to(body, _PEEK)
        if _looks_like_document(entry.name, head):
            limit = CONFIG_LIMIT
            if entry.size > limit:
                self.oversized[entry.name] = entry.size
                if entry.name in _DOC_NAMES or not head.lstrip()[:1] in (b"{", b"["):
                    return  # skipped unread; an error only if the archive's manifests need it
                # A big JSON-looking blob may still be a layer whose first file is named "{…"; store it.
            else:
                data = head + read_up_to(body, entry.size - len(head))
                self._kept += len(data)
                if self._kept > KEPT_DOCUMENTS_LIMIT:
                    raise TooLarge("documents in the archive", KEPT_DOCUMENTS_LIMIT)
                named = _digest_of_name(entry.name)
                if named is not None:
                    actual = Digest.of(data, named.algorithm)
                    if actual != named:
                        raise errors.DigestMismatch(str(named), str(actual), len(data), what=entry.name)
                self.documents[entry.name] = data
                return
        self._take_layer(entry, head, body)

    def _take_layer(self, entry: Entry, head: bytes, body: _EntryBody) -> None:
        from ..layers.compression import Compression, PrefixedStream, detect
        from ..layers.scan import scan_compressed, scan_layer
        from ..oci import mediatypes as mt

        named = _digest_of_name(entry.name)
        content = self.store.content
        ingest = None
        shown: _LayerProgress | None = None
        if named is None or not content.has(named):
            ingest = content.writer(f"load/{uuid.uuid4().hex}")
            if self.progress is not None:
                # A blob the store has is only verified: Docker shows nothing for a layer it has.
                shown = _LayerProgress(self.progress, _provisional_id(entry.name, named), entry.size, len(head), body)
                body = shown  # type: ignore[assignment]
        source = PrefixedStream(head, body)
        compression = detect(head)
        try:
            try:
                if compression is Compression.NONE:
                    scan = scan_layer(_Capped(source, self.max_output), sink=ingest)
                    blob, blob_size, media_type = scan.diff_id, scan.size, mt.OCI_LAYER
                elif compression in (Compression.GZIP, Compression.ZSTD):
                    cs = scan_compressed(source, self.max_output, compressed_sink=ingest)
                    scan = cs.layer
                    blob, blob_size = cs.compressed_digest, cs.compressed_size
                    media_type = mt.OCI_LAYER_GZIP if compression is Compression.GZIP else mt.OCI_LAYER_ZSTD
                else:
                    cs = scan_compressed(source, self.max_output, sink=ingest)
                    scan = cs.layer
                    blob, blob_size, media_type = scan.diff_id, scan.size, mt.OCI_LAYER
            except TooLarge:
                raise
            except DataCorrupt as err:
                # Not a layer tar (an artifact blob, a VERSION file): fatal only if a manifest names it.
                self.unreadable[entry.name] = err.message
                if ingest is not None:
                    ingest.abort()
                    ingest = None
                if shown is not None:
                    shown.drop()
                return
            if named is not None and blob != named:
                raise errors.DigestMismatch(str(named), str(blob), blob_size, what=entry.name)
            if ingest is not None:
                had = shown is not None and content.has(blob)
                ingest.commit(expected=blob, expected_size=blob_size)
                ingest = None
                if shown is not None:
                    # The diff ID names the layer as Docker does; known only now, for a legacy layer.tar.
                    if had:
                        shown.drop()
                    else:
                        shown.finish(scan.diff_id.hex[:12])
            self.layers[entry.name] = StoredLayer(blob, scan.diff_id, media_type, blob_size, scan.size, scan.content_size)
        finally:
            if ingest is not None:
                ingest.abort()  # a random key: nobody could resume it

    # -- lookups --

    def resolve(self, path: str) -> str:
        """Follow links component by component, inside the archive only (hazard 17)."""
        name = clean_name(path)
        parts = name.split("/") if name else []
        current = ""
        hops = 0
        for part in parts:
            current = f"{current}/{part}" if current else part
            visited: set[str] = set()
            while current in self.links:
                if current in visited or hops >= MAX_LINK_HOPS:
                    raise DataCorrupt(f"invalid archive: {path}: link cycle detected")
                visited.add(current)
                hops += 1
                current = self.links[current]
        return current

    def has(self, path: str) -> bool:
        name = self.resolve(path)
        return name in self.documents or name in self.layers or name in self.oversized or name in self.unreadable

    def document(self, path: str, what: str, limit: int = DOCUMENT_LIMIT) -> bytes:
        name = self.resolve(path)
        if name in self.oversized or (name in self.documents and len(self.documents[name]) > limit):
            raise TooLarge(f"{what} {path}", limit)
        if name in self.documents:
            return self.documents[name]
        if name in self.layers or name in self.unreadable:
            raise DataCorrupt(f"invalid archive: {what} {path} is not a JSON document")
        raise _Missing(path)

    def layer(self, path: str) -> StoredLayer:
        name = self.resolve(path)
        if name in self.layers:
            return self.layers[name]
        if name in self.unreadable:
            raise DataCorrupt(f"invalid archive: layer {path}: {self.unreadable[name]}")
        if name in self.documents or name in self.oversized:
            raise DataCorrupt(f"invalid archive: layer {path} is not a tar archive")
        raise _Missing(path)


class _Missing(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class _EntryBody:
    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read

    def read(self, size: int = -1, /) -> bytes:
        return self._read(size)


class _LayerProgress:
    """Reads a layer entry's body and reports it: moby's ``Loading layer`` events, bytes against size.

    A layer is shown under a provisional id (the short hex its archive name carries) while it streams;
    the last event relabels it with its diff ID, which is what Docker shows (observed against a 20.10
    engine: the diff ID, not the chain ID or the v1 directory name), and which a legacy archive reveals
    only once the layer has been read. A layer that turns out to be in the store already, or not to be
    a layer, is dropped from the view: Docker prints nothing for layers it has.
    """

    STATUS = "Loading layer"

    def __init__(self, sink: ProgressSink, ident: str, size: int, done: int, body: _EntryBody) -> None:
        from ..transfer.progress import Throttle

        self._sink = sink
        self._throttle = Throttle(sink)
        self._ident = ident
        self._size = size
        self._done = done
        self._body = body
        self._throttle(self._event(), force=True)

    def _event(self, label: str | None = None) -> Any:
        from ..transfer.progress import LAYER, Event

        return Event(self.STATUS, id=self._ident, current=self._done, total=self._size, kind=LAYER, label=label)

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._body.read(size)
        self._done += len(chunk)
        self._throttle(self._event())
        return chunk

    def finish(self, label: str) -> None:
        self._done = self._size
        self._sink(self._event(label))

    def drop(self) -> None:
        from ..transfer.progress import DROP, Event

        self._sink(Event(self.STATUS, id=self._ident, kind=DROP))


def _provisional_id(name: str, named: Digest | None) -> str:
    """The short id a layer is shown under until its diff ID is known: its blob digest or its directory."""
    if named is not None:
        return named.hex[:12]
    base = posixpath.basename(name)
    if base == "layer.tar" and "/" in name:
        base = posixpath.basename(posixpath.dirname(name))  # legacy <v1 id>/layer.tar
    return base.split(".", 1)[0][:12] or name[:12]


class _Capped:
    """Caps an uncompressed layer as open_decompressed caps the others."""

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self._count = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._inner.read(size)
        self._count += len(chunk)
        if self._count > self._limit:
            raise TooLarge("layer", self._limit)
        return chunk


def _link_target(name: str, target: str) -> str:
    if target.startswith("/"):
        raise errors.BreakoutError(f"invalid archive: symlink {name} -> {target} points outside the archive")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if joined == ".." or joined.startswith("../"):
        raise errors.BreakoutError(f"invalid archive: symlink {name} -> {target} points outside the archive")
    return "" if joined == "." else joined


# --- reading the manifests ------------------------------------------------------------------------------


def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataCorrupt(f"invalid archive: {what} is not valid JSON: {err}") from err


def _check_layers(config: ImageConfig, layers: Sequence[StoredLayer]) -> None:
    """moby tarexport/load.go's checks (hazard 15)."""
    diff_ids = config.diff_ids
    if len(layers) != len(diff_ids):
        raise DataCorrupt(
            f"invalid manifest, layers length mismatch: expected {len(diff_ids)}, got {len(layers)}"
        )
    for i, (layer, want) in enumerate(zip(layers, diff_ids)):
        if layer.diff_id != want:
            raise DataCorrupt(f"invalid diffID for layer {i}: expected {want!s}, got {layer.diff_id!s}")


def _repo_tag(text: Any) -> Reference:
    from ..reference import parse_normalized

    if not isinstance(text, str):
        raise DataCorrupt(f"invalid archive: RepoTags entry {text!r} is not a string")
    try:
        ref = parse_normalized(text)
    except errors.InvalidReference as err:
        raise InvalidArgument(err.message) from err
    if ref.tag is None or ref.digest is not None:
        raise InvalidArgument(f'invalid tag "{text}"')
    return ref


def _platform_ok(config: ImageConfig, wanted: Platform | None) -> bool:
    if wanted is None:
        return True
    from ..oci.platform import Platform, matches, normalize

    have = Platform(os=config.os, architecture=config.architecture, variant=config.variant or "")
    return matches(wanted, normalize(have))


def _from_docker_manifest(col: _Collector, platform: Platform | None) -> list[_Image]:
    from ..oci import ImageConfig
    from ..oci import mediatypes as mt

    doc = _json(col.document("manifest.json", "manifest"), "manifest.json")
    if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
        raise DataCorrupt("invalid archive: manifest.json must be a list of objects")
    by_config = _manifests_by_config(col)
    images: list[_Image] = []
    missing: list[str] = []
    for entry in doc:
        config_path = entry.get("Config")
        layer_paths = entry.get("Layers") or []
        if not isinstance(config_path, str) or not isinstance(layer_paths, list):
            raise DataCorrupt("invalid archive: manifest.json entry needs Config and Layers")
        try:
            raw = col.document(config_path, "config", CONFIG_LIMIT)
        except _Missing as m:
            missing.append(m.path)
            raw = None
        layers: list[StoredLayer] = []
        for path in layer_paths:
            if not isinstance(path, str):
                raise DataCorrupt(f"invalid archive: layer path {path!r} is not a string")
            try:
                layers.append(col.layer(path))
            except _Missing as m:
                missing.append(m.path)
        if raw is None or len(layers) != len(layer_paths):
            continue
        config = ImageConfig.parse(raw, limit=CONFIG_LIMIT)
        _check_layers(config, layers)
        tags = [_repo_tag(t) for t in (entry.get("RepoTags") or [])]
        parent = None
        if isinstance(entry.get("Parent"), str):
            try:
                parent = Digest.parse(entry["Parent"])
            except errors.InvalidDigest:
                parent = None
        if not _platform_ok(config, platform):
            continue
        image = _Image(raw, config, mt.DOCKER_CONFIG, layers, tags, parent=parent)
        for manifest in by_config.get(str(config.id), []):
            if [d.digest for d in manifest.layers] == [layer.digest for layer in layers]:
                image.manifests.append((manifest.raw, manifest.media_type))
                break
        images.append(image)
    if missing:
        raise DataCorrupt(f"invalid archive: missing blobs: {', '.join(missing)}")
    if not images and doc and platform is not None:
        from ..oci.platform import format_platform

        # containerd's `export --all-platforms` lists only the host's image in manifest.json; the
        # others are in the archive all the same, reachable through index.json.
        others = _platform_from_index(col, platform)
        if others:
            return others
        raise errors.NotFound(f"no image in the archive matches the platform {format_platform(platform)}")
    return images


def _platform_from_index(col: _Collector, platform: Platform) -> list[_Image]:
    """The images of index.json for ``platform``; none when there is no usable index or no such image."""
    if "index.json" not in col.documents or "oci-layout" not in col.documents:
        return []
    try:
        found = _from_oci_index(col, platform)
    except (DockyardError, _Missing):
        return []  # the index lacks that platform's blobs (an export of the host's only): not found stands
    # A plain manifest in index.json carries no platform of its own; its config decides.
    return [image for image in found if _platform_ok(image.config, platform)]


def _manifests_by_config(col: _Collector) -> dict[str, list[Manifest]]:
    """Image manifests of a Docker 25+ archive's index.json, by config digest (best effort)."""
    out: dict[str, list[Manifest]] = {}
    if "index.json" not in col.documents:
        return out
    try:
        for _names, manifest in _walk_index(col, None, every_platform=True):
            if manifest.config is not None:
                out.setdefault(str(manifest.config.digest), []).append(manifest)
    except (DockyardError, _Missing):
        return {}
    return out


def _blob_path(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _walk_index(
    col: _Collector, platform: Platform | None, *, every_platform: bool = False
) -> Iterator[tuple[list[Reference], Manifest]]:
    """(names, image manifest) for each entry of index.json, descending into nested indexes."""
    from ..oci import mediatypes as mt
    from ..oci import parse_index

    raw = col.document("index.json", "index")
    index = parse_index(raw, limit=DOCUMENT_LIMIT)
    for desc in index.manifests:
        names = _names_of(desc.annotations)
        if not mt.is_known_document(desc.media_type):
            continue
        for manifest in _descend(col, desc, platform, every_platform, depth=0):
            yield names, manifest


def _descend(col: _Collector, desc: Any, platform: Platform | None, every_platform: bool, depth: int) -> Iterator[Manifest]:
    from ..oci import Manifest, mediatypes as mt, parse_manifest_or_index
    from ..oci.platform import host_platform, is_attestation, select_manifests

    if depth > 8:
        raise DataCorrupt("invalid archive: indexes nested too deeply")
    raw = col.document(_blob_path(desc.digest), "manifest")
    if len(raw) != desc.size:
        raise errors.SizeMismatch(str(desc.digest), desc.size, len(raw))
    doc = parse_manifest_or_index(raw, desc.media_type, limit=DOCUMENT_LIMIT)
    if isinstance(doc, Manifest):
        if doc.is_image:
            yield doc
        return
    if every_platform:
        chosen = [d for d in doc.known_manifests if not is_attestation(d)]
    else:
        images = [d for d in doc.known_manifests if not is_attestation(d)]
        chosen = select_manifests(images, platform or host_platform())[:1]
        if not chosen and platform is None and len(images) == 1:
            chosen = images  # a single-platform index of another architecture: take what there is
        if not chosen:
            from ..oci.platform import no_match_error

            raise no_match_error(platform or host_platform())
    for child in chosen:
        if mt.is_known_document(child.media_type):
            yield from _descend(col, child, platform, every_platform, depth + 1)


def _names_of(annotations: Any) -> list[Reference]:
    """containerd's naming: the full name annotation, else a ref.name that is itself a full reference."""
    from ..reference import parse_normalized

    for key in (IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION):
        text = annotations.get(key)
        if not text:
            continue
        if key == REF_NAME_ANNOTATION and "/" not in text and ":" not in text:
            return []  # just a tag ("latest"): no repository to put it in
        try:
            ref = parse_normalized(text)
        except errors.InvalidReference:
            return []
        if ref.digest is not None:
            return []
        return [ref.with_default_tag()]
    return []


def _from_oci_index(col: _Collector, platform: Platform | None) -> list[_Image]:
    from ..oci import ImageConfig

    layout = _json(col.document("oci-layout", "oci-layout"), "oci-layout")
    version = layout.get("imageLayoutVersion") if isinstance(layout, dict) else None
    if version != "1.0.0":
        raise DataCorrupt(f"invalid archive: unsupported OCI layout version {version!r}")
    images: dict[str, _Image] = {}
    order: list[str] = []
    missing: list[str] = []
    for names, manifest in _walk_index(col, platform):
        assert manifest.config is not None
        try:
            raw = col.document(_blob_path(manifest.config.digest), "config", CONFIG_LIMIT)
        except _Missing as m:
            missing.append(m.path)
            continue
        if len(raw) != manifest.config.size:
            raise errors.SizeMismatch(str(manifest.config.digest), manifest.config.size, len(raw))
        layers: list[StoredLayer] = []
        for desc in manifest.layers:
            try:
                layer = col.layer(_blob_path(desc.digest))
            except _Missing as m:
                missing.append(m.path)
                continue
            if layer.blob_size != desc.size and layer.digest == desc.digest:
                raise errors.SizeMismatch(str(desc.digest), desc.size, layer.blob_size)
            layers.append(layer)
        if len(layers) != len(manifest.layers):
            continue
        config = ImageConfig.parse(raw, limit=CONFIG_LIMIT)
        _check_layers(config, layers)
        key = str(config.id)
        if key not in images:
            images[key] = _Image(raw, config, manifest.config.media_type, layers, [])
            order.append(key)
        image = images[key]
        if all(lay.digest == d.digest for lay, d in zip(layers, manifest.layers)):
            if all(m[0] != manifest.raw for m in image.manifests):
                image.manifests.append((manifest.raw, manifest.media_type))
        for ref in names:
            if ref not in image.tags:
                image.tags.append(ref)
    if missing:
        raise DataCorrupt(f"invalid archive: missing blobs: {', '.join(missing)}")
    return [images[k] for k in order]


# --- registering ----------------------------------------------------------------------------------------


def _created_ns(config: ImageConfig) -> int | None:
    if not config.created:
        return None
    from ..gotime import parse_rfc3339_nano

    try:
        return parse_rfc3339_nano(config.created)
    except Exception:  # noqa: BLE001 - an unparsable time shows as unknown, as in Docker
        return None


def _register(store: Store, images: Sequence[_Image]) -> list[str]:
    from ..store.images import set_tag
    from ..store.metadata import LayerRecord, ManifestRecord

    manifest_records: dict[str, list[ManifestRecord]] = {}
    for image in images:
        store.content.put_bytes(image.config_raw, expected=image.config.id)
        records = []
        for raw, media_type in image.manifests:
            digest = store.content.put_bytes(raw)
            records.append(ManifestRecord(digest, media_type, len(raw)))
        manifest_records[image.id] = records

    # Docker links parents after the whole archive is in, so a parent saved after its child still counts.
    loading = {str(image.id) for image in images}
    lines: list[str] = []
    with store.meta.transaction():
        for image in images:
            config = image.config
            store.meta.add_image(
                config_digest=config.id,
                config_media_type=image.config_media_type,
                config_size=len(image.config_raw),
                created=config.created,
                created_ns=_created_ns(config),
                os=config.os,
                architecture=config.architecture,
                variant=config.variant,
                layers=[
                    LayerRecord(l.diff_id, l.digest, l.media_type, l.blob_size, l.size, l.content_size)
                    for l in image.layers
                ],
                parent=image.parent
                if image.parent and (str(image.parent) in loading or store.meta.image_exists(str(image.parent)))
                else None,
                manifests=manifest_records[image.id],
            )
            for ref in image.tags:
                previous = set_tag(store, ref, image.id)
                if previous is not None and previous != image.id:
                    lines.append(
                        f"The image {ref.familiar()} already exists, renaming the old one with ID {previous}"
                        " to empty string"
                    )
                lines.append(f"Loaded image: {ref.familiar()}")
    # moby prints the ID lines only when the last image had no tags (its counter is reset per image).
    if images and not images[-1].tags:
        lines += [f"Loaded image ID: {image.id}" for image in images]
    return lines


# --- entry points ---------------------------------------------------------------------------------------


def _read_archive(col: _Collector, stream: Any, max_output: int) -> None:
    from ..layers.compression import open_decompressed

    _, plain = open_decompressed(stream, max_output=max_output)
    reader = TarReader(plain)
    for entry in reader.entries():
        col.take(entry, reader.read)
    reader.finish()


def _read_directory(col: _Collector, root: str) -> None:
    from .layout import walk_layout

    for entry, opener in walk_layout(root):
        if entry.type == REGULAR:
            with opener() as f:
                col.take(entry, f.read)
        else:
            col.take(entry, lambda n: b"")


def load(
    store: Store,
    source: Any,
    *,
    platform: Platform | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    progress: ProgressSink | None = None,
) -> LoadResult:
    """Load an archive stream (or, when ``source`` is a ``str``/``Path`` of a directory, an OCI layout).

    ``progress`` receives a ``Loading layer`` event stream per layer as it is read (``_LayerProgress``).
    """
    import os

    with store.lease():
        col = _Collector(store, max_output=max_output, progress=progress)
        if isinstance(source, (str, os.PathLike)):
            _read_directory(col, os.fspath(source))
        else:
            _read_archive(col, source, max_output)
        if "manifest.json" in col.seen or "manifest.json" in col.links:
            images = _from_docker_manifest(col, platform)
        elif "index.json" in col.seen or "index.json" in col.links:
            images = _from_oci_index(col, platform)
        elif not col.seen:
            raise DataCorrupt("unexpected EOF")
        else:
            raise DataCorrupt("invalid archive: it contains neither manifest.json nor index.json")
        lines = _register(store, images)
    return LoadResult(lines=lines, image_ids=[image.id for image in images])
