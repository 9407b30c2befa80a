"""``docker save`` / ``docker load``: the client's checks (terminal, output path, input file), then the
engine's work; ``load`` prints what the daemon's load stream says."""

from __future__ import annotations

import os
from typing import Any

from dockyard.cli.context import Context
from dockyard.cli.flags import Options
from dockyard.errors import InvalidArgument


def _client_error(message: str) -> InvalidArgument:
    return InvalidArgument(message, client=True)


def _platform(opts: Options):  # type: ignore[no-untyped-def]
    values = [p for v in (opts.platform or []) for p in v.split(",") if p.strip()]
    if not values:
        return None
    if len(values) > 1:
        raise _client_error("only one platform is supported")
    from dockyard.oci.platform import parse_platform

    return parse_platform(values[0].strip())


def _validate_output_path(path: str) -> None:
    """docker/cli's ValidateOutputPath, as the 28.x client words it."""
    directory = os.path.dirname(os.path.normpath(path))
    if directory and directory != "." and not os.path.exists(directory):
        raise _client_error(f"failed to save image: invalid output path: stat {directory}: no such file or directory")
    if os.path.isdir(path):
        raise _client_error("failed to save image: cannot write to a directory")


def run_save(ctx: Context, opts: Options, args: list[str]) -> int:
    output: str = opts.output or ""
    fmt: str = opts.format or "docker"
    platform = _platform(opts)
    if fmt == "oci-layout":
        if not output:
            raise _client_error("--format oci-layout needs a directory: use -o DIR")
        if opts.compress:
            raise _client_error("--compress applies to archives, not to --format oci-layout")
        ctx.engine.save(args, layout_dir=output, platform=platform)
        return 0
    if not output:
        if ctx.stdout_isatty():
            raise _client_error("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        ctx.stdout.flush()
        sink = ctx.stdout.buffer  # type: ignore[attr-defined]
        ctx.engine.save(args, sink=sink, platform=platform, compress=opts.compress or None)
        sink.flush()
        return 0
    _validate_output_path(output)
    ctx.engine.save(args, output=output, platform=platform, compress=opts.compress or None)
    return 0


def run_load(ctx: Context, opts: Options, args: list[str]) -> int:
    path: str = opts.input or ""
    platform = _platform(opts)
    # docker/cli forces quiet when stdout is no terminal: the output is then the result lines alone.
    quiet = bool(opts.quiet) or not ctx.stdout_isatty()
    if path:
        if os.path.isdir(path):
            result = _load(ctx, path, platform, quiet)
        else:
            try:
                stream = open(path, "rb", buffering=1 << 20)
            except FileNotFoundError:
                raise _client_error(f"open {path}: no such file or directory") from None
            except OSError as err:
                raise _client_error(f"open {path}: {(err.strerror or str(err)).lower()}") from None
            with stream:
                result = _load(ctx, stream, platform, quiet)
    else:
        if ctx.stdin_isatty():
            raise _client_error("requested load from stdin, but stdin is empty")
        result = _load(ctx, ctx.stdin.buffer, platform, quiet)  # type: ignore[attr-defined]
    for line in result.lines:
        ctx.stdout.write(line + "\n")
    return 0


def _load(ctx: Context, source: Any, platform: Any, quiet: bool) -> Any:
    """The engine's load, its layers drawn live above the result lines on a terminal.

    The terminal view is pull's and push's (a bar per layer under Docker's id, plus a total), not
    Docker's redrawn ``<id>: Loading layer  32.77kB/3.002MB`` lines: the same events, drawn the way
    every dockyard verb draws a transfer on a terminal (DESIGN principle 7).
    """
    if quiet:
        return ctx.engine.load(source, platform=platform)
    from dockyard.transfer.progress import RichRenderer

    renderer = RichRenderer(ctx.stdout)
    try:
        return ctx.engine.load(source, platform=platform, progress=renderer)
    finally:
        renderer.close()
