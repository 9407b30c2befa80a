"""``docker rmi`` / ``image rm``: one delete per operand, records printed as they come, errors at the end."""

from __future__ import annotations

from dockyard.cli.context import Context
from dockyard.cli.flags import Options
from dockyard.errors import DockyardError, InvalidArgument, NotFound

DAEMON_PREFIX = "Error response from daemon: "


def run_rmi(ctx: Context, opts: Options, args: list[str]) -> int:
    # The engine rejects several platforms per request, i.e. for every operand.
    too_many_platforms = len(opts.platform or ()) > 1
    engine = ctx.engine
    out = ctx.stdout
    errors: list[str] = []
    fatal = False
    for name in args:
        try:
            if too_many_platforms:
                raise InvalidArgument("multiple platforms are not supported")
            records = engine.remove_image(name, force=opts.force, prune=not opts.no_prune)
        except DockyardError as err:
            if not isinstance(err, NotFound):
                fatal = True
            errors.append(("" if err.client else DAEMON_PREFIX) + err.message)
            continue
        for record in records:
            out.write(record.line() + "\n")
        out.flush()
    if not errors:
        return 0
    ctx.stderr.write("\n".join(errors) + "\n")
    # docker forgives missing images under --force, and only those.
    return 1 if (fatal or not opts.force) else 0
