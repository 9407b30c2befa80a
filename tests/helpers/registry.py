"""Real ``docker-registry`` (Distribution 2.8) instances for tests, and an in-process token issuer.

Variants: plain HTTP on a free loopback port; htpasswd Basic auth; TLS with a CA and server certificate
generated here (the client trusts it through a certs.d directory, no system files touched); token auth
with ``TokenIssuer``, a small HTTP server signing RS256 JWTs the registry verifies against its cert.
Each start polls ``/v2/`` until the registry answers; ``stop()`` kills it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REGISTRY_BINARY = "docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for htpasswd through libcrypt (the only format Distribution accepts)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    if not hashed or not hashed.startswith("$2"):
        raise RuntimeError("libcrypt here cannot make bcrypt hashes")
    return hashed


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_tls(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TLSFiles:
    """A throwaway CA and a server certificate it signed, valid for ``hosts``."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=dockyard test CA", cwd=directory)
    sans = ",".join(f"IP:{h}" if h[0].isdigit() else f"DNS:{h}" for h in hosts)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", f"/CN={hosts[0]}", cwd=directory)
    (directory / "ext.cnf").write_text(f"subjectAltName={sans}\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf", cwd=directory)
    return TLSFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")


# -- a tiny RS256 signer (no third-party crypto in the test extra) ------------------------------------
def _der_items(data: bytes) -> list[bytes]:
    """The contents of the elements of a DER SEQUENCE (enough for a PKCS#1 RSA private key)."""

    def read_len(buf: bytes, pos: int) -> tuple[int, int]:
        first = buf[pos]
        if first < 0x80:
            return first, pos + 1
        n = first & 0x7F
        return int.from_bytes(buf[pos + 1 : pos + 1 + n], "big"), pos + 1 + n

    assert data[0] == 0x30
    length, pos = read_len(data, 1)
    end = pos + length
    items = []
    while pos < end:
        pos += 1  # tag
        size, pos = read_len(data, pos)
        items.append(data[pos : pos + size])
        pos += size
    return items


_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


class RS256Signer:
    def __init__(self, key_pem: Path) -> None:
        der = subprocess.run(
            ["openssl", "rsa", "-in", str(key_pem), "-outform", "DER", "-traditional"],
            check=True, capture_output=True,
        ).stdout
        items = _der_items(der)
        self.n = int.from_bytes(items[1], "big")
        self.d = int.from_bytes(items[3], "big")
        self.size = (self.n.bit_length() + 7) // 8

    def sign(self, message: bytes) -> bytes:
        digest_info = _SHA256_PREFIX + hashlib.sha256(message).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest_info) - 3) + b"\x00" + digest_info
        return pow(int.from_bytes(padded, "big"), self.d, self.n).to_bytes(self.size, "big")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class TokenRequest:
    method: str
    params: dict[str, list[str]]
    form: dict[str, list[str]]
    basic: tuple[str, str] | None


Policy = Callable[[str | None, list[tuple[str, str, list[str]]]], list[tuple[str, str, list[str]]]]


def grant_all(account: str | None, asked: list[tuple[str, str, list[str]]]) -> list[tuple[str, str, list[str]]]:
    return asked


class TokenIssuer:
    """An in-process token server (``/token``): GET with Basic, and POST with the refresh_token grant.

    ``users`` maps names to passwords; ``policy`` decides what access is granted; ``oauth=False`` makes
    POST answer 404 (a server without OAuth2). ``requests`` records what each call carried.
    """

    def __init__(self, directory: Path, *, service: str = "dockyard-test", issuer: str = "dockyard-issuer",
                 users: dict[str, str] | None = None, policy: Policy = grant_all, oauth: bool = True,
                 expires_in: int = 300) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "token.key", "-out", "token.crt",
                 "-days", "2", "-subj", "/CN=dockyard token issuer", cwd=directory)
        self.cert = directory / "token.crt"
        self._signer = RS256Signer(directory / "token.key")
        pem = self.cert.read_text()
        body = "".join(line for line in pem.splitlines() if "-----" not in line)
        self._x5c = [body]
        self.service = service
        self.issuer = issuer
        self.users = users or {}
        self.policy = policy
        self.oauth = oauth
        self.expires_in = expires_in
        self.requests: list[TokenRequest] = []
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> account
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def make_token(self, account: str | None, access: list[tuple[str, str, list[str]]]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self._x5c}
        claims = {
            "iss": self.issuer, "sub": account or "", "aud": self.service, "exp": now + self.expires_in,
            "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex,
            "access": [{"type": t, "name": n, "actions": a} for t, n, a in access],
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        return f"{signing_input}.{_b64url(self._signer.sign(signing_input.encode()))}"

    @staticmethod
    def _parse_scopes(scopes: list[str]) -> list[tuple[str, str, list[str]]]:
        out = []
        for item in scopes:
            for scope in item.split(" "):
                if not scope:
                    continue
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                out.append((kind, name, actions.split(",")))
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, doc: dict[str, object]) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _basic(self) -> tuple[str, str] | None:
                value = self.headers.get("Authorization", "")
                if not value.lower().startswith("basic "):
                    return None
                user, _, password = base64.b64decode(value[6:]).decode().partition(":")
                return user, password

            def do_GET(self) -> None:
                params = parse_qs(urlsplit(self.path).query)
                basic = self._basic()
                issuer.requests.append(TokenRequest("GET", params, {}, basic))
                account = None
                if basic is not None:
                    if issuer.users.get(basic[0]) != basic[1]:
                        self._reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                      "message": "incorrect username or password"}]})
                        return
                    account = basic[0]
                granted = issuer.policy(account, issuer._parse_scopes(params.get("scope", [])))
                doc: dict[str, object] = {"token": issuer.make_token(account, granted),
                                          "expires_in": issuer.expires_in}
                if params.get("offline_token") == ["true"] and account:
                    refresh = uuid.uuid4().hex
                    issuer.refresh_tokens[refresh] = account
                    doc["refresh_token"] = refresh
                self._reply(200, doc)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                issuer.requests.append(TokenRequest("POST", {}, form, self._basic()))
                if not issuer.oauth:
                    self._reply(404, {"error": "not found"})
                    return
                if form.get("grant_type") != ["refresh_token"]:
                    self._reply(400, {"error": "unsupported_grant_type"})
                    return
                account = issuer.refresh_tokens.get(form.get("refresh_token", [""])[0])
                if account is None:
                    self._reply(401, {"error": "invalid_grant"})
                    return
                granted = issuer.policy(account, issuer._parse_scopes(form.get("scope", [])))
                self._reply(200, {"access_token": issuer.make_token(account, granted),
                                  "expires_in": issuer.expires_in, "scope": " ".join(form.get("scope", []))})

        return Handler


@dataclass
class RegistryServer:
    host: str  # 127.0.0.1:<port>
    url: str  # base URL, http:// or https://
    root: Path
    process: subprocess.Popen[bytes]
    log: Path
    users: dict[str, str] = field(default_factory=dict)
    tls: TLSFiles | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def registry_config(
    storage: Path,
    listen: str,
    *,
    tls: tuple[Path, Path] | None = None,
    client_cas: tuple[Path, ...] = (),
    htpasswd: Path | None = None,
    token: TokenIssuer | None = None,
) -> str:
    """A ``docker-registry`` (Distribution 2.8) config: filesystem storage with deletes on, one listener,
    optional TLS (certificate, key) with client CAs, and htpasswd or token auth. Tests and the bench
    write registries from this one place."""
    lines = [
        "version: 0.1",
        "log:",
        "  level: error",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {storage}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: {listen}",
        f"  secret: {uuid.uuid4().hex}",
    ]
    if tls is not None:
        lines += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
        if client_cas:
            lines += ["    clientcas:", *(f"      - {ca}" for ca in client_cas)]
    if htpasswd is not None:
        lines += ["auth:", "  htpasswd:", "    realm: dockyard-realm", f"    path: {htpasswd}"]
    elif token is not None:
        lines += ["auth:", "  token:", f"    realm: {token.realm}", f"    service: {token.service}",
                  f"    issuer: {token.issuer}", f"    rootcertbundle: {token.cert}"]
    return "\n".join(lines) + "\n"


def start_registry(
    directory: Path,
    *,
    users: dict[str, str] | None = None,
    tls: TLSFiles | None = None,
    token: TokenIssuer | None = None,
) -> RegistryServer:
    """Start ``docker-registry`` on a free loopback port and wait until it answers."""
    if shutil.which(REGISTRY_BINARY) is None:
        raise RuntimeError("docker-registry is not installed; run ./dev setup")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    htpasswd: Path | None = None
    if users:
        htpasswd = directory / "htpasswd"
        htpasswd.write_text("".join(f"{u}:{bcrypt_hash(p)}\n" for u, p in users.items()))
    text = registry_config(
        directory / "data", f"127.0.0.1:{port}",
        tls=(tls.server_cert, tls.server_key) if tls is not None else None, htpasswd=htpasswd,
        token=None if users else token,
    )
    config = directory / "config.yml"
    config.write_text(text)
    log = directory / "registry.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OTEL_TRACES_EXPORTER": "none"})
    scheme = "https" if tls else "http"
    server = RegistryServer(f"127.0.0.1:{port}", f"{scheme}://127.0.0.1:{port}", directory, process, log,
                            dict(users or {}), tls)
    context = ssl.create_default_context(cafile=str(tls.ca_cert)) if tls else None
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()}")
        try:
            urllib.request.urlopen(f"{server.url}/v2/", timeout=1, context=context).close()
            return server
        except urllib.error.HTTPError:
            return server  # 401 is an answer too
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"docker-registry did not answer: {log.read_text()}") from None
            time.sleep(0.05)


def certs_dir_for(base: Path, server: RegistryServer) -> Path:
    """A certs.d root holding ``<host:port>/ca.crt`` for a TLS registry."""
    assert server.tls is not None
    target = base / server.host
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(server.tls.ca_cert, target / "ca.crt")
    return base
