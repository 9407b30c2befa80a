"""``dockyard save``: the union archive's exact shape, tag selection, errors, atomic output, verification."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.archives import Img, layer_tar, legacy_archive, oci_archive, oci_manifest, sha
from tests.helpers.cli import Result, run_cli, run_cli_process_binary

pytestmark = pytest.mark.integration

A = Img([layer_tar({"a": b"a" * 100}), layer_tar({"b": b"b" * 200})], ["dysave/a:1", "dysave/a:2"])
B = Img([layer_tar({"a": b"a" * 100})], ["dysave/b:1"], layer_compression="gzip", cmd="b")
C = Img([layer_tar({"c": b"c"})], ["dysave/c:1"], cmd="c")


@pytest.fixture
def loaded(store_root: Path, tmp_path: Path) -> Path:
    for i, archive in enumerate([legacy_archive([A]), oci_archive([(B, {"io.containerd.image.name": "docker.io/dysave/b:1"})]), legacy_archive([C])]):
        path = tmp_path / f"seed{i}.tar"
        path.write_bytes(archive.build())
        assert run_cli("load", "-i", str(path)).code == 0
    return store_root


def save(*argv: str) -> Result:
    return run_cli("save", *argv)


def members(path: Path) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        return {m.name: (m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()}


def test_union_layout(loaded, tmp_path):
    out = tmp_path / "a.tar"
    assert save("-o", str(out), "dysave/a:1", "dysave/b:1") == (0, "", "")
    files = members(out)
    names = list(files)
    assert names == sorted(names)
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m, _ in files.values())
    manifest = json.loads(files["manifest.json"][1])
    assert manifest == [
        {"Config": f"blobs/sha256/{A.id[7:]}", "RepoTags": ["dysave/a:1"], "Layers": [f"blobs/sha256/{d[7:]}" for d in A.diff_ids]},
        {"Config": f"blobs/sha256/{B.id[7:]}", "RepoTags": ["dysave/b:1"], "Layers": [f"blobs/sha256/{sha(B.blobs[0])[7:]}"]},
    ]
    assert json.loads(files["oci-layout"][1]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"][1])
    annotations = [d["annotations"] for d in index["manifests"]]
    assert annotations == [
        {"io.containerd.image.name": "docker.io/dysave/a:1", "org.opencontainers.image.ref.name": "1"},
        {"io.containerd.image.name": "docker.io/dysave/b:1", "org.opencontainers.image.ref.name": "1"},
    ]
    # B came with an OCI manifest (gzip layer): it is kept byte for byte; A's is synthesised.
    assert index["manifests"][1]["digest"] == sha(oci_manifest(B))
    a_manifest = json.loads(files[f"blobs/sha256/{index['manifests'][0]['digest'][7:]}"][1])
    assert a_manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert [l["digest"] for l in a_manifest["layers"]] == A.diff_ids
    # Every blob is present, under its own digest, once.
    for name, (member, data) in files.items():
        if name.startswith("blobs/sha256/") and member.isfile():
            assert sha(data)[7:] == name.rsplit("/", 1)[1]
    assert len([n for n in names if n.startswith("blobs/sha256/") and files[n][0].isfile()]) == 2 + 2 + 2 + 1
    repositories = json.loads(files["repositories"][1])
    assert set(repositories) == {"dysave/a", "dysave/b"}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_bare_name_saves_every_tag_and_id_saves_none(loaded, tmp_path):
    out = tmp_path / "all.tar"
    assert save("-o", str(out), "dysave/a")[0] == 0
    assert json.loads(members(out)["manifest.json"][1])[0]["RepoTags"] == ["dysave/a:1", "dysave/a:2"]
    assert len(json.loads(members(out)["index.json"][1])["manifests"]) == 2
    assert save("-o", str(out), A.id[7:19])[0] == 0
    files = members(out)
    assert b'"RepoTags":null' in files["manifest.json"][1]
    assert "repositories" not in files
    assert "annotations" not in json.loads(files["index.json"][1])["manifests"][0]


def test_round_trip_into_a_fresh_store(loaded, tmp_path, monkeypatch):
    out = tmp_path / "rt.tar"
    assert save("-o", str(out), "dysave/a:1", "dysave/a:2", "dysave/b:1", "dysave/c:1")[0] == 0
    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "fresh"))
    result = run_cli("load", "-i", str(out))
    assert result.code == 0
    assert result.lines == [
        "Loaded image: dysave/a:1", "Loaded image: dysave/a:2", "Loaded image: dysave/b:1", "Loaded image: dysave/c:1"
    ]
    with Store.open(tmp_path / "fresh") as fresh, Store.open(loaded) as old:
        for img in (A, B, C):
            assert fresh.meta.get_image(img.id).layers == old.meta.get_image(img.id).layers
        assert [p for p in fresh.check() if p.severity == "error"] == []


@pytest.mark.parametrize("how,magic", [("gzip", b"\x1f\x8b"), ("zstd", b"\x28\xb5\x2f\xfd")])
def test_compressed_archive(loaded, tmp_path, monkeypatch, how, magic):
    out = tmp_path / f"c.tar.{how}"
    assert save("--compress", how, "-o", str(out), "dysave/c:1")[0] == 0
    assert out.read_bytes()[:4].startswith(magic)
    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "fresh"))
    result = run_cli("load", "-i", str(out))
    assert result.code == 0
    assert result.out == "Loaded image: dysave/c:1\n"


def test_stdout_and_terminal(loaded, tmp_path, monkeypatch):
    done = run_cli_process_binary("save", "dysave/c:1")
    assert done.code == 0 and done.err == b""
    with tarfile.open(fileobj=io.BytesIO(done.out)) as tar:
        assert "manifest.json" in tar.getnames()
    from dockyard.cli.context import Context

    monkeypatch.setattr(Context, "stdout_isatty", lambda self: True)
    assert save("dysave/c:1") == (
        1, "", "cowardly refusing to save to a terminal. Use the -o flag or redirect\n"
    )


def test_errors(loaded, tmp_path):
    assert save("-o", str(tmp_path / "x.tar"), "dysave/c:1", "nosuch") == (
        1, "", "Error response from daemon: No such image: nosuch:latest\n"
    )
    assert save("-o", "/nonexistent/x.tar", "dysave/c:1") == (
        1, "", "failed to save image: invalid output path: stat /nonexistent: no such file or directory\n"
    )
    assert save("-o", str(tmp_path), "dysave/c:1") == (1, "", "failed to save image: cannot write to a directory\n")
    assert [p for p in os.listdir(tmp_path) if p.startswith(".dockyard_temp_")] == []
    assert not (tmp_path / "x.tar").exists()


def test_damaged_blob_fails_and_leaves_no_file(loaded, tmp_path):
    """Hazard 24: a blob edited in the store is caught while streaming; nothing is left behind."""
    with Store.open(loaded) as store:
        path = store.content.path(store.meta.get_image(C.id).layers[0].blob)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[600] ^= 0xFF
    path.write_bytes(bytes(data))
    out = tmp_path / "damaged.tar"
    code, stdout, err = save("-o", str(out), "dysave/c:1")
    assert code == 1 and "digest mismatch" in err
    assert not out.exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".dockyard_temp_")] == []


def test_platform_must_match(loaded, tmp_path):
    out = tmp_path / "p.tar"
    code, _, err = save("--platform", "linux/arm64", "-o", str(out), "dysave/c:1")
    assert code == 1 and "does not provide the specified platform (linux/arm64)" in err
    assert save("--platform", "linux/amd64", "-o", str(out), "dysave/c:1")[0] == 0


def test_oci_layout_directory_update(loaded, tmp_path, monkeypatch):
    layout = tmp_path / "layout"
    assert save("--format", "oci-layout", "-o", str(layout), "dysave/a:1")[0] == 0
    assert save("--format", "oci-layout", "-o", str(layout), "dysave/c:1", "dysave/b:1")[0] == 0
    index = json.loads((layout / "index.json").read_text())
    assert [d["annotations"]["io.containerd.image.name"] for d in index["manifests"]] == [
        "docker.io/dysave/c:1", "docker.io/dysave/b:1"
    ]  # all three share ref.name "1": the newest descriptor for a ref.name replaces the older
    assert save("--format", "oci-layout", "-o", str(layout), "dysave/a:2")[0] == 0
    index = json.loads((layout / "index.json").read_text())
    assert [d["annotations"]["org.opencontainers.image.ref.name"] for d in index["manifests"]] == ["1", "1", "2"]
    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "fresh"))
    result = run_cli("load", "-i", str(layout))
    assert result.code == 0
    assert result.lines == [
        "Loaded image: dysave/c:1", "Loaded image: dysave/b:1", "Loaded image: dysave/a:2"
    ]
