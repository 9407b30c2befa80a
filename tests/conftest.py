"""Fixtures shared by every test package."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.images import ImageMaker
from tests.helpers.registry import RegistryServer, start_registry
from tests.helpers.rootfs import BUSYBOX, make_busybox_tar


@pytest.fixture
def store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty dockyard store root, also exported as DOCKYARD_ROOT for the CLI."""
    root = tmp_path / "store"
    monkeypatch.setenv("DOCKYARD_ROOT", str(root))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("DOCKYARD_CONFIG", str(tmp_path / "dockyard-config.toml"))
    return root


@pytest.fixture
def store(store_root: Path) -> Iterator[Store]:
    """The store at ``store_root``, open for the test and without problems at its end.

    Modules whose checks differ define their own ``store``."""
    s = Store.open(store_root)
    yield s
    assert s.check() == []
    s.close()


@pytest.fixture
def make(store: Store) -> ImageMaker:
    return ImageMaker(store)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryServer]:
    """A plain docker-registry (no auth, no TLS) on a loopback port."""
    server = start_registry(tmp_path / "registry")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real busybox root filesystem as a plain tar (built once per session)."""
    if not BUSYBOX.exists():
        pytest.fail("busybox-static is not installed; run ./dev setup")
    work = tmp_path_factory.mktemp("busybox")
    return make_busybox_tar(work / "busybox.tar", work)


def _engine_answers(sock: str) -> bool:
    """A socket file can outlive its dockerd; only an engine that answers /_ping counts."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2)
            conn.connect(sock)
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status_line = conn.recv(64).split(b"\r\n", 1)[0]
    except OSError:
        return False
    return status_line.startswith(b"HTTP/1.") and status_line.split(b" ")[1:2] == [b"200"]


@functools.cache
def docker_engine_host() -> str | None:
    """The socket of a real Docker engine to compare against, when one is running and answers."""
    host = os.environ.get("DOCKYARD_TEST_DOCKER_HOST")
    if host:
        return host
    for sock in ("/run/refdocker.sock",):
        if os.path.exists(sock) and _engine_answers(sock):
            return f"unix://{sock}"
    return None


@pytest.fixture
def docker_engine() -> str:
    host = docker_engine_host()
    if host is None or shutil.which("docker") is None:
        pytest.skip("no Docker engine running here")
    return host
