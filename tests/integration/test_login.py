"""``dockyard login`` / ``logout`` (cli.md §2.15) against htpasswd, token and TLS registries; then pull and
push with the stored credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.cli import Result, run_cli
from tests.helpers.images import import_image
from tests.helpers.registry import RegistryServer, TokenIssuer, make_tls, start_registry

pytestmark = pytest.mark.integration

WARNING = (
    "\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
    "Configure a credential helper to remove this warning. See\n"
    "https://docs.docker.com/go/credential-store/\n\n"
)


@pytest.fixture
def basic_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path / "basic", users={"dyuser": "dypass"})
    yield server
    server.stop()


def login(stdin: str, *argv: str) -> Result:
    return run_cli("login", *argv, stdin=stdin)


def config(store_root: Path) -> dict:
    path = store_root.parent / "docker-config" / "config.json"
    return json.loads(path.read_text())


def test_login_password_stdin_stores_and_warns_once(basic_registry: RegistryServer, store_root: Path) -> None:
    host = basic_registry.host
    path = store_root.parent / "docker-config" / "config.json"
    code, out, err = login("dypass\r\n", "-u", "dyuser", "--password-stdin", host)
    assert (code, out, err) == (0, "Login Succeeded\n", WARNING.format(path=path))
    assert config(store_root)["auths"][host] == {"auth": base64.b64encode(b"dyuser:dypass").decode()}
    assert path.stat().st_mode & 0o777 == 0o600
    # Written as Docker writes it: tab-indented, no newline after the closing brace.
    assert path.read_text() == json.dumps(config(store_root), indent="\t")
    # Same credentials again: the file does not change, so no warning.
    assert login("dypass\n", "-u", "dyuser", "--password-stdin", host) == (0, "Login Succeeded\n", "")
    # No flags: the stored credentials are tried first.
    code, out, err = login("", host)
    assert (code, out) == (0, "Login Succeeded\n")
    assert err == ("Authenticating with existing credentials... [Username: dyuser]\n\n Info -> To login with a "
                   "different account, run 'docker logout' followed by 'docker login'\n\n\n")

    # Pulls now authenticate with what was stored.
    code, out, err = run_cli("pull", f"{host}/dy/none:1")
    assert "manifest unknown" in err  # authenticated: the registry answered about the manifest itself

    code, out, err = run_cli("logout", host)
    assert (code, out, err) == (0, f"Removing login credentials for {host}\n", "")
    assert host not in config(store_root).get("auths", {})
    code, out, err = run_cli("pull", f"{host}/dy/none:1")
    assert code == 1 and "pull access denied" in err


def test_login_failures_and_flag_checks(basic_registry: RegistryServer, store_root: Path) -> None:
    host = basic_registry.host
    assert login("wrong\n", "-u", "dyuser", "--password-stdin", host) == (
        1, "", f"Error response from daemon: login attempt to http://{host}/v2/ failed with status: 401 Unauthorized\n"
    )
    assert not (store_root.parent / "docker-config" / "config.json").exists()
    assert login("", "-p", "x", "--password-stdin", host) == (
        1, "", "conflicting options: cannot specify both --password and --password-stdin\n"
    )
    assert login("", "--password-stdin", host) == (
        1, "", "the --password-stdin option requires --username to be set\n"
    )
    assert login("", "-u", "", host) == (1, "", "username is empty\n")
    assert login("", "-u", "dyuser", host) == (
        1, "", "Error: Cannot perform an interactive login from a non TTY device\n"
    )
    code, out, err = login("", "-u", "dyuser", "-p", "dypass", host)
    assert (code, out) == (0, "Login Succeeded\n")
    assert err.startswith("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")


def test_logout_rules(store_root: Path) -> None:
    cfg = store_root.parent / "docker-config"
    cfg.mkdir(parents=True)
    entry = {"auth": base64.b64encode(b"u:p").decode()}
    (cfg / "config.json").write_text(json.dumps({"auths": {
        "localhost:5000": entry, "https://localhost:5000": entry, "https://index.docker.io/v1/": entry,
        "docker.io": entry,
    }, "proxies": {"keep": "me"}}))
    assert run_cli("logout", "http://localhost:5000/v2/") == (0, "Removing login credentials for localhost:5000\n", "")
    doc = json.loads((cfg / "config.json").read_text())
    assert set(doc["auths"]) == {"https://index.docker.io/v1/", "docker.io"}
    assert doc["proxies"] == {"keep": "me"}
    assert run_cli("logout") == (0, "Removing login credentials for https://index.docker.io/v1/\n", "")
    # docker.io is not mapped to the Hub by logout.
    assert run_cli("logout", "docker.io") == (0, "Removing login credentials for docker.io\n", "")
    assert json.loads((cfg / "config.json").read_text())["auths"] == {}


def test_token_registry_login_then_push_and_pull(
    tmp_path: Path, store_root: Path, busybox_tar: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = TokenIssuer(tmp_path / "issuer", users={"dyuser": "dypass"})
    server = start_registry(tmp_path / "token", token=issuer)
    try:
        host = server.host
        assert login("dypass\n", "-u", "dyuser", "--password-stdin", host)[:2] == (0, "Login Succeeded\n")
        name = f"{host}/dy/tok:1"
        image_id = import_image(str(busybox_tar), name)
        code, _, err = run_cli("push", name)
        assert (code, err) == (0, "")
        monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "other-store"))
        code, _, err = run_cli("pull", name)
        assert (code, err) == (0, "")
        with Store.open(tmp_path / "other-store") as store:
            assert store.meta.image_for_tag(name) == image_id
    finally:
        server.stop()
        issuer.stop()


def test_tls_registry_login_and_pull(tmp_path: Path, store_root: Path) -> None:
    tls = make_tls(tmp_path / "tls")
    server = start_registry(tmp_path / "tlsreg", tls=tls, users={"dyuser": "dypass"})
    try:
        host = server.host
        # Loopback registries are reached without certificate checks, as Docker does.
        assert login("dypass\n", "-u", "dyuser", "--password-stdin", host)[:2] == (0, "Login Succeeded\n")
        code, _, err = run_cli("pull", f"{host}/dy/none:1")
        assert code == 1 and "manifest unknown" in err
    finally:
        server.stop()

