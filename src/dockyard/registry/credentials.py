"""Docker's ``config.json`` credentials and ``docker-credential-*`` helpers, shared with the docker CLI.

File: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``. Precedence for a server:
``credHelpers[server]`` → ``credsStore`` → the inline ``auths`` entry. ``DOCKER_AUTH_CONFIG`` (JSON with
``auths``) overrides them all. Docker Hub's key is ``https://index.docker.io/v1/``. Rewrites are atomic
(temp file + rename, following a symlinked target), keep every unknown key, create the directory 0700
and a new file 0600, and keep an existing file's mode.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomicfile import write_atomically
from ..errors import InvalidArgument, Unavailable

HUB_SERVER_KEY = "https://index.docker.io/v1/"
TOKEN_USERNAME = "<token>"  # helpers store identity tokens under this user name
HELPER_NOT_FOUND = "credentials not found in native keychain"

PLAINTEXT_WARNING = (
    "\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
    "Configure a credential helper to remove this warning. See\n"
    "https://docs.docker.com/go/credential-store/\n\n"
)


@dataclass(frozen=True)
class AuthConfig:
    """What to authenticate with at one registry; all empty means anonymous."""

    username: str = ""
    password: str = ""
    identity_token: str = ""  # an OAuth2 refresh token from a token login
    registry_token: str = ""  # a bearer token to send as is
    server_address: str = ""

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def __repr__(self) -> str:  # never print secrets
        return f"AuthConfig(username={self.username!r}, server_address={self.server_address!r})"


@dataclass(frozen=True)
class StoreResult:
    """Where credentials went; ``plaintext`` means Docker's unencrypted-storage warning applies."""

    path: Path
    plaintext: bool

    def warning(self) -> str:
        return PLAINTEXT_WARNING.format(path=self.path) if self.plaintext else ""


class CredentialHelperError(Unavailable):
    """A ``docker-credential-*`` helper failed (its stdout message is kept)."""


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    explicit = env.get("DOCKER_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(env.get("HOME") or Path.home()) / ".docker"


def convert_to_hostname(server: str) -> str:
    """docker/cli's ConvertToHostname: drop ``http(s)://`` and anything after the first ``/``."""
    stripped = server
    if stripped.startswith("http://"):
        stripped = stripped[len("http://") :]
    elif stripped.startswith("https://"):
        stripped = stripped[len("https://") :]
    return stripped.split("/", 1)[0]


def server_key(registry: str) -> str:
    """The config.json key for a registry domain: the Hub URL for docker.io, else ``host[:port]``."""
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return HUB_SERVER_KEY
    return registry


def logout_keys(server: str) -> list[str]:
    """What ``docker logout`` erases: the argument, its hostname, and both URL forms of it."""
    host = convert_to_hostname(server)
    keys = [server]
    for key in (host, f"http://{host}", f"https://{host}"):
        if key not in keys:
            keys.append(key)
    return keys


def decode_auth(encoded: str) -> tuple[str, str]:
    """``base64(user:pass)`` → (user, pass); split at the first colon, NULs trimmed from the password."""
    if not encoded:
        return "", ""
    try:
        decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("invalid auth configuration file") from None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise InvalidArgument("invalid auth configuration file")
    return user, password.strip("\x00")


def encode_auth(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


HelperRunner = Callable[[str, str, bytes], tuple[int, bytes]]


def run_helper_program(helper: str, action: str, data: bytes) -> tuple[int, bytes]:
    """Run ``docker-credential-<helper> <action>`` with ``data`` on stdin; stderr passes through."""
    program = f"docker-credential-{helper}"
    try:
        proc = subprocess.run([program, action], input=data, stdout=subprocess.PIPE, timeout=60, check=False)
    except FileNotFoundError:
        raise CredentialHelperError(
            f'error getting credentials - err: exec: "{program}": executable file not found in $PATH, out: ``'
        ) from None
    except subprocess.TimeoutExpired:
        raise CredentialHelperError(f"error getting credentials - err: {program} timed out") from None
    return proc.returncode, proc.stdout


class CredentialStore:
    """Read and write credentials the way the docker CLI does."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        run_helper: HelperRunner = run_helper_program,
    ) -> None:
        self._env = os.environ if env is None else env
        self.directory = directory if directory is not None else config_dir(self._env)
        self.path = self.directory / "config.json"
        self._run_helper = run_helper

    # -- file -----------------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        if not data.strip():
            return {}
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InvalidArgument(f"loading config file {self.path}: {e}") from None
        if not isinstance(doc, dict):
            raise InvalidArgument(f"loading config file {self.path}: not a JSON object")
        return doc

    def _save(self, doc: dict[str, Any]) -> None:
        target = self.path.resolve() if self.path.is_symlink() else self.path
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            st = target.stat()
            mode, owner = st.st_mode & 0o7777, (st.st_uid, st.st_gid)
        except FileNotFoundError:
            mode, owner = 0o600, None
        text = json.dumps(doc, indent="\t")  # as Docker's json.MarshalIndent: no trailing newline
        write_atomically(target, text.encode("utf-8"), mode=mode, prefix=".config.json.", owner=owner)

    @staticmethod
    def _helper_for(doc: Mapping[str, Any], server: str) -> str:
        helpers = doc.get("credHelpers") or {}
        host = convert_to_hostname(server)
        if isinstance(helpers, dict):
            for key in (server, host):
                if isinstance(helpers.get(key), str) and helpers[key]:
                    return str(helpers[key])
        store = doc.get("credsStore")
        return store if isinstance(store, str) else ""

    # -- lookups --------------------------------------------------------------------------------
    def get(self, server: str) -> AuthConfig:
        """Credentials for a server key (``host[:port]`` or the Hub URL); anonymous when none."""
        env_auths = self._env_auths()
        if env_auths is not None:
            entry = _find_entry(env_auths, server)
            if entry is not None:
                return _entry_to_auth(entry, server)
        doc = self._load()
        helper = self._helper_for(doc, server)
        if helper:
            return self._helper_get(helper, server)
        entry = _find_entry(doc.get("auths") or {}, server)
        return _entry_to_auth(entry, server) if entry is not None else AuthConfig(server_address=server)

    def for_registry(self, registry: str) -> AuthConfig:
        """Credentials for a registry domain as found in a reference (``docker.io`` → the Hub key)."""
        return self.get(server_key(registry))

    def _env_auths(self) -> Mapping[str, Any] | None:
        raw = self._env.get("DOCKER_AUTH_CONFIG")
        if not raw:
            return None
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidArgument("DOCKER_AUTH_CONFIG is not valid JSON") from None
        auths = doc.get("auths") if isinstance(doc, dict) else None
        return auths if isinstance(auths, dict) else None

    def _helper_get(self, helper: str, server: str) -> AuthConfig:
        code, out = self._run_helper(helper, "get", server.encode())
        text = out.decode("utf-8", errors="replace").strip()
        if code != 0:
            if text == HELPER_NOT_FOUND:
                return AuthConfig(server_address=server)
            raise CredentialHelperError(f"error getting credentials - err: exit status {code}, out: `{text}`")
        try:
            reply = json.loads(out)
        except json.JSONDecodeError:
            raise CredentialHelperError(f"error getting credentials - err: invalid helper output, out: `{text}`") from None
        username = str(reply.get("Username", ""))
        secret = str(reply.get("Secret", ""))
        if username == TOKEN_USERNAME:
            return AuthConfig(identity_token=secret, server_address=server)
        return AuthConfig(username=username, password=secret, server_address=server)

    # -- changes --------------------------------------------------------------------------------
    def store(self, server: str, username: str, secret: str, *, identity_token: str = "") -> StoreResult:
        """Save credentials for ``server`` (a key as ``docker login`` writes it)."""
        doc = self._load()
        helper = self._helper_for(doc, server)
        auths = doc.setdefault("auths", {})
        if not isinstance(auths, dict):
            raise InvalidArgument(f"loading config file {self.path}: auths is not an object")
        if helper:
            payload = {
                "ServerURL": server,
                "Username": TOKEN_USERNAME if identity_token else username,
                "Secret": identity_token or secret,
            }
            code, out = self._run_helper(helper, "store", json.dumps(payload).encode())
            if code != 0:
                text = out.decode("utf-8", errors="replace").strip()
                raise CredentialHelperError(f"error storing credentials - err: exit status {code}, out: `{text}`")
            if auths.get(server) != {}:
                auths[server] = {}  # the marker docker leaves beside a helper
                self._save(doc)
            return StoreResult(self.path, plaintext=False)
        entry: dict[str, Any] = {"auth": encode_auth(username, "" if identity_token else secret)}
        if identity_token:
            entry["identitytoken"] = identity_token
        changed = auths.get(server) != entry
        if changed:
            auths[server] = entry
            self._save(doc)
        return StoreResult(self.path, plaintext=changed)

    def erase(self, server: str) -> None:
        """Forget one server key, in its helper and in ``auths``; a missing entry is not an error."""
        doc = self._load()
        helper = self._helper_for(doc, server)
        failure: CredentialHelperError | None = None
        if helper:
            code, out = self._run_helper(helper, "erase", server.encode())
            text = out.decode("utf-8", errors="replace").strip()
            if code != 0 and text != HELPER_NOT_FOUND:
                failure = CredentialHelperError(text or f"exit status {code}")
        auths = doc.get("auths")
        if isinstance(auths, dict) and server in auths:
            del auths[server]
            self._save(doc)
        if failure is not None:
            raise failure

    def list(self) -> dict[str, str]:
        """Server key → user name, from the file and the default helper (``docker-credential-* list``)."""
        doc = self._load()
        out: dict[str, str] = {}
        for key, entry in (doc.get("auths") or {}).items():
            if isinstance(entry, dict):
                out[key] = _entry_to_auth(entry, key).username if entry else ""
        store = doc.get("credsStore")
        if isinstance(store, str) and store:
            code, data = self._run_helper(store, "list", b"unused")
            if code == 0:
                try:
                    out.update({str(k): str(v) for k, v in json.loads(data).items()})
                except (json.JSONDecodeError, AttributeError):
                    pass
        return out


def _find_entry(auths: Mapping[str, Any], server: str) -> Mapping[str, Any] | None:
    """Exact key first, then any key whose hostname equals the server's (URL-form keys)."""
    entry = auths.get(server)
    if isinstance(entry, dict):
        return entry
    wanted = convert_to_hostname(server)
    for key, value in auths.items():
        if isinstance(value, dict) and convert_to_hostname(key) == wanted:
            return value
    return None


def _entry_to_auth(entry: Mapping[str, Any], server: str) -> AuthConfig:
    username = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    if entry.get("auth"):
        username, password = decode_auth(str(entry["auth"]))
    return AuthConfig(
        username=username,
        password=password,
        identity_token=str(entry.get("identitytoken") or ""),
        registry_token=str(entry.get("registrytoken") or ""),
        server_address=server,
    )
