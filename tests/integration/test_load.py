"""``dockyard load``: every archive layout and compression, the output lines Docker prints, and store state."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dockyard.store import Store
from dockyard.store.images import repo_tags
from tests.helpers.archives import (
    Img, layer_tar, legacy_archive, multi_platform_archive, oci_archive, sha, skopeo_archive,
)
from tests.helpers.cli import Result, run_cli, run_cli_process_binary

pytestmark = pytest.mark.integration


def load(tmp_path: Path, data: bytes, *extra: str) -> Result:
    path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}.tar"
    path.write_bytes(data)
    return run_cli("load", "-i", str(path), *extra)


def errors_of(store_root: Path) -> list[str]:
    with Store.open(store_root) as store:
        return [str(p) for p in store.check() if p.severity == "error"]


def image_tags(store_root: Path, image_id: str) -> list[str]:
    with Store.open(store_root) as store:
        return repo_tags(store, image_id)


A = Img([layer_tar({"a.txt": b"alpha"}), layer_tar({"b.txt": b"bravo" * 1000})], ["dyload/a:1", "dyload/a:alias"])
B = Img([layer_tar({"a.txt": b"alpha"})], ["dyload/b:1"], cmd="true")


@pytest.mark.parametrize("outer", [None, "gzip", "zstd", "xz", "bzip2"])
@pytest.mark.parametrize("layers", [None, "gzip", "zstd"])
def test_legacy_layout_every_compression(store_root, tmp_path, outer, layers):
    img = Img(A.layers, A.tags, layer_compression=layers)
    code, out, err = load(tmp_path, legacy_archive([img]).build(outer))
    assert (code, err) == (0, "")
    assert out == "Loaded image: dyload/a:1\nLoaded image: dyload/a:alias\n"
    assert image_tags(store_root, img.id) == ["dyload/a:1", "dyload/a:alias"]
    with Store.open(store_root) as store:
        record = store.meta.get_image(img.id)
        assert [str(d) for d in record.diff_ids] == img.diff_ids
        # Compressed layers stay compressed; their blob is the archive's bytes.
        assert [str(layer.blob) for layer in record.layers] == [sha(b) for b in img.blobs]
        assert record.size == 5 + 5000
    assert errors_of(store_root) == []


def test_manifest_first_or_last_and_shared_layers(store_root, tmp_path):
    code, out, _ = load(tmp_path, legacy_archive([A, B], manifest_last=False).build())
    assert code == 0
    assert out.splitlines() == ["Loaded image: dyload/a:1", "Loaded image: dyload/a:alias", "Loaded image: dyload/b:1"]
    with Store.open(store_root) as store:
        blobs = {str(d) for d, _ in store.content.iter_blobs()}
    # Two configs and two distinct layers: the shared base layer is stored once.
    assert blobs == {A.id, B.id, *A.diff_ids}


def test_untagged_images_print_ids_when_the_last_has_no_tags(store_root, tmp_path):
    tagged = Img(A.layers, ["dyload/t:1"])
    untagged = Img(B.layers, None)
    code, out, _ = load(tmp_path, legacy_archive([tagged, untagged]).build())
    assert code == 0
    assert out == f"Loaded image: dyload/t:1\nLoaded image ID: {tagged.id}\nLoaded image ID: {untagged.id}\n"
    # When the last one is tagged, no ID lines at all (moby resets its counter per image).
    code, out, _ = load(tmp_path, legacy_archive([untagged, tagged]).build())
    assert out == "Loaded image: dyload/t:1\n"


def test_tag_move_message(store_root, tmp_path):
    load(tmp_path, legacy_archive([Img(B.layers, ["dyload/m:1"])]).build())
    moved = Img(A.layers, ["dyload/m:1"])
    code, out, _ = load(tmp_path, legacy_archive([moved]).build())
    old = Img(B.layers, None).id
    assert out == (
        f"The image dyload/m:1 already exists, renaming the old one with ID {old} to empty string\n"
        "Loaded image: dyload/m:1\n"
    )
    assert image_tags(store_root, moved.id) == ["dyload/m:1"]
    assert image_tags(store_root, old) == []
    # Loading the same archive again moves nothing and says so plainly.
    code, out, _ = load(tmp_path, legacy_archive([moved]).build())
    assert out == "Loaded image: dyload/m:1\n"


def test_fully_qualified_repo_tags_and_skopeo_symlinks(store_root, tmp_path):
    img = Img(A.layers, ["docker.io/dyload/sk:1", "localhost:5000/dyload/sk:2"], layer_compression="gzip")
    code, out, err = load(tmp_path, skopeo_archive(img).build())
    assert (code, err) == (0, "")
    assert out == "Loaded image: dyload/sk:1\nLoaded image: localhost:5000/dyload/sk:2\n"


@pytest.mark.parametrize("nested", [False, True])
def test_plain_oci_archive_names(store_root, tmp_path, nested):
    full = Img(A.layers, layer_compression="zstd")
    refname = Img(B.layers, cmd="x")
    bare = Img([layer_tar({"c": b"c"})], cmd="y")
    archive = oci_archive(
        [
            (full, {"io.containerd.image.name": "docker.io/dyload/oci:1", "org.opencontainers.image.ref.name": "1"}),
            (refname, {"org.opencontainers.image.ref.name": "dyload/oci:ref"}),
            (bare, {"org.opencontainers.image.ref.name": "latest"}),
        ],
        nested=nested,
    )
    code, out, err = load(tmp_path, archive.build("gzip"))
    assert (code, err) == (0, ""), err
    assert out == f"Loaded image: dyload/oci:1\nLoaded image: dyload/oci:ref\nLoaded image ID: {full.id}\n" \
        f"Loaded image ID: {refname.id}\nLoaded image ID: {bare.id}\n"
    with Store.open(store_root) as store:
        record = store.meta.get_image(full.id)
        # The manifest that came with the image is kept, byte for byte.
        assert [m.media_type for m in store.meta.manifests_for(full.id)] == ["application/vnd.oci.image.manifest.v1+json"]
        assert str(record.layers[0].blob) == sha(full.blobs[0])
    assert errors_of(store_root) == []


def test_oci_layout_directory(store_root, tmp_path):
    img = Img(A.layers, layer_compression="gzip")
    archive = tmp_path / "oci.tar"
    archive.write_bytes(oci_archive([(img, {"io.containerd.image.name": "docker.io/dyload/dir:1"})]).build())
    layout = tmp_path / "layout"
    layout.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(layout)], check=True)
    code, out, err = run_cli("load", "-i", str(layout))
    assert (code, out, err) == (0, "Loaded image: dyload/dir:1\n", "")


def test_oci_layout_version_must_be_1_0_0(store_root, tmp_path):
    archive = oci_archive([(A, {"io.containerd.image.name": "docker.io/dyload/v:1"})], layout_version="2.0.0")
    code, out, err = load(tmp_path, archive.build())
    assert code == 1 and "unsupported OCI layout version '2.0.0'" in err


def test_stdin_and_its_errors(store_root, tmp_path):
    data = legacy_archive([A]).build("gzip")
    done = run_cli_process_binary("load", stdin=data)
    assert (done.code, done.out, done.err) == (0, b"Loaded image: dyload/a:1\nLoaded image: dyload/a:alias\n", b"")
    done = run_cli_process_binary("load", "-i", "nonexist.tar", cwd=tmp_path)
    assert (done.code, done.err) == (1, b"open nonexist.tar: no such file or directory\n")


def test_stdin_terminal_refused(store_root, monkeypatch):
    from dockyard.cli.context import Context

    monkeypatch.setattr(Context, "stdin_isatty", lambda self: True)
    code, out, err = run_cli("load")
    assert (code, out, err) == (1, "", "requested load from stdin, but stdin is empty\n")


def test_quiet_flag_prints_the_same_lines(store_root, tmp_path):
    code, out, _ = load(tmp_path, legacy_archive([B]).build(), "-q")
    assert (code, out) == (0, "Loaded image: dyload/b:1\n")


def test_layers_already_stored_are_not_written_again(store_root, tmp_path):
    archive = oci_archive([(A, {"io.containerd.image.name": "docker.io/dyload/again:1"})]).build()
    load(tmp_path, archive)
    with Store.open(store_root) as store:
        path = store.content.path(Store.open(store_root).meta.get_image(A.id).layers[1].blob)
    before = path.stat().st_ino
    code, out, _ = load(tmp_path, archive)
    assert code == 0 and path.stat().st_ino == before


def test_platform_filter(store_root, tmp_path):
    code, out, err = load(tmp_path, legacy_archive([A]).build(), "--platform", "linux/arm64")
    assert code == 1 and "linux/arm64" in err
    assert image_tags(store_root, A.id) == []
    code, out, err = load(tmp_path, legacy_archive([A]).build(), "--platform", "linux/amd64")
    assert code == 0


def test_platform_from_index_when_manifest_json_lists_another(store_root, tmp_path):
    # ctr images export --all-platforms: manifest.json names only the host's image, index.json all of them
    builder, ids = multi_platform_archive("dyload/multi:1", ["amd64", "arm64"], manifest_json="amd64")
    code, out, err = load(tmp_path, builder.build())
    assert (code, out, err) == (0, "Loaded image: dyload/multi:1\n", "")
    assert image_tags(store_root, ids["amd64"]) == ["dyload/multi:1"]
    code, out, err = load(tmp_path, builder.build(), "--platform", "linux/arm64")
    assert code == 0, err
    assert out.splitlines()[-1] == "Loaded image: dyload/multi:1"
    assert image_tags(store_root, ids["arm64"]) == ["dyload/multi:1"]
    assert errors_of(store_root) == []


def test_platform_absent_from_both_manifest_json_and_index(store_root, tmp_path):
    # A plain ctr export carries the host's blobs only; an image that is only in a Docker 25+ index, too
    for archs, missing in ((["amd64", "arm64"], ("arm64",)), (["amd64"], ())):
        builder, ids = multi_platform_archive("dyload/multi:1", archs, manifest_json="amd64", missing=missing)
        code, out, err = load(tmp_path, builder.build(), "--platform", "linux/arm64")
        assert (code, out) == (1, "")
        assert "no image in the archive matches the platform linux/arm64" in err
        assert image_tags(store_root, ids["amd64"]) == []


def test_parent_saved_after_its_child_is_linked(store_root, tmp_path):
    # docker save writes images in any order; Docker links parents once the whole archive is in
    parent = Img([layer_tar({"a.txt": b"alpha"})], None, cmd="parent")
    child = Img(parent.layers + [layer_tar({"b.txt": b"bravo"})], ["dyload/child:1"])
    builder = legacy_archive([child, parent])
    name, kind, raw = builder.entries[-1]
    manifest = json.loads(raw)
    manifest[0]["Parent"] = parent.id
    builder.entries[-1] = (name, kind, json.dumps(manifest).encode())
    code, _, err = load(tmp_path, builder.build())
    assert (code, err) == (0, "")
    result = run_cli("images", "-q", "--no-trunc")
    assert result.code == 0
    assert result.out == f"{child.id}\n"  # the untagged parent has a child: hidden
    result = run_cli("history", "-q", "--no-trunc", "dyload/child:1")
    assert result.code == 0
    assert result.out == f"{child.id}\n{parent.id}\n"


# -- progress: ``Loading layer`` events per layer, drawn live on a terminal -----------------------------


def load_events(store_root: Path, data: bytes) -> list:
    import io

    from dockyard.archive.load import load as load_archive

    events: list = []
    with Store.open(store_root) as store:
        load_archive(store, io.BytesIO(data), progress=events.append)
    return events


def by_id(events: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for event in events:
        out.setdefault(event.id, []).append(event)
    return out


@pytest.mark.parametrize("layers", [None, "gzip"])
def test_legacy_layers_report_their_bytes_and_end_under_their_diff_id(store_root, tmp_path, layers):
    from dockyard.transfer.progress import LAYER

    img = Img(A.layers, A.tags, layer_compression=layers)
    archive = legacy_archive([img])
    sizes = {name.split("/")[0][:12]: len(raw) for name, _, raw in archive.entries if name.endswith("layer.tar")}
    events = load_events(store_root, archive.build())
    assert {e.kind for e in events} == {LAYER} and {e.status for e in events} == {"Loading layer"}
    # Shown under the archive's directory name while read; the last event names the diff ID, as Docker does.
    streams = by_id(events)
    assert list(streams) == list(sizes)
    for ident, stream in streams.items():
        assert {e.total for e in stream} == {sizes[ident]}  # the tar header's size: compressed, for gzip
        currents = [e.current for e in stream]
        assert currents == sorted(currents) and currents[-1] == sizes[ident]
        assert [e.label for e in stream[:-1]] == [None] * (len(stream) - 1)
    assert [stream[-1].label for stream in streams.values()] == [d[7:19] for d in img.diff_ids]


def test_layers_the_store_has_are_not_shown(store_root, tmp_path):
    from dockyard.transfer.progress import DROP, LAYER

    # Blobs named by digest are checked against the store first: no events at all.
    oci = oci_archive([(A, {"io.containerd.image.name": "docker.io/dyload/p:1"})]).build()
    assert [e.label for e in load_events(store_root, oci) if e.label] == [d[7:19] for d in A.diff_ids]
    assert load_events(store_root, oci) == []
    # A legacy layer.tar is known only once read: it is shown while read, then dropped.
    events = load_events(store_root, legacy_archive([A]).build())
    dropped = [e.id for e in events if e.kind == DROP]
    assert len(dropped) == 2 and [e for e in events if e.kind == LAYER and e.label] == []
    # One layer stored, one new: only the new one ends with a label.
    events = load_events(store_root, legacy_archive([Img([A.layers[0], layer_tar({"n": b"new"})], ["dyload/p:2"])]).build())
    assert [e.label for e in events if e.label] == [sha(layer_tar({"n": b"new"}))[7:19]]
    assert len([e for e in events if e.kind == DROP]) == 1


def test_terminal_draws_the_layers_above_the_loaded_lines(store_root, tmp_path, monkeypatch):
    from dockyard.cli.context import Context

    monkeypatch.setattr(Context, "stdout_isatty", lambda self: True)
    code, out, err = load(tmp_path, legacy_archive([A]).build())
    assert (code, err) == (0, "")
    lines = [line.rstrip() for line in out.splitlines() if line.strip()]
    assert lines[-2:] == ["Loaded image: dyload/a:1", "Loaded image: dyload/a:alias"]
    bars = lines[:-2]
    for diff_id, layer in zip(A.diff_ids, A.layers):
        drawn = [line for line in bars if line.startswith(diff_id[7:19])]
        assert drawn and drawn[-1].endswith("Loading layer")
    # Everything already stored: nothing drawn, as Docker draws nothing for layers it has.
    code, out, _ = load(tmp_path, legacy_archive([A]).build())
    assert out == "Loaded image: dyload/a:1\nLoaded image: dyload/a:alias\n"
    # -q on a terminal: the lines alone.
    code, out, _ = load(tmp_path, legacy_archive([Img([layer_tar({"q": b"q"})], ["dyload/q:1"])]).build(), "-q")
    assert out == "Loaded image: dyload/q:1\n"
