"""``dockyard import``: compressions, sources (file, stdin, http URL), -c/-m/--platform, client and daemon
errors, and that a failed import leaves the store as it was."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.store import Store
from tests.helpers.archives import compress
from tests.helpers.cli import Result, run_cli
from tests.helpers.rootfs import tar_of_files

pytestmark = pytest.mark.integration


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    # 11 bytes of files + a 5-byte symlink target = Docker size 16
    return tar_of_files(tmp_path / "rootfs.tar", {"etc/hello": "hello\n", "bin/x": "abcde"},
                        symlinks={"etc/link": "hello"})


def config_of(store: Store, image_id: str) -> dict:
    return json.loads(store.content.read_bytes(Digest.parse(image_id)))


def image_id_from(result: Result) -> str:
    assert result.code == 0, result.err
    text = result.out.strip()
    assert text.startswith("sha256:") and len(text) == 71 and result.out.endswith("\n")
    return text


@pytest.mark.parametrize("kind", ["plain", "gzip", "bzip2", "xz", "zstd"])
def test_import_file_each_compression(store_root: Path, rootfs: Path, tmp_path: Path, kind: str) -> None:
    data = rootfs.read_bytes()
    src = tmp_path / f"in.{kind}"
    src.write_bytes(compress(data, None if kind == "plain" else kind))
    image_id = image_id_from(run_cli("import", str(src), f"dyimp-{kind}:v1"))
    with Store.open(store_root) as store:
        config = config_of(store, image_id)
        diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
        assert config["rootfs"] == {"type": "layers", "diff_ids": [diff_id]}
        # the layer is the decompressed input, byte for byte, stored as a plain tar
        assert store.content.path(Digest.parse(diff_id)).read_bytes() == data
        image = store.meta.get_image(image_id)
        assert image.layers[0].media_type == "application/vnd.docker.image.rootfs.diff.tar"
        assert image.size == 16
        assert config["comment"] == "Imported from -"
        assert config["history"] == [{"created": config["created"], "comment": "Imported from -"}]
        assert "docker_version" not in config
        assert store.check() == []
    assert run_cli("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").out == f"dyimp-{kind}:v1 {image_id[7:19]}\n"


def test_import_config_bytes_shape(store_root: Path, rootfs: Path) -> None:
    image_id = image_id_from(run_cli("import", str(rootfs)))
    with Store.open(store_root) as store:
        raw = store.content.read_bytes(Digest.parse(image_id))
    assert hashlib.sha256(raw).hexdigest() == image_id[7:]
    doc = json.loads(raw)
    # top-level keys sorted, as Docker writes them; config and container_config with every legacy key
    assert list(doc) == sorted(doc)
    empty = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
             "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
             "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
             "OnBuild": None, "Labels": None}
    assert doc["config"] == empty and list(doc["config"]) == list(empty)
    assert doc["container_config"] == empty


def test_import_stdin_and_untagged(store_root: Path, rootfs: Path) -> None:
    data = rootfs.read_bytes()
    image_id = image_id_from(run_cli("import", "-", stdin=gzip.compress(data)))
    with Store.open(store_root) as store:
        assert store.meta.tags_for(image_id) == []
        assert config_of(store, image_id)["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(data).hexdigest()]
        assert store.check() == []


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_import_from_url(store_root: Path, rootfs: Path, http_server: tuple[str, Path]) -> None:
    base, root = http_server
    (root / "rootfs.tar.xz").write_bytes(compress(rootfs.read_bytes(), "xz"))
    url = f"{base}/rootfs.tar.xz"
    image_id = image_id_from(run_cli("import", url, "dyimp-url"))
    with Store.open(store_root) as store:
        config = config_of(store, image_id)
        assert config["comment"] == f"Imported from {url}"
        assert config["history"][0]["comment"] == f"Imported from {url}"
        assert [t.name for t in store.meta.tags_for(image_id)] == ["docker.io/library/dyimp-url:latest"]
    missing = run_cli("import", f"{base}/nothing.tar")
    assert missing.code == 1 and missing.out == ""
    assert missing.err.startswith(f"Error response from daemon: failed to GET {base}/nothing.tar with status 404")


def test_import_changes_message_platform(store_root: Path, rootfs: Path) -> None:
    image_id = image_id_from(run_cli(
        "import", "-c", "ENV X=1", "--change", "EXPOSE 80", "-c", "LABEL org.dyr=one", "-c", "CMD [\"/bin/x\"]",
        "-c", "HEALTHCHECK CMD true", "-m", "my message", "--platform", "linux/arm64/v8", str(rootfs), "dyimp:c",
    ))
    with Store.open(store_root) as store:
        config = config_of(store, image_id)
    assert config["config"]["Env"] == ["X=1"]
    assert config["config"]["ExposedPorts"] == {"80/tcp": {}}
    assert config["config"]["Labels"] == {"org.dyr": "one"}
    assert config["config"]["Cmd"] == ["/bin/x"]
    assert config["config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"]}
    assert config["comment"] == "my message" and config["history"][0]["comment"] == "my message"
    assert (config["os"], config["architecture"], config["variant"]) == ("linux", "arm64", "v8")
    inspect = run_cli("image", "inspect", "-f", "{{.Architecture}}/{{.Variant}} {{.Comment}} {{.Config.Labels}}", "dyimp:c")
    assert inspect.out == "arm64/v8 my message map[org.dyr:one]\n"


def test_import_moves_existing_tag(store_root: Path, rootfs: Path, tmp_path: Path) -> None:
    first = image_id_from(run_cli("import", str(rootfs), "dyimp:moved"))
    other = tar_of_files(tmp_path / "other.tar", {"a": "b"})
    second = image_id_from(run_cli("import", str(other), "dyimp:moved"))
    assert first != second
    rows = run_cli("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").out.splitlines()
    assert sorted(rows) == sorted([f"dyimp:moved {second[7:19]}", f"<none>:<none> {first[7:19]}"])


def _store_state(store_root: Path) -> tuple[list, list, list]:
    with Store.open(store_root) as store:
        assert store.check() == []
        return (
            [i.id for i in store.meta.list_images()],
            [t.name for t in store.meta.all_tags()],
            sorted(str(d) for d, _ in store.content.iter_blobs()),
        )


@pytest.mark.parametrize(
    ("argv", "code", "err"),
    [
        (["-c", "bogus"], 1, "Error response from daemon: bogus is not a valid change command\n"),
        (["-c", "RUN echo hi"], 1, "Error response from daemon: run is not a valid change command\n"),
        (["--platform", "foo/bar/baz/qux"], 1,
         'Error response from daemon: "foo/bar/baz/qux": cannot parse platform specifier: invalid argument\n'),
    ],
)
def test_bad_change_or_platform_leaves_store_unchanged(
    store_root: Path, rootfs: Path, argv: list[str], code: int, err: str
) -> None:
    image_id_from(run_cli("import", str(rootfs), "dyimp:keep"))
    before = _store_state(store_root)
    result = run_cli("import", *argv, str(rootfs), "dyimp:new")
    assert (result.code, result.out, result.err) == (code, "", err)
    assert _store_state(store_root) == before


@pytest.mark.parametrize(
    ("ref", "err"),
    [
        ("Dyimp-Bad", "invalid reference format: repository name (library/Dyimp-Bad) must be lowercase\n"),
        ("dyimp:bad:tag", "invalid reference format\n"),
        ("dyimp@sha256:" + "a" * 64, "Error response from daemon: cannot import digest reference\n"),
    ],
)
def test_bad_reference_leaves_store_unchanged(store_root: Path, rootfs: Path, ref: str, err: str) -> None:
    before = _store_state(store_root)
    result = run_cli("import", str(rootfs), ref)
    assert (result.code, result.out, result.err) == (1, "", err)
    assert _store_state(store_root) == before


def test_missing_file_is_a_client_error(store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("import", "nosuchfile.tar")
    assert (result.code, result.out, result.err) == (1, "", "open nosuchfile.tar: no such file or directory\n")


def test_corrupt_input_leaves_nothing(store_root: Path, rootfs: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "bad.tar.gz"
    truncated.write_bytes(gzip.compress(rootfs.read_bytes())[:-20])
    before = _store_state(store_root)
    result = run_cli("import", str(truncated), "dyimp:bad")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("Error response from daemon: ")
    assert _store_state(store_root) == before
    with Store.open(store_root) as store:
        assert store.content.ingests() == []


def test_import_busybox_and_run_history(store_root: Path, busybox_tar: Path) -> None:
    image_id = image_id_from(run_cli("import", str(busybox_tar), "dyimp-busybox"))
    with Store.open(store_root) as store:
        size = store.meta.get_image(image_id).size
    hist = run_cli("history", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}|{{.Size}}", "--no-trunc", "-H=false",
               "dyimp-busybox")
    assert hist.out == f"{image_id}||Imported from -|{size}\n"
