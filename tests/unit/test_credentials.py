"""Docker's config.json credentials and credential helpers, read and written as the docker CLI does."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry.credentials import (
    HUB_SERVER_KEY,
    CredentialHelperError,
    CredentialStore,
    logout_keys,
    server_key,
)

pytestmark = pytest.mark.unit


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_config(directory: Path, doc: dict[str, object]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(doc))


def test_inline_auth_is_split_at_the_first_colon_and_nuls_trimmed(tmp_path: Path) -> None:
    write_config(tmp_path, {"auths": {"reg.example:5000": {"auth": b64("bob:pa:ss\x00")}}})
    creds = CredentialStore(tmp_path, env={}).get("reg.example:5000")
    assert (creds.username, creds.password) == ("bob", "pa:ss")


def test_old_username_password_fields_and_identity_token(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {"auths": {"a.example": {"username": "u", "password": "p"},
                   "b.example": {"auth": b64("dyuser:"), "identitytoken": "refresh-1"}}},
    )
    store = CredentialStore(tmp_path, env={})
    assert (store.get("a.example").username, store.get("a.example").password) == ("u", "p")
    b = store.get("b.example")
    assert (b.username, b.password, b.identity_token) == ("dyuser", "", "refresh-1")


def test_url_form_keys_match_by_hostname_and_hub_uses_its_url_key(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        {"auths": {"https://reg.example:5000/v2/": {"auth": b64("x:y")}, HUB_SERVER_KEY: {"auth": b64("hub:pw")}}},
    )
    store = CredentialStore(tmp_path, env={})
    assert store.get("reg.example:5000").username == "x"
    assert store.for_registry("docker.io").username == "hub"
    assert server_key("index.docker.io") == HUB_SERVER_KEY
    assert store.get("other.example").anonymous


def test_empty_username_in_auth_is_an_error(tmp_path: Path) -> None:
    write_config(tmp_path, {"auths": {"r.example": {"auth": b64(":pw")}}})
    with pytest.raises(InvalidArgument, match="invalid auth configuration file"):
        CredentialStore(tmp_path, env={}).get("r.example")


def test_docker_config_env_and_docker_auth_config_override(tmp_path: Path) -> None:
    write_config(tmp_path / "cfg", {"auths": {"r.example": {"auth": b64("file:pw")}}})
    env = {"DOCKER_CONFIG": str(tmp_path / "cfg")}
    assert CredentialStore(env=env).get("r.example").username == "file"
    env["DOCKER_AUTH_CONFIG"] = json.dumps({"auths": {"r.example": {"auth": b64("envuser:pw")}}})
    assert CredentialStore(env=env).get("r.example").username == "envuser"


def test_store_writes_0600_keeps_unknown_keys_and_reports_plaintext(tmp_path: Path) -> None:
    directory = tmp_path / "new" / ".docker"
    store = CredentialStore(directory, env={})
    result = store.store("localhost:5000", "bob", "pw")
    assert result.plaintext
    assert f"WARNING! Your credentials are stored unencrypted in '{directory / 'config.json'}'." in result.warning()
    assert stat.S_IMODE(os.stat(directory / "config.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700

    doc = json.loads((directory / "config.json").read_text())
    doc["proxies"] = {"default": {"httpProxy": "http://p:3128"}}
    (directory / "config.json").write_text(json.dumps(doc))
    assert not store.store("localhost:5000", "bob", "pw").plaintext  # unchanged: no warning
    store.store("other:1", "amy", "x")
    doc = json.loads((directory / "config.json").read_text())
    assert doc["proxies"] == {"default": {"httpProxy": "http://p:3128"}}
    assert doc["auths"]["localhost:5000"] == {"auth": b64("bob:pw")}

    store.erase("localhost:5000")
    assert CredentialStore(directory, env={}).get("localhost:5000").anonymous
    assert CredentialStore(directory, env={}).get("other:1").username == "amy"


def test_store_keeps_an_existing_files_mode_and_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    os.chmod(real, 0o640)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "config.json").symlink_to(real)
    CredentialStore(tmp_path / "d", env={}).store("r:1", "u", "p")
    assert (tmp_path / "d" / "config.json").is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert json.loads(real.read_text())["auths"]["r:1"]["auth"] == b64("u:p")


def test_identity_token_is_stored_with_an_empty_password(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path, env={})
    store.store("r:1", "dyuser", "ignored", identity_token="tok")
    assert json.loads((tmp_path / "config.json").read_text())["auths"]["r:1"] == {
        "auth": b64("dyuser:"), "identitytoken": "tok"}


@pytest.fixture
def fake_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real ``docker-credential-fake`` program on PATH keeping its secrets in a JSON file."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    db = tmp_path / "helper-db.json"
    db.write_text("{}")
    script = bindir / "docker-credential-fake"
    script.write_text(f"""#!/usr/bin/env python3
import json, sys
db = {str(db)!r}
data = json.load(open(db))
action = sys.argv[1]
raw = sys.stdin.read()
open(db + ".log", "a").write(action + " " + raw + "\\n")
if action == "store":
    req = json.loads(raw); data[req["ServerURL"]] = [req["Username"], req["Secret"]]
elif action == "get":
    if raw not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps({{"ServerURL": raw, "Username": data[raw][0], "Secret": data[raw][1]}}))
elif action == "erase":
    data.pop(raw, None)
elif action == "list":
    print(json.dumps({{k: v[0] for k, v in data.items()}}))
json.dump(data, open(db, "w"))
""")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return db


def test_helper_protocol_store_get_list_erase(tmp_path: Path, fake_helper: Path) -> None:
    cfg = tmp_path / "cfg"
    write_config(cfg, {"credsStore": "fake", "auths": {}})
    store = CredentialStore(cfg, env={})
    result = store.store("reg.example:5000", "bob", "pw")
    assert not result.plaintext
    assert json.loads((cfg / "config.json").read_text())["auths"] == {"reg.example:5000": {}}
    creds = store.get("reg.example:5000")
    assert (creds.username, creds.password) == ("bob", "pw")
    assert store.list()["reg.example:5000"] == "bob"
    assert "get reg.example:5000\n" in Path(str(fake_helper) + ".log").read_text()  # raw URL, no newline

    store.store("tok.example", "dyuser", "", identity_token="refresh-9")
    assert json.loads(fake_helper.read_text())["tok.example"] == ["<token>", "refresh-9"]
    assert store.get("tok.example").identity_token == "refresh-9"

    store.erase("reg.example:5000")
    assert store.get("reg.example:5000").anonymous  # "not found" is anonymous, not an error
    assert "reg.example:5000" not in json.loads((cfg / "config.json").read_text())["auths"]


def test_cred_helpers_take_precedence_over_creds_store_and_auths(tmp_path: Path, fake_helper: Path) -> None:
    fake_helper.write_text(json.dumps({"special.example": ["helperuser", "s"]}))
    write_config(tmp_path, {"credsStore": "missing-helper", "credHelpers": {"special.example": "fake"},
                            "auths": {"special.example": {"auth": b64("inline:x")}}})
    store = CredentialStore(tmp_path, env={})
    assert store.get("special.example").username == "helperuser"
    with pytest.raises(CredentialHelperError, match="docker-credential-missing-helper"):
        store.get("other.example")


def test_logout_erases_every_form_of_the_host() -> None:
    assert logout_keys("http://localhost:5000/v2/") == [
        "http://localhost:5000/v2/", "localhost:5000", "http://localhost:5000", "https://localhost:5000"]
