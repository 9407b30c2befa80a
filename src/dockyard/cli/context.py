"""What a command handler gets besides its flags: streams, the program name, store and config places,
and the engine (built on first use)."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import IO, Any
    from dockyard.engine import Engine


def default_store_root(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``DOCKYARD_ROOT``, else ``/var/lib/dockyard`` for root, else ``$XDG_DATA_HOME/dockyard``."""
    from pathlib import Path

    return Path(_default_store_root_text(environ))


def _default_store_root_text(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if env.get("DOCKYARD_ROOT"):
        return env["DOCKYARD_ROOT"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "/var/lib/dockyard"
    data_home = env.get("XDG_DATA_HOME") or os.path.join(_home(), ".local", "share")
    return os.path.join(data_home, "dockyard")


def default_docker_config_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """Docker's own config directory: ``$DOCKER_CONFIG``, else ``~/.docker``."""
    from pathlib import Path

    return Path(_default_docker_config_dir_text(environ))


def _default_docker_config_dir_text(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONFIG"):
        return env["DOCKER_CONFIG"]
    return os.path.join(_home(), ".docker")


def _home() -> str:
    """``Path.home()`` as text."""
    home = os.path.expanduser("~")
    if home[:1] == "~":
        raise RuntimeError("Could not determine home directory.")
    return home


class Context:
    """Per-invocation state shared by every command handler.

    The streams are looked up on ``sys`` each time, so tests that swap ``sys.stdout`` (pytest's capsys)
    see the output.

    ``root`` and ``docker_config_dir`` may be given as text; they become ``Path`` objects (and their
    defaults are worked out) when first read, so a command that only opens files by name, such as
    ``images``, never imports ``pathlib`` (several ms of start-up).
    """

    def __init__(
        self,
        *,
        prog: str = "dockyard",
        root: str | Path | None = None,
        docker_config_dir: str | Path | None = None,
        debug: bool = False,
        log_level: str = "info",
        command_path: str = "",
    ) -> None:
        self.prog = prog
        self._root = root
        self._docker_config_dir = docker_config_dir
        self.debug = debug
        self.log_level = log_level
        self.command_path = command_path
        self._engine: Any = None

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = _default_store_root_text()
        if isinstance(self._root, str):
            from pathlib import Path

            self._root = Path(self._root)
        return self._root

    @root.setter
    def root(self, value: str | Path) -> None:
        self._root = value

    @property
    def docker_config_dir(self) -> Path:
        if self._docker_config_dir is None:
            self._docker_config_dir = _default_docker_config_dir_text()
        if isinstance(self._docker_config_dir, str):
            from pathlib import Path

            self._docker_config_dir = Path(self._docker_config_dir)
        return self._docker_config_dir

    @docker_config_dir.setter
    def docker_config_dir(self, value: str | Path) -> None:
        self._docker_config_dir = value

    def docker_config_file(self, name: str) -> str:
        """The path of a file in docker's config directory, as text (without building a ``Path``)."""
        if self._docker_config_dir is None:
            self._docker_config_dir = _default_docker_config_dir_text()
        return os.path.join(self._docker_config_dir, name)

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

            if self._root is None:
                self._root = _default_store_root_text()
            if self._docker_config_dir is None:
                self._docker_config_dir = _default_docker_config_dir_text()
            self._engine = Engine(root=self._root, docker_config_dir=self._docker_config_dir, on_warning=self._warn)
        return self._engine


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
