"""Authentication against real docker-registry 2.8: htpasswd Basic, token auth, TLS through certs.d."""

from __future__ import annotations

import io
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import Forbidden, Unauthorized
from dockyard.registry.client import RegistryClient
from dockyard.registry.credentials import AuthConfig
from dockyard.registry.errors import ConnectionFailed
from dockyard.registry.hosts import Endpoint, Hosts
from dockyard.registry.transport import Transport
from tests.helpers.registry import (
    RegistryServer,
    TokenIssuer,
    certs_dir_for,
    make_tls,
    start_registry,
)

pytestmark = pytest.mark.integration

NO_CERTS = Hosts(certs_dirs=[])


def upload(client: RegistryClient, repo: str, data: bytes) -> Digest:
    digest = Digest.of(data)
    client.upload_blob(repo, digest, len(data), lambda: io.BytesIO(data))
    return digest


# -- htpasswd Basic -------------------------------------------------------------------------------
@pytest.fixture
def basic_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path / "basic", users={"alice": "s3cret"})
    yield server
    server.stop()


def test_basic_auth_with_the_right_password(basic_registry: RegistryServer) -> None:
    client = RegistryClient(basic_registry.host, transport=Transport(hosts=NO_CERTS),
                            credentials=AuthConfig("alice", "s3cret"))
    digest = upload(client, "dy/basic", b"payload")
    assert client.head_blob("dy/basic", digest) == 7
    assert client.login() is None  # Basic logins yield no identity token


@pytest.mark.parametrize("creds", [AuthConfig("alice", "wrong"), AuthConfig()])
def test_basic_auth_wrong_or_missing_password_is_unauthorized(basic_registry: RegistryServer, creds: AuthConfig) -> None:
    client = RegistryClient(basic_registry.host, transport=Transport(hosts=NO_CERTS), credentials=creds)
    with pytest.raises(Unauthorized) as info:
        client.list_tags("dy/basic")
    assert str(info.value) == "unauthorized: authentication required"


def test_basic_login_failure_wording(basic_registry: RegistryServer) -> None:
    client = RegistryClient(basic_registry.host, transport=Transport(hosts=NO_CERTS),
                            credentials=AuthConfig("alice", "wrong"))
    with pytest.raises(Unauthorized) as info:
        client.login()
    assert str(info.value) == (
        f"login attempt to http://{basic_registry.host}/v2/ failed with status: 401 Unauthorized")


# -- token auth -----------------------------------------------------------------------------------
@pytest.fixture
def issuer(tmp_path: Path) -> Iterator[TokenIssuer]:
    server = TokenIssuer(tmp_path / "issuer", users={"bob": "pw"})
    yield server
    server.stop()


@pytest.fixture
def token_registry(tmp_path: Path, issuer: TokenIssuer) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path / "token-reg", token=issuer)
    yield server
    server.stop()


def test_token_auth_fetches_and_caches_tokens_per_scope(token_registry: RegistryServer, issuer: TokenIssuer) -> None:
    client = RegistryClient(token_registry.host, transport=Transport(hosts=NO_CERTS),
                            credentials=AuthConfig("bob", "pw"))
    digest = upload(client, "dy/tok", b"data")
    assert client.head_blob("dy/tok", digest) == 4
    assert client.head_blob("dy/tok", digest) == 4
    gets = [r for r in issuer.requests if r.method == "GET"]
    assert gets[0].params["scope"] == ["repository:dy/tok:push,pull"]
    assert gets[0].params["service"] == [issuer.service]
    assert gets[0].params["account"] == ["bob"]
    assert gets[0].basic == ("bob", "pw")
    # one token for the push scope, one for the pull scope; the second HEAD reused the cache
    assert [r.params["scope"] for r in gets] == [["repository:dy/tok:push,pull"], ["repository:dy/tok:pull"]]

    assert client.mount_blob("dy/copy", digest, "dy/tok") is True
    assert issuer.requests[-1].params["scope"] == ["repository:dy/copy:push,pull", "repository:dy/tok:pull"]


def test_token_auth_wrong_password(token_registry: RegistryServer) -> None:
    client = RegistryClient(token_registry.host, transport=Transport(hosts=NO_CERTS),
                            credentials=AuthConfig("bob", "nope"))
    with pytest.raises(Unauthorized) as info:
        client.list_tags("dy/tok")
    assert str(info.value) == "unauthorized: incorrect username or password"


def test_insufficient_scope_gets_a_new_token_and_retries_once(token_registry: RegistryServer, issuer: TokenIssuer) -> None:
    calls = {"n": 0}

    def first_token_pull_only(account: str | None, asked: list[tuple[str, str, list[str]]]):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            return [(t, n, ["pull"]) for t, n, _ in asked]
        return asked

    issuer.policy = first_token_pull_only
    client = RegistryClient(token_registry.host, transport=Transport(hosts=NO_CERTS),
                            credentials=AuthConfig("bob", "pw"))
    digest = upload(client, "dy/scoped", b"needs push")
    assert client.head_blob("dy/scoped", digest) == len(b"needs push")
    scopes = [r.params.get("scope") for r in issuer.requests]
    assert len(scopes) == 3  # push (granted pull only), push again after insufficient_scope, then pull
    assert "repository:dy/scoped:pull,push" in scopes[1] or "repository:dy/scoped:push,pull" in scopes[1]


def test_refused_access_stays_refused(token_registry: RegistryServer, issuer: TokenIssuer) -> None:
    issuer.policy = lambda account, asked: [(t, n, ["pull"]) for t, n, _ in asked]
    client = RegistryClient(token_registry.host, transport=Transport(hosts=NO_CERTS),
                            credentials=AuthConfig("bob", "pw"))
    with pytest.raises(Forbidden) as info:
        upload(client, "dy/readonly", b"x")
    assert info.value.has_code("DENIED")  # type: ignore[attr-defined]
    assert "denied: requested access to the resource is denied" in str(info.value)
    assert len(issuer.requests) <= 3  # bounded, no loop


def test_identity_token_login_then_refresh_token_post(token_registry: RegistryServer, issuer: TokenIssuer) -> None:
    login = RegistryClient(token_registry.host, transport=Transport(hosts=NO_CERTS),
                           credentials=AuthConfig("bob", "pw"))
    identity = login.login()
    assert identity
    req = issuer.requests[-1]
    assert (req.method, req.params["offline_token"], req.params["client_id"]) == ("GET", ["true"], ["docker"])
    assert "scope" not in req.params

    client = RegistryClient(token_registry.host, transport=Transport(hosts=NO_CERTS),
                            credentials=AuthConfig(username="bob", identity_token=identity))
    digest = upload(client, "dy/oauth", b"via refresh token")
    assert client.head_blob("dy/oauth", digest) == len(b"via refresh token")
    post = issuer.requests[-2]
    assert post.method == "POST"
    assert post.form["grant_type"] == ["refresh_token"]
    assert post.form["refresh_token"] == [identity]
    assert post.form["scope"] == ["repository:dy/oauth:push,pull"]
    assert post.basic is None  # no password goes anywhere in this flow


def test_refresh_token_falls_back_to_get_without_oauth(token_registry: RegistryServer, issuer: TokenIssuer) -> None:
    issuer.oauth = False
    client = RegistryClient(token_registry.host, transport=Transport(hosts=NO_CERTS),
                            credentials=AuthConfig(identity_token="anything"))
    upload(client, "dy/fallback", b"anon")  # the test issuer grants anonymous tokens too
    assert [r.method for r in issuer.requests[:2]] == ["POST", "GET"]


# -- TLS --------------------------------------------------------------------------------------------
@pytest.fixture
def tls_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path / "tls-reg", tls=make_tls(tmp_path / "pki"))
    yield server
    server.stop()


def strict_hosts(certs: Path | None) -> Hosts:
    # Loopback is insecure for Docker; switch that off so the certificate is really checked.
    return Hosts(certs_dirs=[certs] if certs else [], always_insecure=())


def test_tls_registry_trusted_through_certs_d(tls_registry: RegistryServer, tmp_path: Path) -> None:
    certs = certs_dir_for(tmp_path / "certs.d", tls_registry)
    client = RegistryClient(tls_registry.host, transport=Transport(hosts=strict_hosts(certs)))
    assert client.ping() == Endpoint(f"https://{tls_registry.host}")
    digest = upload(client, "dy/tls", b"over tls")
    assert client.head_blob("dy/tls", digest) == 8


def test_tls_registry_without_its_ca_is_refused(tls_registry: RegistryServer) -> None:
    client = RegistryClient(tls_registry.host, transport=Transport(hosts=strict_hosts(None)))
    with pytest.raises(ConnectionFailed) as info:
        client.ping()
    assert info.value.tls
    assert str(info.value) == (
        f'Get "https://{tls_registry.host}/v2/": x509: certificate signed by unknown authority')


def test_loopback_tls_registry_is_reached_without_checks_as_docker_does(tls_registry: RegistryServer) -> None:
    client = RegistryClient(tls_registry.host, transport=Transport(hosts=Hosts(certs_dirs=[])))
    assert client.ping().url.startswith("https://")
    assert Hosts(certs_dirs=[]).is_insecure(tls_registry.host)
    assert ipaddress.ip_address(tls_registry.host.split(":")[0]).is_loopback
