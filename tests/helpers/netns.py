"""Registries under a real host name, in a private network + mount namespace of their own.

Docker treats loopback registries as insecure, so a registry on 127.0.0.1 never proves that certificates are
checked. Here the registries listen on a TEST-NET-1 address (192.0.2.10) that exists only on the loopback
device of a fresh network namespace, and a hosts file bind-mounted over ``/etc/hosts`` (in that namespace's
mount namespace only) gives it a name. No packet can leave the namespace: it has no device but ``lo``.

Two halves in one file:
- ``NamespaceLab`` (the pytest side) starts ``unshare --net --mount -- python netns.py <spec.json>`` and runs
  commands inside with ``nsenter``; closing it ends the driver, which kills its registries, and the namespace
  goes with the last process in it.
- ``main`` (the driver, run inside the namespace, stdlib only) brings ``lo`` up, adds the address, mounts the
  hosts file, starts each ``docker-registry`` and waits until it accepts connections, prints ``ready``, then
  waits for its stdin to close.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ADDRESS = "192.0.2.10"  # TEST-NET-1 (RFC 5737): routed nowhere, and here only inside the namespace
_TOOLS = ("unshare", "nsenter", "ip", "mount", "openssl", "docker-registry")
_READY_TIMEOUT = 20.0


def unavailable_reason() -> str | None:
    """Why namespaced registries cannot run here (for a skip), or None when they can."""
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        return f"not installed: {', '.join(missing)}"
    try:
        probe = subprocess.run(["unshare", "--net", "--mount", "--", "ip", "link", "set", "lo", "up"],
                               capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if probe.returncode != 0:
        return f"network/mount namespaces not permitted here: {probe.stderr.decode(errors='replace').strip()}"
    return None


@dataclass(frozen=True)
class RegistrySpec:
    """One registry for the driver: its Distribution config and where it listens (``ip:port``)."""

    config: Path
    log: Path
    listen: str


def write_registry_config(
    directory: Path,
    listen: str,
    *,
    tls: tuple[Path, Path] | None = None,
    client_cas: tuple[Path, ...] = (),
    htpasswd: Path | None = None,
) -> RegistrySpec:
    """A Distribution config listening on ``listen``: TLS (certificate, key), client CAs, htpasswd auth."""
    directory.mkdir(parents=True, exist_ok=True)
    # Imported here: this file also runs as the namespace driver, where the tests package is not on the path.
    from tests.helpers.registry import registry_config

    text = registry_config(directory / "data", listen, tls=tls, client_cas=client_cas, htpasswd=htpasswd)
    config = directory / "config.yml"
    config.write_text(text)
    return RegistrySpec(config, directory / "registry.log", listen)


class NamespaceLab:
    """A running driver: ``run`` executes a command inside its namespaces; ``close`` tears everything down."""

    def __init__(self, workdir: Path, hosts: dict[str, str], registries: list[RegistrySpec]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        hosts_file = workdir / "hosts"
        hosts_file.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost\n"
                              + "".join(f"{ip}\t{name}\n" for name, ip in hosts.items()))
        spec = workdir / "netns.json"
        spec.write_text(json.dumps({
            "address": ADDRESS,
            "hosts_file": str(hosts_file),
            "registries": [{"config": str(r.config), "log": str(r.log), "listen": r.listen} for r in registries],
        }))
        self._stderr = workdir / "driver.log"
        with open(self._stderr, "wb") as err:
            self.process = subprocess.Popen(
                ["unshare", "--net", "--mount", "--propagation", "private", "--",
                 sys.executable, str(Path(__file__).resolve()), str(spec)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()  # the driver's own deadline bounds this
        if line != "ready":
            self.close()
            raise RuntimeError(f"namespace driver failed: {line!r}\n{self._stderr.read_text()}")

    def run(self, argv: list[str], *, env: dict[str, str], stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``argv`` in the driver's network and mount namespaces."""
        return subprocess.run(
            ["nsenter", f"--target={self.process.pid}", "--net", "--mount", "--", *argv],
            input=stdin, capture_output=True, text=True, env=env, timeout=timeout,
        )

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the driver's signal to stop its registries and exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> NamespaceLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the driver, inside the namespace ---------------------------------------------------------------
def _wait_listening(listen: str, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    host, _, port = listen.rpartition(":")
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry on {listen} exited: {log.read_text()}")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry on {listen} did not listen: {log.read_text()}") from None
            time.sleep(0.05)


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    # Only what this namespace holds is changed: its own lo, and /etc/hosts in its private mount namespace.
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{spec['address']}/32", "dev", "lo"], check=True)
    subprocess.run(["mount", "--bind", spec["hosts_file"], "/etc/hosts"], check=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        deadline = time.monotonic() + _READY_TIMEOUT
        for reg in spec["registries"]:
            with open(reg["log"], "wb") as out:
                processes.append(subprocess.Popen(
                    ["docker-registry", "serve", reg["config"]], stdout=out, stderr=subprocess.STDOUT,
                    env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
                ))
        for reg, process in zip(spec["registries"], processes):
            _wait_listening(reg["listen"], process, Path(reg["log"]), deadline)
        print("ready", flush=True)
        sys.stdin.buffer.read()  # until the test closes our stdin (or dies)
    except Exception as exc:
        print("error: " + str(exc).replace("\n", " | "), flush=True)
        return 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
