"""A private containerd for interop tests: its own root, state, socket and config in a temp directory.

The config turns off everything that would reach outside that directory or that the tests do not need:
the CRI plugin, the snapshotters that mount or need special filesystems (only ``native``, which copies,
stays), the task runtimes and cgroup monitor, and the ``opt`` plugin (which writes ``/opt/containerd``).
The system's containerd and dockerd's are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

_DISABLED = [
    "io.containerd.grpc.v1.cri",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.overlayfs",
    "io.containerd.internal.v1.opt",
    "io.containerd.internal.v1.restart",
    "io.containerd.runtime.v1.linux",
    "io.containerd.runtime.v2.task",
    "io.containerd.monitor.v1.cgroups",
    "io.containerd.service.v1.tasks-service",
    "io.containerd.grpc.v1.tasks",
]


class ContainerdUnavailable(Exception):
    """containerd or ctr is missing, or the daemon did not come up; the reason says which."""


@dataclass
class Containerd:
    workdir: str
    process: subprocess.Popen[bytes]
    address: str
    log_path: str
    env: dict[str, str] = field(default_factory=dict)

    def ctr(
        self, namespace: str, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            ["ctr", "--address", self.address, "-n", namespace, *args],
            input=input, capture_output=True, env=self.env, timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed ({done.returncode}): {done.stderr.decode()}")
        return done

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_containerd(timeout: float = 15) -> Containerd:
    """Start a private containerd; raises ContainerdUnavailable (with the reason) when it cannot run here."""
    for tool in ("containerd", "ctr"):
        if shutil.which(tool) is None:
            raise ContainerdUnavailable(f"{tool} is not installed")
    if os.geteuid() != 0:
        raise ContainerdUnavailable("containerd needs root")
    # A short directory of its own: the socket path must fit in sun_path (108 bytes).
    workdir = tempfile.mkdtemp(prefix="dyctd-", dir="/tmp")
    address = os.path.join(workdir, "containerd.sock")
    config = os.path.join(workdir, "config.toml")
    disabled = ", ".join(f'"{p}"' for p in _DISABLED)
    with open(config, "w") as f:
        f.write(
            f'version = 2\nroot = "{workdir}/root"\nstate = "{workdir}/state"\n'
            f"disabled_plugins = [{disabled}]\n"
            f'[grpc]\n  address = "{address}"\n'
            f'[debug]\n  address = ""\n'
            f'[metrics]\n  address = ""\n'
        )
    log_path = os.path.join(workdir, "containerd.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTAINERD_", "DOCKER_"))}
    env["CONTAINERD_SNAPSHOTTER"] = "native"  # ctr's default is overlayfs, disabled above
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["containerd", "--config", config], stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
    daemon = Containerd(workdir, process, address, log_path, env)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            reason = _tail(log_path)
            daemon.stop()
            raise ContainerdUnavailable(f"containerd exited with {process.returncode}: {reason}")
        if os.path.exists(address):
            done = subprocess.run(["ctr", "--address", address, "version"], capture_output=True, env=env)
            if done.returncode == 0:
                return daemon
        if time.monotonic() > deadline:
            reason = _tail(log_path)
            daemon.stop()
            raise ContainerdUnavailable(f"containerd did not answer within {timeout:.0f}s: {reason}")
        time.sleep(0.05)


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"
