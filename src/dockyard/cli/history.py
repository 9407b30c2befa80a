"""``docker history`` / ``image history``: docker/cli's ``runHistory`` and ``formatter.HistoryWrite``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from dockyard.errors import InvalidArgument
from dockyard.render.formatter import FormatSpec, RowContext, render_rows
from dockyard.render.units import ellipsis, human_duration, human_size, truncate_id

if TYPE_CHECKING:
    from dockyard.cli.context import Context
    from dockyard.cli.flags import Options
    from dockyard.store.inspection import HistoryItem

DEFAULT_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
NON_HUMAN_TABLE = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
QUIET_FORMAT = "{{.ID}}"

HEADERS = {
    "ID": "IMAGE",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY",
    "Size": "SIZE",
    "Comment": "COMMENT",
}

# Entries dated before this read N/A in human mode: zero and bogus build times (docker/cli's epoch).
EPOCH_2000 = 946684800


class HistoryRow(RowContext):
    """docker/cli's ``*formatter.historyContext``."""

    __go_type__: ClassVar[str] = "*image.historyContext"

    def __init__(self, item: HistoryItem, *, trunc: bool, human: bool, now: float) -> None:
        self._h = item
        self._trunc = trunc
        self._human = human
        self._now = now

    def ID(self) -> str:  # noqa: N802 - Go accessor names are the template's field names
        return truncate_id(self._h.Id) if self._trunc else self._h.Id

    def CreatedAt(self) -> str:  # noqa: N802
        from dockyard.gotime import rfc3339

        return rfc3339(self._h.Created * 1_000_000_000)

    def CreatedSince(self) -> str:  # noqa: N802
        if not self._human:
            return self.CreatedAt()
        if self._h.Created <= EPOCH_2000:
            return "N/A"
        return human_duration(self._now - self._h.Created) + " ago"

    def CreatedBy(self) -> str:  # noqa: N802
        created_by = self._h.CreatedBy.replace("\t", " ")
        return ellipsis(created_by, 45) if self._trunc else created_by

    def Size(self) -> str:  # noqa: N802
        return human_size(self._h.Size, 3) if self._human else str(self._h.Size)

    def Comment(self) -> str:  # noqa: N802
        return self._h.Comment


def history_format(source: str, *, quiet: bool, human: bool) -> str:
    """docker/cli's ``NewHistoryFormat``: only the default table gives way to -q and -H=false."""
    if source in ("", "table"):
        if quiet:
            return QUIET_FORMAT
        return DEFAULT_TABLE if human else NON_HUMAN_TABLE
    return source


def run_history(ctx: Context, opts: Options, args: list[str]) -> int:
    if opts.platform:
        from dockyard.oci.platform import parse_platform

        try:
            parse_platform(opts.platform)
        except InvalidArgument as err:
            raise InvalidArgument(f"invalid platform: {err.message}", client=True) from None
    items = ctx.engine.history(args[0])
    spec = FormatSpec.parse(history_format(opts.format or "", quiet=opts.quiet, human=opts.human))
    now = time.time()
    rows = [HistoryRow(item, trunc=not opts.no_trunc, human=opts.human, now=now) for item in items]
    ctx.stdout.write(render_rows(spec, rows, HEADERS, DEFAULT_TABLE))
    return 0
