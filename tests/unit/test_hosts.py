"""Registry endpoints, mirrors, insecure registries and certs.d, from dockyard's settings file."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry.hosts import HUB_API_URL, Endpoint, Hosts
from dockyard.registry.settings import Settings, load_settings, settings_path

pytestmark = pytest.mark.unit


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_missing_settings_file_gives_docker_defaults(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "none.toml")
    assert (s.max_concurrent_downloads, s.max_concurrent_uploads) == (3, 5)
    assert s.registry_mirrors == () and s.insecure_registries == ()


def test_settings_path_from_environment(tmp_path: Path) -> None:
    assert settings_path({"DOCKYARD_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    assert settings_path({"HOME": "/home/u"}) == Path("/home/u/.config/dockyard/config.toml")


def test_daemon_json_names_and_per_registry_mirrors(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", """
registry-mirrors = ["https://mirror.example", "http://m2.example:5000/prefix/"]
insecure-registries = ["reg.internal:5000", "10.0.0.0/8"]
max-concurrent-downloads = 7
max-concurrent-uploads = 2
[mirrors."quay.io"]
endpoints = ["https://quay-cache.example"]
""")
    s = load_settings(path)
    assert s.registry_mirrors == ("https://mirror.example/", "http://m2.example:5000/prefix/")
    assert s.insecure_registries == ("reg.internal:5000",)
    assert s.insecure_networks == (ipaddress.ip_network("10.0.0.0/8"),)
    assert (s.max_concurrent_downloads, s.max_concurrent_uploads) == (7, 2)
    assert s.mirrors == {"quay.io": ("https://quay-cache.example/",)}


@pytest.mark.parametrize(
    ("mirror", "message"),
    [
        ("ftp://m.example", 'invalid mirror: unsupported scheme "ftp" in "ftp://m.example"'),
        ("https://m.example/?x=1", "invalid mirror: query or fragment at end of the URI"),
        ("https://u:p@m.example", "invalid mirror: username/password not allowed in URI"),
    ],
)
def test_bad_mirrors_are_refused_with_dockers_words(tmp_path: Path, mirror: str, message: str) -> None:
    path = write(tmp_path / "c.toml", f'registry-mirrors = ["{mirror}"]\n')
    with pytest.raises(InvalidArgument) as info:
        load_settings(path)
    assert message in str(info.value)


def test_bad_values_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        load_settings(write(tmp_path / "a.toml", "max-concurrent-downloads = 0\n"))
    with pytest.raises(InvalidArgument):
        load_settings(write(tmp_path / "b.toml", 'insecure-registries = ["10.0.0.0/99"]\n'))
    with pytest.raises(InvalidArgument):
        load_settings(write(tmp_path / "c.toml", "this is = not toml ]\n"))


def test_docker_hub_uses_mirrors_first_for_pulls_only() -> None:
    hosts = Hosts(Settings(registry_mirrors=("https://mirror.example/",)), certs_dirs=[])
    assert hosts.endpoints("docker.io") == [Endpoint("https://mirror.example", mirror=True), Endpoint(HUB_API_URL)]
    assert hosts.endpoints("index.docker.io", push=True) == [Endpoint(HUB_API_URL)]


def test_per_registry_mirrors_and_plain_registries() -> None:
    hosts = Hosts(Settings(mirrors={"quay.io": ("https://cache.example/",)}), certs_dirs=[])
    assert hosts.endpoints("quay.io") == [Endpoint("https://cache.example", mirror=True), Endpoint("https://quay.io")]
    assert hosts.endpoints("quay.io", push=True) == [Endpoint("https://quay.io")]
    assert hosts.endpoints("ghcr.io") == [Endpoint("https://ghcr.io")]


@pytest.mark.parametrize("registry", ["localhost:5000", "127.0.0.1:5000", "127.8.9.10", "[::1]:5000", "localhost"])
def test_loopback_is_always_insecure_https_then_http(registry: str) -> None:
    hosts = Hosts(certs_dirs=[])
    assert hosts.endpoints(registry) == [Endpoint(f"https://{registry}"), Endpoint(f"http://{registry}")]
    assert hosts.tls_for(registry).verify is False


def test_insecure_by_name_and_by_cidr() -> None:
    hosts = Hosts(
        Settings(insecure_registries=("reg.internal:5000",), insecure_networks=(ipaddress.ip_network("10.0.0.0/8"),)),
        certs_dirs=[], resolve=False,
    )
    assert hosts.is_insecure("reg.internal:5000")
    assert not hosts.is_insecure("reg.internal:5001")  # the name is matched exactly, port included
    assert hosts.is_insecure("10.1.2.3:443")
    assert not hosts.is_insecure("192.168.1.1")
    assert hosts.endpoints("10.1.2.3") == [Endpoint("https://10.1.2.3"), Endpoint("http://10.1.2.3")]


def test_certs_d_cas_and_client_pair(tmp_path: Path) -> None:
    d = tmp_path / "reg.example:5000"
    d.mkdir()
    for name in ("ca.crt", "extra.crt", "client.cert", "client.key"):
        (d / name).write_text("x")
    tls = Hosts(certs_dirs=[tmp_path]).tls_for("reg.example:5000")
    assert tls.verify and tls.ca_files == (d / "ca.crt", d / "extra.crt")
    assert tls.client_cert == (d / "client.cert", d / "client.key")
    assert Hosts(certs_dirs=[tmp_path]).tls_for("reg.example").ca_files == ()  # named exactly host[:port]


def test_certs_d_half_pairs_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a.example").mkdir()
    (tmp_path / "a.example" / "client.cert").write_text("x")
    (tmp_path / "b.example").mkdir()
    (tmp_path / "b.example" / "client.key").write_text("x")
    hosts = Hosts(certs_dirs=[tmp_path])
    with pytest.raises(InvalidArgument, match="missing key client.key for client certificate client.cert"):
        hosts.tls_for("a.example")
    with pytest.raises(InvalidArgument, match="missing client certificate client.cert for key client.key"):
        hosts.tls_for("b.example")


def test_certs_d_root_from_environment(tmp_path: Path) -> None:
    from dockyard.registry.hosts import default_certs_dirs

    assert default_certs_dirs({"DOCKYARD_CERTS_D": str(tmp_path)}) == (tmp_path,)
