"""``system df`` (docker/cli ``formatter/disk_usage.go``, image rows from the store; containers, volumes
and build cache rows are reported empty, as a daemon without them would) and ``system check``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from dockyard.render.formatter import FormatSpec, RowContext, render_rows
from dockyard.render.units import human_size

if TYPE_CHECKING:
    from dockyard.cli.context import Context
    from dockyard.cli.flags import Options
    from dockyard.store.listing import DiskUsage

DF_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
DF_HEADERS = {
    "Type": "TYPE",
    "TotalCount": "TOTAL",
    "Active": "ACTIVE",
    "Size": "SIZE",
    "Reclaimable": "RECLAIMABLE",
}
DF_IMAGE_TABLE = (
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}"
    "\t{{.Containers}}"
)
# The verbose sections dockyard has nothing for: docker prints their headers all the same.
_EMPTY_SECTIONS = (
    "\nContainers space usage:\n\n"
    "CONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES\n"
    "\nLocal Volumes space usage:\n\n"
    "VOLUME NAME   LINKS     SIZE\n"
    "\nBuild cache usage: 0B\n\n"
    "CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"
)


class DiskUsageRow(RowContext):
    """One summary line (``*formatter.diskUsageImagesContext`` and its siblings)."""

    __go_type__: ClassVar[str] = "*formatter.diskUsageImagesContext"

    def __init__(self, type_name: str, total: int, active: int, size: int, reclaimable: int, *, percent: bool) -> None:
        self._type = type_name
        self._total = total
        self._active = active
        self._size = size
        self._reclaimable = reclaimable
        self._percent = percent

    def Type(self) -> str:  # noqa: N802 - Go accessor names are the template's field names
        return self._type

    def TotalCount(self) -> str:  # noqa: N802
        return str(self._total)

    def Active(self) -> str:  # noqa: N802
        return str(self._active)

    def Size(self) -> str:  # noqa: N802
        return human_size(self._size, 4)

    def Reclaimable(self) -> str:  # noqa: N802
        text = human_size(self._reclaimable, 4)
        if self._percent and self._size > 0:
            text += f" ({self._reclaimable * 100 // self._size}%)"
        return text


def image_summary_row(du: DiskUsage) -> DiskUsageRow:
    """TOTAL top-level images; ACTIVE those with containers; RECLAIMABLE = total layer size minus the
    unique size of images in use, with an integer percentage."""
    used = sum(i.Size - i.SharedSize for i in du.Images if i.Containers and i.Size != -1 and i.SharedSize != -1)
    active = sum(1 for i in du.Images if i.Containers > 0)
    return DiskUsageRow("Images", len(du.Images), active, du.LayersSize, du.LayersSize - used, percent=True)


def summary_rows(du: DiskUsage) -> list[DiskUsageRow]:
    return [
        image_summary_row(du),
        DiskUsageRow("Containers", du.container_count, 0, 0, 0, percent=True),
        DiskUsageRow("Local Volumes", 0, 0, 0, 0, percent=True),
        DiskUsageRow("Build Cache", 0, 0, 0, 0, percent=False),
    ]


def _verbose_images(du: DiskUsage, now: float) -> list[RowContext]:
    """Only each image's first tag is shown, as docker's verbose df does."""
    from dockyard.cli.images import NONE, ImageRow, is_dangling

    rows: list[RowContext] = []
    for image in du.Images:
        repo = tag = NONE
        if image.RepoTags and not is_dangling(image):
            name, colon, t = image.RepoTags[0].rpartition(":")
            if colon and "/" not in t:
                repo, tag = name, t
        rows.append(ImageRow(image, repo, tag, "", trunc=True, now=now))
    return rows


def run_df(ctx: Context, opts: Options, args: list[str]) -> int:
    du = ctx.engine.disk_usage()
    fmt = opts.format or ""
    if opts.verbose:
        now = time.time()
        images = _verbose_images(du, now)
        if fmt and fmt != "table":
            return _verbose_template(ctx, fmt, images)
        ctx.stdout.write("Images space usage:\n\n")
        from dockyard.cli.images import IMAGE_HEADERS

        ctx.stdout.write(render_rows(FormatSpec.parse(DF_IMAGE_TABLE), images, IMAGE_HEADERS, DF_IMAGE_TABLE))
        ctx.stdout.write(_EMPTY_SECTIONS)
        return 0
    ctx.stdout.write(render_rows(FormatSpec.parse(fmt), summary_rows(du), DF_HEADERS, DF_TABLE))
    return 0


def _verbose_template(ctx: Context, fmt: str, images: list[RowContext]) -> int:
    """``df -v --format``: the template runs once over {Images, Containers, Volumes, BuildCache}."""
    from dockyard.errors import TemplateError
    from dockyard.render.formatter import TEMPLATE_ERROR_PREFIX
    from dockyard.render.gotemplate import Struct, Template, docker_funcs

    if fmt == "json":
        images_json = ",".join(row.__go_json__() for row in images)
        ctx.stdout.write(f'{{"Images":[{images_json}],"Containers":[],"Volumes":[],"BuildCache":[]}}\n')
        return 0
    spec = FormatSpec.parse(fmt)
    data = Struct(
        "formatter.diskUsageContext",
        {"Images": images, "Containers": [], "Volumes": [], "BuildCache": []},
    )
    try:
        text = Template.parse(spec.resolve(""), funcs=docker_funcs()).execute(data)
    except TemplateError as err:
        raise TemplateError(TEMPLATE_ERROR_PREFIX + err.message, parse=err.parse) from None
    ctx.stdout.write(text + "\n")
    return 0


def run_check(ctx: Context, opts: Options, args: list[str]) -> int:
    """Every problem on its own line, then a summary; exit 1 when any is an error."""
    store = ctx.engine.store
    problems = store.check()
    for problem in problems:
        ctx.stdout.write(f"{problem}\n")
    blobs = _count_blobs(store)
    images = store.meta._conn().execute("SELECT COUNT(*) FROM images").fetchone()[0]
    errors = sum(1 for p in problems if p.severity == "error")
    notes = len(problems) - errors
    head = f"checked {blobs} blob{'s' if blobs != 1 else ''}, {images} image{'s' if images != 1 else ''}: "
    if not problems:
        ctx.stdout.write(head + "no problems found\n")
    else:
        parts = []
        if errors:
            parts.append(f"{errors} error{'s' if errors != 1 else ''}")
        if notes:
            parts.append(f"{notes} note{'s' if notes != 1 else ''}")
        ctx.stdout.write(head + ", ".join(parts) + "\n")
    return 1 if errors else 0


def _count_blobs(store) -> int:  # type: ignore[no-untyped-def]
    import os

    total = 0
    try:
        for alg in os.scandir(store.paths.blobs):
            if alg.is_dir(follow_symlinks=False):
                total += sum(1 for _ in os.scandir(alg.path))
    except FileNotFoundError:
        return 0
    return total
