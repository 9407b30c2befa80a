"""The peers' daemons, owned by the bench: a private dockerd and docker-registry instances on loopback.

The shared reference engine on /run/refdocker.sock is never used: the bench's own dockerd has its own data
root, exec root, socket and pidfile under the work dir, so its timings are not disturbed by (and do not
disturb) anyone else's tests. Registries are started like the test fixtures do (a generated config, a free
loopback port, polling /v2/ until it answers) but without importing the test helpers' pytest world.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


class PeerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise PeerError(f"{what} did not come up; log: {log}\n{_tail(log)}")
        time.sleep(0.05)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class DockerDaemon:
    """A dockerd of the bench's own; ``env`` points the docker CLI at it."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "docker"
        self.socket = self.dir / "docker.sock"
        self.pidfile = self.dir / "docker.pid"
        self.log = self.dir / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_CONFIG": str(workdir / "docker-config"),
            "DOCKER_BUILDKIT": "0",  # the legacy builder needs no buildx plugin and runs RUN with --network=none
        }

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._reap_stale()
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                ["dockerd", "--data-root", str(self.dir / "data"), "--exec-root", str(self.dir / "exec"),
                 "--host", f"unix://{self.socket}", "--pidfile", str(self.pidfile),
                 "--iptables=false", "--bridge=none"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise PeerError(f"dockerd exited ({self.process.returncode}):\n{_tail(self.log)}")
            return subprocess.run(["docker", "version"], env=self.env, capture_output=True).returncode == 0

        _wait(answers, "dockerd", self.log, timeout=60)

    def _reap_stale(self) -> None:
        # A bench killed mid-run leaves its own dockerd behind; only that one (by its pidfile) is stopped.
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return
        if str(self.socket).encode() in cmdline:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def docker(self, *args: str, check: bool = True, quiet: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["docker", *args], env=self.env, text=True, capture_output=quiet)
        if check and result.returncode != 0:
            raise PeerError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def remove_all_images(self) -> None:
        """An engine with no images (and no leftover build containers) at all."""
        containers = self.docker("ps", "-aq").stdout.split()
        if containers:
            self.docker("rm", "-f", *containers)
        ids = sorted(set(self.docker("images", "-aq").stdout.split()))
        if ids:
            self.docker("rmi", "-f", *ids, check=False)
        # A second pass catches parents that were still referenced during the first.
        ids = sorted(set(self.docker("images", "-aq").stdout.split()))
        if ids:
            self.docker("rmi", "-f", *ids)


class Registry:
    """A docker-registry on a fixed loopback port; ``reset()`` restarts it over empty storage."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.dir = directory
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.log = directory / "registry.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def storage(self) -> Path:
        return self.dir / "data"

    def start(self) -> None:
        if shutil.which("docker-registry") is None:
            raise PeerError("docker-registry is not installed; run ./dev setup")
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "config.yml"
        from tests.helpers.registry import registry_config  # the same config the tests run

        config.write_text(registry_config(self.storage, self.host))
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                ["docker-registry", "serve", str(config)], stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "OTEL_TRACES_EXPORTER": "none"}, start_new_session=True,
            )

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise PeerError(f"docker-registry exited:\n{_tail(self.log)}")
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).close()
                return True
            except urllib.error.HTTPError:
                return True
            except OSError:
                return False

        _wait(answers, "docker-registry", self.log, timeout=15)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def reset(self) -> None:
        """Empty storage, same port: a push to it has nothing to skip or mount."""
        self.stop()
        shutil.rmtree(self.storage, ignore_errors=True)
        self.start()


def podman_base(workdir: Path) -> list[str] | None:
    """podman with private rootful vfs storage under the work dir, or None when podman is absent."""
    if shutil.which("podman") is None:
        return None
    root = workdir / "podman"
    return ["podman", "--root", str(root / "root"), "--runroot", str(root / "run"), "--storage-driver", "vfs"]


def tool_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "absent"
