"""Which URLs serve a registry, and with what TLS: mirrors, insecure registries, certs.d.

Modelled on moby's ``lookupV2Endpoints``:
- ``docker.io`` is served by ``https://registry-1.docker.io``; for pulls the ``registry-mirrors`` come first.
- Any registry may have its own pull mirrors (``[mirrors."host"]`` in the settings file).
- An insecure registry (listed, in an insecure CIDR, or loopback — always insecure) is tried over HTTPS
  without certificate checks, then over plain HTTP.
- Otherwise HTTPS, with the CAs and client pair from ``<certs.d>/<host[:port]>/``.
Push and login never use mirrors.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InvalidArgument
from .settings import Settings

HUB_DOMAIN = "docker.io"
HUB_LEGACY_DOMAIN = "index.docker.io"
HUB_API_URL = "https://registry-1.docker.io"
HUB_INDEX_URL = "https://index.docker.io"

_ALWAYS_INSECURE = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class TLSConfig:
    """How to check a server: ``verify=False`` skips certificate checks (insecure registries only)."""

    verify: bool = True
    ca_files: tuple[Path, ...] = ()
    client_cert: tuple[Path, Path] | None = None  # (certificate, key)

    def ssl_context(self) -> ssl.SSLContext:
        if self.verify:
            ctx = ssl.create_default_context()
        else:
            # Nothing is verified, so the system roots need not be loaded (~40 ms, paid by every pull
            # from a loopback registry while probing https). Same protocol defaults as the default context.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        # certs.d CAs are *added to* the system roots, as Docker does.
        for ca in self.ca_files:
            ctx.load_verify_locations(cafile=str(ca))
        if self.client_cert is not None:
            ctx.load_cert_chain(str(self.client_cert[0]), str(self.client_cert[1]))
        return ctx


@dataclass(frozen=True)
class Endpoint:
    """One base URL to reach a registry's ``/v2/`` API under (no trailing slash)."""

    url: str
    mirror: bool = False

    @property
    def origin(self) -> tuple[str, str]:
        parts = urlsplit(self.url)
        return parts.scheme, parts.netloc

    @property
    def secure(self) -> bool:
        return self.url.startswith("https://")


def split_host_port(host: str) -> tuple[str, int | None]:
    """``host[:port]`` (with ``[v6]`` brackets) → (hostname, port)."""
    if host.startswith("["):
        end = host.find("]")
        name = host[1:end]
        rest = host[end + 1 :]
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, int(port) if port.isdigit() else None
    return host, None


def _as_ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def default_certs_dirs(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """``$DOCKYARD_CERTS_D``, else the rootless user directory (non-root) and ``/etc/docker/certs.d``."""
    env = os.environ if env is None else env
    explicit = env.get("DOCKYARD_CERTS_D")
    if explicit:
        return (Path(explicit),)
    dirs: list[Path] = []
    if os.geteuid() != 0:
        base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
        dirs.append(Path(base) / "docker" / "certs.d")
    dirs.append(Path("/etc/docker/certs.d"))
    return tuple(dirs)


def read_certs_dir(directory: Path) -> tuple[tuple[Path, ...], tuple[Path, Path] | None]:
    """CAs (``*.crt``) and the first client pair (``X.cert`` + ``X.key``) of one certs.d directory.

    A certificate without its key, or a key without its certificate, is an error (Docker's words).
    """
    cas: list[Path] = []
    pairs: list[tuple[Path, Path]] = []
    for entry in sorted(directory.iterdir()):
        if entry.suffix == ".crt":
            cas.append(entry)
        elif entry.suffix == ".cert":
            key = entry.with_suffix(".key")
            if not key.exists():
                raise InvalidArgument(
                    f"missing key {key.name} for client certificate {entry.name}. "
                    "CA certificates must use the extension .crt"
                )
            pairs.append((entry, key))
        elif entry.suffix == ".key":
            cert = entry.with_suffix(".cert")
            if not cert.exists():
                raise InvalidArgument(f"missing client certificate {cert.name} for key {entry.name}")
    return tuple(cas), (pairs[0] if pairs else None)


class Hosts:
    """Endpoint and TLS decisions for every registry, from the settings and certs.d."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        certs_dirs: Sequence[Path] | None = None,
        resolve: bool = True,
        always_insecure: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = _ALWAYS_INSECURE,
    ) -> None:
        self.settings = settings or Settings()
        self.certs_dirs = tuple(certs_dirs) if certs_dirs is not None else default_certs_dirs()
        # Docker resolves a hostname to test it against insecure CIDRs; only worth a DNS query when
        # the user listed CIDRs beyond the built-in loopback ones.
        self._resolve = resolve
        # Docker treats loopback as insecure unconditionally; tests of certificate checks switch it off.
        self._always_insecure = tuple(always_insecure)

    @cached_property
    def _insecure_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return self._always_insecure + tuple(self.settings.insecure_networks)

    def is_insecure(self, host: str) -> bool:
        """True for registries reached without certificate checks and with plain-HTTP fallback."""
        if host in self.settings.insecure_registries:
            return True
        name, _ = split_host_port(host)
        ip = _as_ip("127.0.0.1" if name == "localhost" else name)
        if ip is not None:
            return any(ip in net for net in self._insecure_networks)
        if self._resolve and self.settings.insecure_networks:
            try:
                infos = socket.getaddrinfo(name, None)
            except OSError:
                return False
            for info in infos:
                addr = _as_ip(str(info[4][0]).split("%")[0])
                if addr is not None and any(addr in net for net in self._insecure_networks):
                    return True
        return False

    def tls_for(self, host: str) -> TLSConfig:
        """TLS settings for ``host[:port]`` (as in the URL): insecure, or certs.d CAs and client pair."""
        if self.is_insecure(host):
            return TLSConfig(verify=False)
        for root in self.certs_dirs:
            directory = root / host
            if directory.is_dir():
                cas, pair = read_certs_dir(directory)
                return TLSConfig(ca_files=cas, client_cert=pair)
        return TLSConfig()

    def endpoints(self, registry: str, *, push: bool = False) -> list[Endpoint]:
        """Base URLs to try, in order, for the registry domain ``registry`` (``docker.io``, ``host:port``)."""
        if registry in (HUB_DOMAIN, HUB_LEGACY_DOMAIN):
            out = [] if push else [Endpoint(m.rstrip("/"), mirror=True) for m in self.settings.registry_mirrors]
            out.append(Endpoint(HUB_API_URL))
            return out
        out = [] if push else [Endpoint(m.rstrip("/"), mirror=True) for m in self.settings.mirrors.get(registry, ())]
        out.append(Endpoint(f"https://{registry}"))
        if self.is_insecure(registry):
            out.append(Endpoint(f"http://{registry}"))
        return out
