"""The views of the store: ``images`` (moby's ``daemon/images/image_list.go``) and ``system df``.

``list_images`` answers from two SQL queries (images with their container counts, and every tag and repo
digest); config blobs are read only when a ``label`` filter needs them or the caller asks for labels.
Summaries are shaped like the Engine API's ``ImageSummary`` (capitalised fields, familiar names, Unix
seconds) plus what the tree view needs (platform, per-platform children, in-use flag, content size).
"""

from __future__ import annotations

import time
from .._record import dataclass, field

from ..errors import DockyardError
from ..filters import Filters, glob_match

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any
    from . import Store

ACCEPTED_FILTERS = ("before", "dangling", "label", "reference", "since", "until")

_DEFAULT_DOMAIN = "docker.io"
_OFFICIAL_PREFIX = "library/"
_CONFIG_LIMIT = 4 * 1024 * 1024
_NS = 1_000_000_000


@dataclass(frozen=True)
class PlatformChild:
    """One platform of an index an image came from (the tree view's child lines)."""

    platform: str
    manifest_digest: str
    image_id: str | None  # the local image for that platform, None when it is not in the store
    available: bool
    size: int  # disk usage of that platform's image (0 when not available)
    content_size: int  # manifest + config + compressed layer blobs
    in_use: bool


@dataclass
class ImageSummary:
    """An entry of ``GET /images/json``; the capitalised fields are the Engine API's."""

    Id: str
    ParentId: str
    RepoTags: list[str]
    RepoDigests: list[str]
    Created: int
    Size: int
    SharedSize: int = -1
    Containers: int = -1
    Labels: dict[str, str] | None = None
    # Beyond the API: what the tree view and sorting need.
    platform: str = ""
    content_size: int = 0
    container_count: int = 0
    children: list[PlatformChild] = field(default_factory=list)
    created_ns: int | None = None
    added_ns: int = 0

    @property
    def in_use(self) -> bool:
        return self.container_count > 0 or any(c.in_use for c in self.children)

    def to_api(self) -> dict[str, Any]:
        """The JSON object the Engine API sends (``RepoTags``/``RepoDigests`` never null from v28 on)."""
        return {
            "Containers": self.Containers,
            "Created": self.Created,
            "Id": self.Id,
            "Labels": self.Labels,
            "ParentId": self.ParentId,
            "RepoDigests": list(self.RepoDigests),
            "RepoTags": list(self.RepoTags),
            "SharedSize": self.SharedSize,
            "Size": self.Size,
        }


@dataclass
class DiskUsage:
    """``GET /system/df`` restricted to what dockyard has: images (containers, volumes, cache are empty)."""

    LayersSize: int
    Images: list[ImageSummary]
    container_count: int = 0


# --- names ---------------------------------------------------------------------------------------------


def familiar_name(repository: str) -> str:
    """The familiar form of a stored full repository name (``docker.io/library/x`` → ``x``)."""
    domain, _, path = repository.partition("/")
    if domain != _DEFAULT_DOMAIN:
        return repository
    if path.startswith(_OFFICIAL_PREFIX) and "/" not in path[len(_OFFICIAL_PREFIX) :]:
        return path[len(_OFFICIAL_PREFIX) :]
    return path


class _Ref:
    """One tag or repo digest of an image; a plain slotted class, as a large store makes one per tag."""

    __slots__ = ("sort_key", "familiar", "familiar_name", "is_digest")

    def __init__(self, sort_key: str, familiar: str, familiar_name: str, is_digest: bool) -> None:
        self.sort_key = sort_key  # the full reference text: moby's reference store orders an image's references by it
        self.familiar = familiar  # FamiliarString
        self.familiar_name = familiar_name
        self.is_digest = is_digest

    def matches(self, patterns: Iterable[str]) -> bool:
        """reference.FamiliarMatch against any pattern: the familiar string, else the familiar name."""
        for pattern in patterns:
            if glob_match(pattern, self.familiar) or glob_match(pattern, self.familiar_name):
                return True
        return False


def _refs_by_image(store: Store) -> dict[str, list[_Ref]]:
    rows = store.meta._conn().execute(
        "SELECT image_id, repository, ':' || tag, 0 FROM tags"
        " UNION ALL SELECT image_id, repository, '@' || digest, 1 FROM repo_digests"
    ).fetchall()
    names: dict[str, str] = {}
    refs: dict[str, list[_Ref]] = {}
    for image_id, repository, suffix, is_digest in rows:
        fam = names.get(repository)
        if fam is None:
            fam = names[repository] = familiar_name(repository)
        refs.setdefault(image_id, []).append(_Ref(repository + suffix, fam + suffix, fam, bool(is_digest)))
    for image_refs in refs.values():
        image_refs.sort(key=lambda r: r.sort_key)
    return refs


# --- the image rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    id: str
    parent: str | None
    created_ns: int | None
    size: int
    os: str
    architecture: str
    variant: str | None
    added_ns: int
    containers: int


def _image_rows(store: Store) -> list[_Row]:
    rows = store.meta._conn().execute(
        "SELECT i.id, i.parent, i.created_ns, i.size, i.os, i.architecture, i.variant, i.added_ns,"
        " COALESCE(c.n, 0) FROM images i"
        " LEFT JOIN (SELECT image_id, COUNT(*) AS n FROM containers GROUP BY image_id) c ON c.image_id = i.id"
    ).fetchall()
    return [_Row(*r) for r in rows]


def _platform_text(os_name: str, arch: str, variant: str | None) -> str:
    return "/".join(p for p in (os_name, arch, variant) if p)


def read_labels(store: Store, image_id: str) -> dict[str, str] | None:
    """``config.Labels`` of the image's config; None when the config has no ``config`` object (moby's
    ``img.Config == nil``), ``{}`` when it has one without labels."""
    import json

    from ..digest import Digest

    try:
        doc = json.loads(store.content.read_bytes(Digest.parse(image_id), _CONFIG_LIMIT))
    except (DockyardError, ValueError):
        return None
    container_config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(container_config, dict):
        return None
    labels = container_config.get("Labels")
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


@dataclass(frozen=True)
class _TimeBounds:
    before_ns: int | None
    since_ns: int | None


def _time_bounds(store: Store, filters: Filters, now_ns: int) -> _TimeBounds:
    """moby resolves ``before`` to the oldest named image, ``until`` likewise, ``since`` to the newest."""
    # Imported only for a filter that needs them: the reference grammar and Go's time parsing are
    # start-up cost an unfiltered listing does not pay.
    before: int | None = None
    for value in filters.get("before"):
        from .images import resolve_image

        image = resolve_image(store, value)
        if image.created_ns is not None and (before is None or image.created_ns < before):
            before = image.created_ns
    for value in filters.get("until"):
        from ..gotime import parse_timestamp

        stamp = parse_timestamp(value, now_ns)
        if before is None or stamp < before:
            before = stamp
    since: int | None = None
    for value in filters.get("since"):
        from .images import resolve_image

        image = resolve_image(store, value)
        if image.created_ns is not None and (since is None or image.created_ns > since):
            since = image.created_ns
    return _TimeBounds(before, since)


def validate_filters(filters: Filters) -> bool:
    """Check keys and the ``dangling`` boolean; returns whether only dangling images are wanted."""
    filters.validate(ACCEPTED_FILTERS)
    return filters.get_bool("dangling", False)


def list_images(
    store: Store,
    *,
    all: bool = False,
    filters: Filters | None = None,
    labels: bool = False,
    platforms: bool = False,
    now_ns: int | None = None,
) -> list[ImageSummary]:
    """``docker images``' engine side: filtered summaries sorted by Created, newest first.

    ``labels`` reads every listed image's config for ``Labels`` (otherwise they stay None unless a label
    filter read them); ``platforms`` fills ``children`` and ``content_size`` for the tree view.
    Raises InvalidArgument for a bad filter, NotFound for an unknown ``before``/``since`` image.
    """
    filters = filters if filters is not None else Filters()
    dangling_only = validate_filters(filters)
    bounds = _time_bounds(store, filters, time.time_ns() if now_ns is None else now_ns)
    label_filter = "label" in filters
    patterns = filters.get("reference")
    has_reference = "reference" in filters

    rows = _image_rows(store)
    refs = _refs_by_image(store)
    parents = {r.parent for r in rows if r.parent}

    out: list[ImageSummary] = []
    for row in rows:
        has_children = row.id in parents
        if dangling_only and has_children:
            continue  # moby lists only the heads of the image graph for dangling=true
        if bounds.before_ns is not None and (row.created_ns is None or not row.created_ns < bounds.before_ns):
            continue
        if bounds.since_ns is not None and (row.created_ns is None or not row.created_ns > bounds.since_ns):
            continue
        image_labels: dict[str, str] | None = None
        if label_filter:
            image_labels = read_labels(store, row.id)
            if image_labels is None or not filters.match_kv_list("label", image_labels):
                continue
        repo_tags: list[str] = []
        repo_digests: list[str] = []
        for ref in refs.get(row.id, ()):
            if has_reference and not ref.matches(patterns):
                continue
            (repo_digests if ref.is_digest else repo_tags).append(ref.familiar)
        if not repo_tags and not repo_digests:
            if not (all or not has_children):
                continue
            if "dangling" in filters and not dangling_only:
                continue
            if has_reference:
                continue
        elif dangling_only and repo_tags:
            continue
        if labels and image_labels is None:
            image_labels = read_labels(store, row.id)
        out.append(
            ImageSummary(
                Id=row.id,
                ParentId=row.parent or "",
                RepoTags=repo_tags,
                RepoDigests=repo_digests,
                Created=row.created_ns // _NS if row.created_ns is not None else 0,
                Size=row.size,
                Labels=image_labels,
                platform=_platform_text(row.os, row.architecture, row.variant),
                container_count=row.containers,
                created_ns=row.created_ns,
                added_ns=row.added_ns,
            )
        )
    if platforms:
        fill_platforms(store, out)
    # Go's sort is not stable; ties get a fixed order here (newest added first, then ID).
    out.sort(key=lambda s: (s.Created, s.added_ns, s.Id), reverse=True)
    return out


# --- platforms (tree view) -----------------------------------------------------------------------------


def fill_platforms(store: Store, summaries: list[ImageSummary]) -> None:
    """Content sizes, and the platforms of the index each image was pulled or loaded through."""
    conn = store.meta._conn()
    wanted = {s.Id for s in summaries}
    if not wanted:
        return
    image_info = {
        r[0]: (r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT i.id, i.size, i.config_size + COALESCE((SELECT SUM(lb.size) FROM image_layers il"
            " JOIN layer_blobs lb ON lb.digest = il.blob WHERE il.image_id = i.id), 0),"
            " (SELECT COUNT(*) FROM containers c WHERE c.image_id = i.id) FROM images i"
        ).fetchall()
    }
    manifests = conn.execute(
        "SELECT m.digest, m.size, m.image_id, m.platform FROM manifests m"
    ).fetchall()
    manifest_info = {r[0]: (r[1], r[2], r[3]) for r in manifests}
    links = conn.execute("SELECT image_id, manifest_digest FROM image_manifests ORDER BY rowid").fetchall()
    index_children: dict[str, list[str]] = {}
    for parent, child in conn.execute(
        "SELECT parent_digest, child_digest FROM manifest_children ORDER BY rowid"
    ).fetchall():
        index_children.setdefault(parent, []).append(child)
    by_image: dict[str, list[str]] = {}
    for image_id, digest in links:
        if image_id in wanted:
            by_image.setdefault(image_id, []).append(digest)
    for summary in summaries:
        own = by_image.get(summary.Id, [])
        own_manifest_size = sum(manifest_info[d][0] for d in own if d in manifest_info and d not in index_children)
        summary.content_size = image_info.get(summary.Id, (0, 0, 0))[1] + own_manifest_size
        children: list[PlatformChild] = []
        seen: set[str] = set()
        for digest in own:
            for child in index_children.get(digest, ()):
                if child in seen:
                    continue
                seen.add(child)
                size, child_image, platform = manifest_info.get(child, (0, None, None))
                info = image_info.get(child_image) if child_image else None
                children.append(
                    PlatformChild(
                        platform=platform or "unknown",
                        manifest_digest=child,
                        image_id=child_image,
                        available=info is not None,
                        size=info[0] if info else 0,
                        content_size=(info[1] + size) if info else 0,
                        in_use=bool(info and info[2]),
                    )
                )
        summary.children = children


# --- system df -----------------------------------------------------------------------------------------


def disk_usage(store: Store) -> DiskUsage:
    """Top-level images with SharedSize and Containers filled in, and the total size of all layers.

    A layer (by chain ID) counts as shared when more than one image's stack contains it, as moby counts.
    """
    from ..digest import Digest
    from ..oci.chain import chain_ids

    summaries = list_images(store)
    conn = store.meta._conn()
    stacks: dict[str, list[tuple[str, int]]] = {}
    for image_id, diff_id, content_size in conn.execute(
        "SELECT il.image_id, il.diff_id, COALESCE(l.content_size, 0) FROM image_layers il"
        " LEFT JOIN layers l ON l.diff_id = il.diff_id ORDER BY il.image_id, il.position"
    ).fetchall():
        stacks.setdefault(image_id, []).append((diff_id, content_size))
    chains: dict[str, list[tuple[str, int]]] = {}
    refcount: dict[str, int] = {}
    layer_sizes: dict[str, int] = {}
    for image_id, stack in stacks.items():
        ids = chain_ids([Digest.parse(d) for d, _ in stack])
        chain = [(str(c), size) for c, (_, size) in zip(ids, stack)]
        chains[image_id] = chain
        for chain_id, size in chain:
            refcount[chain_id] = refcount.get(chain_id, 0) + 1
            layer_sizes[chain_id] = size
    for summary in summaries:
        summary.SharedSize = sum(size for c, size in chains.get(summary.Id, ()) if refcount[c] > 1)
        summary.Containers = summary.container_count
    container_count = conn.execute("SELECT COUNT(*) FROM containers").fetchone()[0]
    return DiskUsage(LayersSize=sum(layer_sizes.values()), Images=summaries, container_count=container_count)


__all__ = [
    "ACCEPTED_FILTERS",
    "DiskUsage",
    "ImageSummary",
    "PlatformChild",
    "disk_usage",
    "familiar_name",
    "fill_platforms",
    "list_images",
    "read_labels",
    "validate_filters",
]
