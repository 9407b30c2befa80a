"""``docker tag`` / ``image tag``: the client's reference checks, then the daemon's move of the tag."""

from __future__ import annotations

from dockyard.cli.context import Context
from dockyard.cli.flags import Options
from dockyard.errors import InvalidReference
from dockyard.reference import InvalidTagTarget, parse_any, reference_for_tagging


def run_tag(ctx: Context, opts: Options, args: list[str]) -> int:
    source, target = args
    # The client checks both operands before it asks the daemon, with the same wrapping for each.
    try:
        parse_any(source)
    except InvalidReference as err:
        raise InvalidTagTarget(source, err.message) from err
    ref = reference_for_tagging(target)
    ctx.engine.tag(source, ref)
    return 0
