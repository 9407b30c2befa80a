"""docker's yes/no confirmation prompt (internal/prompt in docker/cli)."""

from __future__ import annotations

from dockyard.cli.context import Context

PROMPT_SUFFIX = " [y/N] "
DEFAULT_QUESTION = "Are you sure you want to proceed?"


def confirm(ctx: Context, message: str) -> bool:
    """Write ``message`` followed by docker's `` [y/N] `` (no newline) and read one line.

    Only ``y`` or ``Y`` (surrounding blanks ignored) confirms; end of input or any other answer declines,
    and the caller then raises ``Cancelled``. A message that already ends in the suffix is left alone.
    """
    text = message or DEFAULT_QUESTION
    if not text.endswith(PROMPT_SUFFIX):
        text += PROMPT_SUFFIX
    out = ctx.stdout
    out.write(text)
    out.flush()
    try:
        answer = ctx.stdin.readline()
    except (EOFError, OSError, ValueError, AttributeError):  # closed or absent stdin
        return False
    return answer.strip() in ("y", "Y")
