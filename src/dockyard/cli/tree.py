"""The tree view of ``images`` (docker 29's default on a terminal; ``--tree`` expands it).

Layout (docker/cli ``cli/command/image/tree.go``): fixed-width columns joined by three spaces, no
tabwriter; IMAGE just wide enough for the longest name or ``└─ platform``; ID 12 (left); DISK USAGE 10 and
CONTENT SIZE 12 (right); EXTRA 5 (left, ``U`` when a container uses the image). Columns that would leave
IMAGE narrower than 12 are dropped. One row per tag, sorted by name, untagged rows (``<untagged>``) last.
Colours and the legend only on a terminal.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dockyard.render.units import human_size, truncate_id

if TYPE_CHECKING:
    from dockyard.cli.context import Context
    from dockyard.filters import Filters
    from dockyard.store.listing import ImageSummary

COLUMN_SPACING = 3
UNTAGGED = "<untagged>"
CHILD_MID = "├─ "
CHILD_LAST = "└─ "
LEGEND = "Info -> U In Use"

# ANSI styles (aec): the tree is coloured only on a terminal.
_RESET = "\x1b[0m"
BOLD = "\x1b[1m"
HEADER = "\x1b[39;1m"
TOP_NAME = "\x1b[34;1m"
FAINT = "\x1b[2m"
GREEN = "\x1b[32m"


@dataclass(frozen=True)
class Details:
    id: str
    disk_usage: str
    content_size: str
    in_use: bool


@dataclass(frozen=True)
class Child:
    platform: str
    available: bool
    details: Details


@dataclass
class TopRow:
    name: str | None  # None: untagged
    details: Details
    children: list[Child] = field(default_factory=list)
    created: int = 0
    size: int = 0


@dataclass
class Column:
    title: str
    width: int
    align: str  # "l", "r" or "c"
    value: Callable[[Details], str] | None = None
    color: str | None = None

    def render(self, text: str, color: str | None) -> str:
        n = len(text)
        if n > self.width:
            text = text[: self.width - 3] + "..."
            return _paint(text, color)
        fill = self.width - n
        if self.align == "r":
            return " " * fill + _paint(text, color)
        if self.align == "c":
            left = fill // 2
            return " " * left + _paint(text, color) + " " * (fill - left)
        return _paint(text, color) + " " * fill


def _paint(text: str, color: str | None) -> str:
    return f"{color}{text}{_RESET}" if color else text


def _extra(d: Details) -> str:
    return "U" if d.in_use else " "


def columns() -> list[Column]:
    return [
        Column("Image", 0, "l"),
        Column("ID", 12, "l", lambda d: truncate_id(d.id)),
        Column("Disk usage", 10, "r", lambda d: d.disk_usage),
        Column("Content size", 12, "r", lambda d: d.content_size),
        Column("Extra", 5, "l", _extra),
    ]


def build_rows(images: Sequence[ImageSummary], *, sort_key: str = "created") -> list[TopRow]:
    """One row per tag (or one ``<untagged>`` row); tagged rows by name, untagged ones after them."""
    tagged: list[TopRow] = []
    untagged: list[TopRow] = []
    for image in images:
        children = [
            Child(
                c.platform,
                c.available,
                Details(c.image_id or c.manifest_digest, human_size(c.size, 3), human_size(c.content_size, 3), c.in_use),
            )
            for c in image.children
        ]
        details = Details(image.Id, human_size(image.Size, 3), human_size(image.content_size, 3), image.in_use)
        if image.RepoTags:
            for name in image.RepoTags:
                tagged.append(TopRow(name, details, children, image.Created, image.Size))
        else:
            untagged.append(TopRow(None, details, children, image.Created, image.Size))
    if sort_key == "size":
        tagged.sort(key=lambda r: (-r.size, r.name or ""))
        untagged.sort(key=lambda r: -r.size)
    else:  # docker 29 orders the tree by name whatever the engine's order
        tagged.sort(key=lambda r: r.name or "")
    return tagged + untagged


def _widest_name(rows: Sequence[TopRow], title: str, expanded: bool) -> int:
    """docker measures names here in UTF-8 bytes (Go's len), though it pads by runes: the box-drawing
    prefix of a child line counts 7, which leaves the IMAGE column a little wider than its text."""
    width = len(title)
    for row in rows:
        width = max(width, len((row.name if row.name is not None else UNTAGGED).encode()))
        if expanded:
            for child in row.children:
                width = max(width, len(child.platform.encode()) + len(CHILD_LAST.encode()))
    return width


def render_tree(rows: Sequence[TopRow], *, width: int, tty: bool, expanded: bool) -> str:
    """The whole view as text. ``width`` is the terminal's (80 when unknown)."""
    width = max(width, 20)
    cols = columns()
    name_width = width
    for idx, col in enumerate(cols):
        if col.width == 0:
            continue
        need = col.width + (COLUMN_SPACING if idx > 0 else 0)
        if name_width - need < 12:
            cols = cols[:idx]
            break
        name_width -= need
    name_width = min(name_width, _widest_name(rows, cols[0].title, expanded))
    cols[0].width = name_width

    header_color = HEADER if tty else None
    out: list[str] = []
    if tty:
        out.append(" " * max(width - len(LEGEND), 0) + LEGEND + "\n\n")
    out.append((" " * COLUMN_SPACING).join(c.render(c.title.upper(), header_color) for c in cols) + "\n")

    spacing = expanded and any(r.children for r in rows)
    for row in rows:
        if row.name is None:
            line = cols[0].render(UNTAGGED, FAINT if tty else None)
        else:
            line = cols[0].render(row.name, TOP_NAME if tty else None)
        out.append(line + _details(cols, row.details, None, tty) + "\n")
        if expanded and row.children:
            for i, child in enumerate(row.children):
                branch = CHILD_LAST if i == len(row.children) - 1 else CHILD_MID
                color = None if child.available else FAINT
                text = cols[0].render(branch + child.platform, color if tty else None)
                out.append(text + _details(cols, child.details, color, tty) + "\n")
        if spacing:
            out.append("\n")
    return "".join(out)


def _details(cols: Sequence[Column], details: Details, color: str | None, tty: bool) -> str:
    parts = []
    for col in cols:
        if col.value is None:
            continue
        value = col.value(details)
        paint = (col.color or color) if tty else None
        if col.title == "Extra" and tty and details.in_use:
            paint = GREEN
        parts.append(" " * COLUMN_SPACING + col.render(value, paint))
    return "".join(parts)


def terminal_width(ctx: Context) -> int:
    if not ctx.stdout_isatty():
        return 80
    try:
        return os.get_terminal_size(ctx.stdout.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return shutil.get_terminal_size((80, 24)).columns


def run_tree(ctx: Context, *, filters: Filters, all: bool, expanded: bool, sort_key: str = "created") -> int:
    from dockyard.store import listing

    images = ctx.engine.images(all=all, filters=filters)
    listing.fill_platforms(ctx.engine.store, images)  # content sizes and platforms: both views show them
    if not all and "dangling" not in filters:
        # docker 29 hides untagged images (digest-only ones too) from the tree unless asked.
        images = [i for i in images if i.RepoTags]
    rows = build_rows(images, sort_key=sort_key)
    ctx.stdout.write(render_tree(rows, width=terminal_width(ctx), tty=ctx.stdout_isatty(), expanded=expanded))
    return 0
