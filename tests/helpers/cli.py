"""Running the dockyard CLI from tests: in-process with the streams captured, or as a real process."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from dockyard.cli.main import run

# The installed entry point beside this interpreter; ``-m dockyard`` where there is none.
_ENTRY = Path(sys.executable).with_name("dockyard")
DOCKYARD: list[str] = [str(_ENTRY)] if _ENTRY.exists() else [sys.executable, "-m", "dockyard"]


class Result(NamedTuple):
    """Exit code, stdout and stderr; a tuple, so ``code, out, err = run_cli(…)`` works too."""

    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


class BinaryResult(NamedTuple):
    code: int
    out: bytes
    err: bytes


def _text_stream(data: bytes = b"") -> io.TextIOWrapper:
    # Like a real stream (and pytest's capture): text over bytes, so handlers may use ``.buffer``.
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", write_through=True)


def _captured(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8", errors="replace")  # type: ignore[attr-defined]


def run_cli(*args: str, stdin: str | bytes | None = None, prog: str = "dockyard") -> Result:
    """``prog args…`` in this process; ``stdin`` replaces sys.stdin for the call when given."""
    out, err = _text_stream(), _text_stream()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        if stdin is not None:
            data = stdin.encode() if isinstance(stdin, str) else stdin
            old = sys.stdin
            sys.stdin = _text_stream(data)
            stack.callback(setattr, sys, "stdin", old)
        code = run(prog, list(args))
    return Result(code, _captured(out), _captured(err))


def _spawn(
    args: tuple[str, ...], stdin: str | bytes | None, env: dict[str, str] | None, cwd: Path | None, timeout: float
) -> subprocess.CompletedProcess[bytes]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(
        [*DOCKYARD, *args], input=data, capture_output=True, env=env if env is not None else dict(os.environ),
        cwd=cwd, timeout=timeout,
    )


def run_cli_process(
    *args: str,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> Result:
    """``dockyard args…`` as its own process (the environment is this one's unless ``env`` is given)."""
    done = _spawn(args, stdin, env, cwd, timeout)
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())


def run_cli_process_binary(
    *args: str,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> BinaryResult:
    """As ``run_cli_process``, for commands whose output is bytes (``save`` to stdout)."""
    done = _spawn(args, stdin, env, cwd, timeout)
    return BinaryResult(done.returncode, done.stdout, done.stderr)
