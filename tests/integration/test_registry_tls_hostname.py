"""TLS registries under a real host name, trusted only through certs.d (DESIGN.md Configuration; formats.md §5).

Loopback registries are insecure for Docker, so certificates are only really checked for a registry reached
by a name. ``registry.dockyard.test`` is 192.0.2.10 inside a private network + mount namespace
(tests/helpers/netns.py); the registries and every dockyard command run there, so nothing leaves it.
- :5443  TLS (server certificate for the name, signed by a CA made here) with htpasswd auth
- :5444  TLS that requires a client certificate signed by that CA
- :5080  plain HTTP, for the insecure registry's fallback
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.cli import DOCKYARD
from tests.helpers.netns import ADDRESS, NamespaceLab, unavailable_reason, write_registry_config
from tests.helpers.registry import bcrypt_hash, make_tls

pytestmark = pytest.mark.integration

NAME = "registry.dockyard.test"
AUTH = f"{NAME}:5443"  # TLS + htpasswd
MTLS = f"{NAME}:5444"  # TLS + client certificates
PLAIN = f"{NAME}:5080"  # plain HTTP
USER, PASSWORD = "dyuser", "dypass"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_client_pair(pki: Path) -> tuple[Path, Path]:
    """A client certificate (clientAuth) signed by the CA ``make_tls`` left in ``pki``."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
             "-subj", "/CN=dockyard test client", cwd=pki)
    (pki / "client-ext.cnf").write_text("extendedKeyUsage=clientAuth\n")
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "client.crt", "-days", "2", "-extfile", "client-ext.cnf", cwd=pki)
    return pki / "client.crt", pki / "client.key"


class Lab:
    def __init__(self, ns: NamespaceLab, ca: Path, client: tuple[Path, Path]) -> None:
        self.ns = ns
        self.ca = ca
        self.client = client


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("tls-hostname")
    pki = work / "pki"
    tls = make_tls(pki, hosts=(NAME,))
    client = make_client_pair(pki)
    htpasswd = work / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt_hash(PASSWORD)}\n")
    registries = [
        write_registry_config(work / "auth", f"{ADDRESS}:5443", tls=(tls.server_cert, tls.server_key),
                              htpasswd=htpasswd),
        write_registry_config(work / "mtls", f"{ADDRESS}:5444", tls=(tls.server_cert, tls.server_key),
                              client_cas=(tls.ca_cert,)),
        write_registry_config(work / "plain", f"{ADDRESS}:5080"),
    ]
    with NamespaceLab(work / "ns", {NAME: ADDRESS}, registries) as ns:
        yield Lab(ns, tls.ca_cert, client)


class Client:
    """dockyard processes inside the lab's namespace, with this test's store, configs and certs.d."""

    def __init__(self, lab: Lab, base: Path) -> None:
        self.lab = lab
        self.base = base
        self.root = base / "store"
        self.certs = base / "certs.d"
        self.certs.mkdir(parents=True, exist_ok=True)
        self.settings = base / "dockyard-config.toml"
        self.env = {
            **os.environ,
            "DOCKYARD_ROOT": str(self.root),
            "DOCKER_CONFIG": str(base / "docker-config"),
            "DOCKYARD_CONFIG": str(self.settings),
            "DOCKYARD_CERTS_D": str(self.certs),
        }

    def trust(self, host: str, *, ca: bool = True, client: bool = False) -> None:
        target = self.certs / host
        target.mkdir(parents=True, exist_ok=True)
        if ca:
            (target / "ca.crt").write_bytes(self.lab.ca.read_bytes())
        if client:
            (target / "client.cert").write_bytes(self.lab.client[0].read_bytes())
            (target / "client.key").write_bytes(self.lab.client[1].read_bytes())

    def __call__(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        done = self.lab.ns.run([*DOCKYARD, *args], env=self.env, stdin=stdin)
        return done.returncode, done.stdout, done.stderr

    def import_busybox(self, busybox_tar: Path, ref: str) -> str:
        code, out, err = self("import", str(busybox_tar), ref)
        assert (code, err) == (0, ""), err
        return out.strip()

    def assert_store_empty(self) -> None:
        with Store.open(self.root) as store:
            assert store.meta.list_images() == []
            assert list(store.content.iter_blobs()) == []
            assert store.content.ingests() == []


@pytest.fixture
def client(lab: Lab, tmp_path: Path) -> Client:
    return Client(lab, tmp_path)


def test_the_name_resolves_to_the_namespace_address_only(client: Client) -> None:
    # The hosts file is mounted in the namespace alone: outside, the name means nothing.
    done = client.lab.ns.run(["getent", "hosts", NAME], env=client.env)
    assert done.stdout.split() == [ADDRESS, NAME]
    assert subprocess.run(["getent", "hosts", NAME], capture_output=True).returncode != 0


def test_login_push_rmi_pull_logout_through_the_certs_d_ca(client: Client, busybox_tar: Path) -> None:
    client.trust(AUTH)
    ref = f"{AUTH}/dy/busybox:1"
    image_id = client.import_busybox(busybox_tar, ref)

    code, out, err = client("login", "-u", USER, "--password-stdin", AUTH, stdin=f"{PASSWORD}\n")
    assert (code, out) == (0, "Login Succeeded\n"), err

    code, out, err = client("push", ref)
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0] == f"The push refers to repository [{AUTH}/dy/busybox]"
    assert lines[-1].startswith("1: digest: sha256:")
    pushed = lines[-1].split()[2]

    code, out, err = client("rmi", ref)
    assert (code, err) == (0, ""), err
    assert client("images", "-q") == (0, "", "")

    code, out, err = client("pull", ref)
    assert (code, err) == (0, ""), err
    assert out.splitlines()[-3:] == [f"Digest: {pushed}", f"Status: Downloaded newer image for {ref}", ref]
    assert client("images", "-q", "--no-trunc") == (0, f"{image_id}\n", "")
    code, out, _ = client("image", "inspect", "-f", "{{json .RepoDigests}}", ref)
    assert (code, out) == (0, f'["{AUTH}/dy/busybox@{pushed}"]\n')

    assert client("logout", AUTH) == (0, f"Removing login credentials for {AUTH}\n", "")
    code, out, err = client("pull", ref)
    assert (code, out) == (1, "")
    assert err.startswith(f"Error response from daemon: pull access denied for {AUTH}/dy/busybox, ")


def test_without_the_ca_the_certificate_is_refused_and_nothing_is_stored(client: Client) -> None:
    # certs.d exists but holds nothing for this host: only the system roots, which do not know our CA.
    code, out, err = client("pull", f"{AUTH}/dy/busybox:1")
    assert (code, out) == (1, ""), (out, err)
    assert err == (f'Error response from daemon: Get "https://{AUTH}/v2/": '
                   "x509: certificate signed by unknown authority\n")
    client.assert_store_empty()

    code, out, err = client("login", "-u", USER, "--password-stdin", AUTH, stdin=f"{PASSWORD}\n")
    assert (code, out, err) == (1, "", f'Error response from daemon: Get "https://{AUTH}/v2/": '
                                "x509: certificate signed by unknown authority\n")
    assert not (client.base / "docker-config" / "config.json").exists()


def test_a_ca_for_another_host_port_does_not_apply(client: Client) -> None:
    # certs.d directories are named exactly as host[:port] in the reference.
    client.trust(NAME)
    client.trust(f"{ADDRESS}:5443")
    code, _, err = client("pull", f"{AUTH}/dy/busybox:1")
    assert code == 1 and err.endswith("x509: certificate signed by unknown authority\n")


def test_insecure_registries_skip_verification_then_fall_back_to_http(client: Client, busybox_tar: Path) -> None:
    # No CA anywhere: :5443 serves only TLS, so its success proves HTTPS without verification.
    client.settings.write_text(f'insecure-registries = ["{AUTH}", "{PLAIN}"]\n')
    ref = f"{AUTH}/dy/insecure:1"
    image_id = client.import_busybox(busybox_tar, ref)
    code, out, err = client("login", "-u", USER, "--password-stdin", AUTH, stdin=f"{PASSWORD}\n")
    assert (code, out) == (0, "Login Succeeded\n"), err
    code, out, err = client("push", ref)
    assert (code, err) == (0, ""), err
    assert client("rmi", ref)[0] == 0
    code, out, err = client("pull", ref)
    assert (code, err) == (0, ""), err
    assert client("images", "-q", "--no-trunc") == (0, f"{image_id}\n", "")

    # A plain-HTTP registry: the HTTPS attempt fails, the HTTP one serves.
    plain = f"{PLAIN}/dy/plain:1"
    assert client("tag", ref, plain)[0] == 0
    code, out, err = client("push", plain)
    assert (code, err) == (0, ""), err
    assert client("rmi", plain, ref)[0] == 0
    code, out, err = client("pull", plain)
    assert (code, err) == (0, ""), err
    assert out.splitlines()[-1] == plain


def test_plain_http_registry_not_listed_as_insecure_is_refused(client: Client) -> None:
    code, out, err = client("pull", f"{PLAIN}/dy/plain:1")
    assert (code, out) == (1, "")
    assert err == (f'Error response from daemon: Get "https://{PLAIN}/v2/": '
                   "http: server gave HTTP response to HTTPS client\n")
    client.assert_store_empty()


def test_client_certificate_from_certs_d(client: Client, busybox_tar: Path) -> None:
    ref = f"{MTLS}/dy/mtls:1"
    image_id = client.import_busybox(busybox_tar, ref)

    # The CA alone: the registry wants a client certificate and refuses the handshake.
    client.trust(MTLS)
    code, out, err = client("push", ref)
    assert (code, out) == (1, f"The push refers to repository [{MTLS}/dy/mtls]\n")
    assert err.endswith(f'Get "https://{MTLS}/v2/": remote error: tls: bad certificate\n')

    client.trust(MTLS, client=True)
    code, out, err = client("push", ref)
    assert (code, err) == (0, ""), err
    assert client("rmi", ref)[0] == 0
    code, out, err = client("pull", ref)
    assert (code, err) == (0, ""), err
    assert client("images", "-q", "--no-trunc") == (0, f"{image_id}\n", "")
