"""What a command handler gets besides its flags: streams, the program name, store and config places,
and the engine (built on first use)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.engine import Engine


def default_store_root(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``DOCKYARD_ROOT``, else ``/var/lib/dockyard`` for root, else ``$XDG_DATA_HOME/dockyard``."""
    env = os.environ if environ is None else environ
    if env.get("DOCKYARD_ROOT"):
        return Path(env["DOCKYARD_ROOT"])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/dockyard")
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "dockyard"


def default_docker_config_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """Docker's own config directory: ``$DOCKER_CONFIG``, else ``~/.docker``."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path.home() / ".docker"


class Context:
    """Per-invocation state shared by every command handler.

    The streams are looked up on ``sys`` each time, so tests that swap ``sys.stdout`` (pytest's capsys)
    see the output.
    """

    def __init__(
        self,
        *,
        prog: str = "dockyard",
        root: Path | None = None,
        docker_config_dir: Path | None = None,
        debug: bool = False,
        log_level: str = "info",
        command_path: str = "",
    ) -> None:
        self.prog = prog
        self.root = root if root is not None else default_store_root()
        self.docker_config_dir = docker_config_dir if docker_config_dir is not None else default_docker_config_dir()
        self.debug = debug
        self.log_level = log_level
        self.command_path = command_path
        self._engine: Any = None

    @property
    def stdout(self) -> IO[str]:
        return sys.stdout

    @property
    def stderr(self) -> IO[str]:
        return sys.stderr

    @property
    def stdin(self) -> IO[str]:
        return sys.stdin

    def stdout_isatty(self) -> bool:
        return _isatty(sys.stdout)

    def stdin_isatty(self) -> bool:
        return _isatty(sys.stdin)

    def _warn(self, text: str) -> None:
        self.stderr.write(f"WARNING: {text}\n")
        self.stderr.flush()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from dockyard.engine import Engine

            self._engine = Engine(root=self.root, docker_config_dir=self.docker_config_dir, on_warning=self._warn)
        return self._engine


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
