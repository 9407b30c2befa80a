"""``dockyard version`` and ``dockyard --version``."""

from __future__ import annotations

from dockyard import __version__
from dockyard.cli.context import Context
from dockyard.cli.flags import Options


def version_line(prog: str = "dockyard") -> str:
    return f"{prog} version {__version__}"


def run_version(ctx: Context, opts: Options, args: list[str]) -> int:
    ctx.stdout.write(version_line(ctx.prog) + "\n")
    return 0
