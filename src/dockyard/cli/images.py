"""``images`` / ``image ls``: docker/cli's ``runImages`` and ``formatter.ImageWrite`` over the local store.

View rules (docker 29): the collapsed tree when stdout is a terminal and none of ``-q``, ``--no-trunc``,
``--digests``, ``--format`` (nor a config ``imagesFormat``) is given; ``--tree`` the expanded tree; the
classic table otherwise. Beyond docker: ``--sort created|size|repository|tag``.
"""

from __future__ import annotations

import time

from dockyard.errors import InvalidArgument
from dockyard.render.formatter import FormatSpec, RowContext
from dockyard.render.units import human_duration, human_size, truncate_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, ClassVar
    from dockyard.cli.context import Context
    from dockyard.cli.flags import Options
    from dockyard.store.listing import ImageSummary

NONE = "<none>"

DEFAULT_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
DEFAULT_TABLE_WITH_DIGEST = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
QUIET_FORMAT = "{{.ID}}"
RAW_FORMAT = "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n"
RAW_FORMAT_WITH_DIGEST = (
    "repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\n"
    "created_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n"
)
RAW_FORMAT_QUIET = "image_id: {{.ID}}"

IMAGE_HEADERS = {
    "ID": "IMAGE ID",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "VirtualSize": "SIZE",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
    "Containers": "CONTAINERS",
}

# `docker images ls` is a common slip for `docker image ls`; docker hints at it when nothing matched.
IMAGE_SUBCOMMANDS = frozenset(
    {"build", "history", "import", "inspect", "list", "load", "ls", "prune", "pull", "push", "rm", "save", "tag"}
)

SORT_KEYS = ("created", "size", "repository", "tag")


class ImageRow(RowContext):
    """docker/cli's ``*formatter.imageContext``: one row of the table (an image × repo/tag/digest)."""

    __go_type__: ClassVar[str] = "*formatter.imageContext"

    def __init__(self, image: ImageSummary, repo: str, tag: str, digest: str, *, trunc: bool, now: float) -> None:
        self._image = image
        self._repo = repo
        self._tag = tag
        self._digest = digest
        self._trunc = trunc
        self._now = now

    @property
    def image(self) -> ImageSummary:
        return self._image

    def ID(self) -> str:  # noqa: N802 - Go accessor names are the template's field names
        return truncate_id(self._image.Id) if self._trunc else self._image.Id

    def Repository(self) -> str:  # noqa: N802
        return self._repo

    def Tag(self) -> str:  # noqa: N802
        return self._tag

    def Digest(self) -> str:  # noqa: N802
        return self._digest

    def CreatedSince(self) -> str:  # noqa: N802
        # time.Unix(0, 0) is not Go's zero time, so a config without `created` reads "56 years ago".
        return human_duration(self._now - self._image.Created) + " ago"

    def CreatedAt(self) -> str:  # noqa: N802
        from dockyard.gotime import go_time_string

        return go_time_string(self._image.Created * 1_000_000_000)

    def Size(self) -> str:  # noqa: N802
        return human_size(self._image.Size, 3)

    def VirtualSize(self) -> str:  # noqa: N802
        return human_size(self._image.Size, 4)

    def SharedSize(self) -> str:  # noqa: N802
        if self._image.SharedSize == -1:
            return "N/A"
        return human_size(self._image.SharedSize, 4)

    def UniqueSize(self) -> str:  # noqa: N802
        if self._image.Size == -1 or self._image.SharedSize == -1:
            return "N/A"
        return human_size(self._image.Size - self._image.SharedSize, 4)

    def Containers(self) -> str:  # noqa: N802
        if self._image.Containers == -1:
            return "N/A"
        return str(self._image.Containers)


# --- row expansion ----------------------------------------------------------------------------------------


def is_dangling(image: ImageSummary) -> bool:
    if not image.RepoTags and not image.RepoDigests:
        return True
    return image.RepoTags == ["<none>:<none>"] and image.RepoDigests == ["<none>@<none>"]


def _split_tagged(familiar: str) -> tuple[str, str] | None:
    """``name:tag`` → (name, tag); the tag follows the last ``:`` after the last ``/``."""
    slash = familiar.rfind("/")
    colon = familiar.rfind(":")
    if colon <= slash:
        return None
    return familiar[:colon], familiar[colon + 1 :]


def _split_digested(familiar: str) -> tuple[str, str] | None:
    name, at, digest = familiar.partition("@")
    return (name, digest) if at else None


def expand_rows(
    images: Sequence[ImageSummary], *, digests: bool, trunc: bool, now: float, digest_rows: bool | None = None
) -> list[ImageRow]:
    """``imageFormat``: a dangling row, or per repository one row per tag (× digest when ``digests``),
    then digest-only repositories. Go walks the repositories in map order; here they keep engine order.

    docker/cli expands tagged rows by digest when ``--digests`` is given or the format uses ``{{.Digest}}``
    (``needDigest``), but digest-only repositories get one row per digest only with ``--digests``
    (``ctx.Digest``); ``digest_rows`` is that flag, defaulting to ``digests``."""
    if digest_rows is None:
        digest_rows = digests
    rows: list[ImageRow] = []
    for image in images:
        if is_dangling(image):
            rows.append(ImageRow(image, NONE, NONE, NONE, trunc=trunc, now=now))
            continue
        repo_tags: dict[str, list[str]] = {}
        repo_digests: dict[str, list[str]] = {}
        for text in image.RepoTags:
            parts = _split_tagged(text)
            if parts is not None:
                repo_tags.setdefault(parts[0], []).append(parts[1])
        for text in image.RepoDigests:
            parts = _split_digested(text)
            if parts is not None:
                repo_digests.setdefault(parts[0], []).append(parts[1])
        for repo, tags in repo_tags.items():
            repo_dgsts = repo_digests.pop(repo, [])
            if not digests:
                repo_dgsts = []
            for tag in tags:
                if not repo_dgsts:
                    rows.append(ImageRow(image, repo, tag, NONE, trunc=trunc, now=now))
                for dgst in repo_dgsts:
                    rows.append(ImageRow(image, repo, tag, dgst, trunc=trunc, now=now))
        for repo, dgsts in repo_digests.items():
            if digest_rows:
                rows.extend(ImageRow(image, repo, NONE, d, trunc=trunc, now=now) for d in dgsts)
            else:
                rows.append(ImageRow(image, repo, NONE, "", trunc=trunc, now=now))
    return rows


def sort_images(images: list[ImageSummary], key: str) -> list[ImageSummary]:
    if key == "size":
        return sorted(images, key=lambda i: i.Size, reverse=True)
    return images  # the engine's order is already newest first


def sort_rows(rows: list[ImageRow], key: str) -> list[ImageRow]:
    """Row-level orders; stable, so ties keep the engine's newest-first order."""
    if key == "repository":
        return sorted(rows, key=lambda r: (r.Repository() == NONE, r.Repository(), r.Tag()))
    if key == "tag":
        return sorted(rows, key=lambda r: (r.Tag() == NONE, r.Tag(), r.Repository()))
    return rows


# --- the fast path for the built-in formats ---------------------------------------------------------------

# Built-in templates as the placeholders they print; these are rendered without the template engine so
# `images` stays fast on large stores (the output is the same: see the tests comparing both paths).
_BUILTIN_COLUMNS: dict[str, tuple[str, ...]] = {
    DEFAULT_TABLE: ("Repository", "Tag", "ID", "CreatedSince", "Size"),
    DEFAULT_TABLE_WITH_DIGEST: ("Repository", "Tag", "Digest", "ID", "CreatedSince", "Size"),
    QUIET_FORMAT: ("ID",),
}


def _aligned(lines: list[list[str]]) -> str:
    """docker's tabwriter (minwidth 10, padding 3) for ASCII cells, every line with the same cell count:
    each cell but a line's last is padded to its column's width."""
    columns = list(zip(*lines))
    padded: list[Sequence[str]] = []
    for column in columns[:-1]:
        width = max(10, max(map(len, column)) + 3)
        padded.append([cell.ljust(width) for cell in column])
    padded.append(columns[-1])
    return "".join(["".join(cells) + "\n" for cells in zip(*padded)])


# Columns that depend only on the image (not on the repository, tag or digest of the row): computed once
# per image, as a store with many tags per image repeats them on every row.
_PER_IMAGE_COLUMNS = frozenset({"ID", "CreatedSince", "Size"})


def render_builtin(template: str, rows: Sequence[ImageRow]) -> str | None:
    """The output of a built-in format without the template engine; None when the fast path does not
    apply (a custom template, or non-ASCII text that needs the tabwriter's width rules)."""
    names = _BUILTIN_COLUMNS.get(template)
    if names is None:
        return None
    cached: dict[tuple[int, str], str] = {}
    lines = []
    for row in rows:
        line = []
        for name in names:
            if name in _PER_IMAGE_COLUMNS:
                key = (id(row.image), name)
                cell = cached.get(key)
                if cell is None:
                    cell = cached[key] = getattr(row, name)()
            else:
                cell = getattr(row, name)()
            line.append(cell)
        lines.append(line)
    if template == QUIET_FORMAT:
        return "".join([line[0] + "\n" for line in lines])
    lines.insert(0, [IMAGE_HEADERS[name] for name in names])
    text = "".join(["".join(line) for line in lines])
    if not text.isascii() or "\t" in text or "\n" in text:
        return None
    return _aligned(lines)


# --- the command ------------------------------------------------------------------------------------------


def image_format(source: str, *, quiet: bool, digests: bool) -> str:
    """docker/cli's ``NewImageFormat``."""
    if source == "table":
        if quiet:
            return QUIET_FORMAT
        return DEFAULT_TABLE_WITH_DIGEST if digests else DEFAULT_TABLE
    if source == "raw":
        if quiet:
            return RAW_FORMAT_QUIET
        return RAW_FORMAT_WITH_DIGEST if digests else RAW_FORMAT
    if source.startswith("table") and digests and "{{.Digest}}" not in source:
        return source + "\t{{.Digest}}"
    return source


def config_images_format(ctx: Context) -> str:
    """``imagesFormat`` from docker's ``config.json`` ("" when missing or unreadable)."""
    try:
        with open(ctx.docker_config_file("config.json"), encoding="utf-8") as file:
            text = file.read()
    except (OSError, ValueError):
        return ""
    import json  # only when there is a config: json is start-up time the default table never needs

    try:
        doc = json.loads(text)
    except ValueError:
        return ""
    value = doc.get("imagesFormat") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else ""


def _filters(opts: Options, args: list[str]) -> Any:
    from dockyard.filters import Filters

    filters = Filters.from_flags(opts.filter)
    if args:
        filters.add("reference", args[0])
    return filters


def _sort_key(opts: Options) -> str:
    key = getattr(opts, "sort", None) or "created"
    if key not in SORT_KEYS:
        raise InvalidArgument(f"invalid sort key {key!r}: expected one of {', '.join(SORT_KEYS)}", client=True)
    return key


def run_images(ctx: Context, opts: Options, args: list[str]) -> int:
    sort_key = _sort_key(opts)
    filters = _filters(opts, args)
    quiet, no_trunc, digests, fmt = opts.quiet, opts.no_trunc, opts.digests, opts.format or ""
    config_format = "" if fmt or quiet else config_images_format(ctx)

    if opts.tree:
        if quiet:
            raise InvalidArgument("--quiet is not yet supported with --tree", client=True)
        if no_trunc:
            raise InvalidArgument("--no-trunc is not yet supported with --tree", client=True)
        if digests:
            raise InvalidArgument("--show-digest is not yet supported with --tree", client=True)
        if fmt:
            raise InvalidArgument("--format is not yet supported with --tree", client=True)
    if opts.tree or (
        ctx.stdout_isatty() and not (quiet or no_trunc or digests or fmt or config_format)
    ):
        from dockyard.cli.tree import run_tree

        return run_tree(ctx, filters=filters, all=opts.all, expanded=bool(opts.tree), sort_key=sort_key)

    source = fmt or config_format or "table"
    template = image_format(source, quiet=quiet, digests=digests)
    spec = FormatSpec.parse(template)
    show_digests = digests or spec.contains("{{.Digest}}")

    images = ctx.engine.images(all=opts.all, filters=filters)
    now = time.time()
    rows = expand_rows(
        sort_images(images, sort_key), digests=show_digests, digest_rows=digests, trunc=not no_trunc, now=now
    )
    rows = sort_rows(rows, sort_key)
    text = render_builtin(template, rows)
    if text is None:
        from dockyard.render.formatter import render_rows

        text = render_rows(spec, rows, IMAGE_HEADERS, DEFAULT_TABLE)
    ctx.stdout.write(text)

    if not images and ctx.command_path == "images" and args and args[0] in IMAGE_SUBCOMMANDS:
        # docker/cli 28 starts the hint with a blank line (29 drops it)
        ctx.stderr.write(f'\nNo images found matching "{args[0]}": did you mean "{ctx.prog} image {args[0]}"?\n')
    return 0
