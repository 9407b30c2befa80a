"""``dockyard image prune``: scope, filters, prompt, report, dry run, concurrency and in-flight leases."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from dockyard.store import Store
from dockyard.store.gc import chain_ids
from dockyard.store.images import repo_tags
from tests.helpers.cli import run_cli
from tests.helpers.docker import docker, normalise
from tests.helpers.images import DOCKER_CONFIG, ImageMaker
from tests.helpers.rootfs import unique_busybox_tar

pytestmark = pytest.mark.integration

DANGLING_PROMPT = "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
ALL_PROMPT = (
    "WARNING! This will remove all images without at least one container associated to them.\n"
    "Are you sure you want to continue? [y/N] "
)
DAY_NS = 86_400 * 1_000_000_000


def top_chain(store: Store, image_id: str) -> str:
    image = store.meta.get_image(image_id)
    assert image is not None
    return chain_ids([str(d) for d in image.diff_ids])[-1]


def content_size(store: Store, image_id: str) -> int:
    image = store.meta.get_image(image_id)
    assert image is not None
    return image.layers[-1].content_size


def snapshot(store: Store) -> tuple[list[str], list[str], list[str]]:
    """Images, tags and blob files: what a prune may change."""
    images = [i.id for i in store.meta.list_images()]
    tags = [t.name for t in store.meta.all_tags()]
    blobs = sorted(str(d) for d, _ in store.content.iter_blobs())
    return images, tags, blobs


# --- scope and report -----------------------------------------------------------------------------------


def test_dangling_images_and_their_untagged_parents(store: Store, make: ImageMaker) -> None:
    base = make.image("keep:1")
    parent = make.child(base)
    dangling = make.child(parent)
    tagged = make.image("app:1")
    sizes = content_size(store, dangling) + content_size(store, parent)
    chains = top_chain(store, dangling), top_chain(store, parent)
    result = run_cli("image", "prune", "-f")
    assert result.code == 0, result.err
    assert result.out == (
        "Deleted Images:\n"
        f"deleted: {dangling}\n"
        f"deleted: {chains[0]}\n"
        f"deleted: {parent}\n"
        f"deleted: {chains[1]}\n"
        "\n"
        f"Total reclaimed space: {sizes}B\n"
    )
    assert not store.meta.image_exists(dangling) and not store.meta.image_exists(parent)
    assert store.meta.image_exists(base) and store.meta.image_exists(tagged)


def test_nothing_to_prune_prints_only_the_total(store: Store, make: ImageMaker) -> None:
    make.image("app:1")
    result = run_cli("image", "prune", "-f")
    assert (result.code, result.out, result.err) == (0, "Total reclaimed space: 0B\n", "")


def test_digest_only_image_counts_as_dangling(store: Store, make: ImageMaker) -> None:
    digest = "sha256:" + "a" * 64
    image = make.image(repo_digest=f"dyr@{digest}")
    result = run_cli("image", "prune", "-f")
    assert result.out.splitlines()[1:3] == [f"untagged: dyr@{digest}", f"deleted: {image}"]


def test_all_untags_unused_images_and_spares_containers(store: Store, make: ImageMaker) -> None:
    unused = make.image("app:1", "app:2")
    used = make.image("svc:1")
    store.meta.add_container(uuid.uuid4().hex * 2, used, None, "exited")
    result = run_cli("image", "prune", "-a", "-f")
    lines = result.out.splitlines()
    assert lines[:4] == ["Deleted Images:", "untagged: app:1", "untagged: app:2", f"deleted: {unused}"]
    assert not store.meta.image_exists(unused)
    assert repo_tags(store, used) == ["svc:1"]


def test_reclaimed_space_counts_released_layers_only(store: Store, make: ImageMaker) -> None:
    shared_image = make.image("keep:1")
    shared = tuple(store.meta.get_image(shared_image).layers)  # type: ignore[union-attr]
    make.image(layers=shared)  # dangling, but every layer is also keep:1's
    result = run_cli("image", "prune", "-f")
    assert result.out.endswith("\nTotal reclaimed space: 0B\n")
    assert len(result.out.splitlines()) == 4  # header, one deleted image, blank, total


# --- filters --------------------------------------------------------------------------------------------


def test_until_filter(store: Store, make: ImageMaker) -> None:
    import time

    now = time.time_ns()
    old = make.image(created_ns=now - 10 * DAY_NS)
    new = make.image(created_ns=now - DAY_NS // 24)
    undated = make.image(created_ns=None)
    result = run_cli("image", "prune", "-f", "--filter", "until=48h")
    assert f"deleted: {old}" in result.out.splitlines()
    assert store.meta.image_exists(new) and store.meta.image_exists(undated)


def test_label_filters(store: Store, make: ImageMaker) -> None:
    prod = make.image(labels={"env": "prod", "team": "a"})
    dev = make.image(labels={"env": "dev"})
    bare = make.image()
    run_cli("image", "prune", "-f", "--filter", "label=env=dev")
    assert not store.meta.image_exists(dev)
    assert store.meta.image_exists(prod) and store.meta.image_exists(bare)
    run_cli("image", "prune", "-f", "--filter", "label!=team")
    assert store.meta.image_exists(prod) and not store.meta.image_exists(bare)
    run_cli("image", "prune", "-f", "--filter", "Label=env")
    assert not store.meta.image_exists(prod)


def test_dangling_filter_values(store: Store, make: ImageMaker) -> None:
    tagged = make.image("app:1")
    # The CLI adds dangling=true itself, so a flag saying false contradicts it (a v28 engine refuses).
    clash = run_cli("image", "prune", "-f", "--filter", "dangling=false")
    assert clash.err == "Error response from daemon: invalid filter 'dangling=[false true]'\n"
    agrees = run_cli("image", "prune", "-f", "--filter", "dangling=true")
    assert agrees.out == "Total reclaimed space: 0B\n"
    everything = run_cli("image", "prune", "-f", "-a", "--filter", "dangling=0")
    assert "untagged: app:1" in everything.out.splitlines()
    assert not store.meta.image_exists(tagged)


def test_engine_prune_rejects_a_bad_boolean(store: Store, make: ImageMaker) -> None:
    from dockyard.engine import Engine
    from dockyard.errors import InvalidArgument
    from dockyard.filters import Filters

    make.image()
    with Engine(store.root) as engine, pytest.raises(InvalidArgument) as err:
        engine.prune_images(filters=Filters([("dangling", "maybe")]))
    assert str(err.value) == "invalid filter 'dangling=[maybe]'"
    # Beside the CLI's own dangling=true, "maybe" is ignored, as on the engine.
    assert run_cli("image", "prune", "-f", "--filter", "dangling=maybe").out.startswith("Deleted Images:\n")


def test_engine_prune_with_dangling_false_means_all(store: Store, make: ImageMaker) -> None:
    from dockyard.engine import Engine
    from dockyard.filters import Filters

    image = make.image("app:1")
    with Engine(store.root) as engine:
        report = engine.prune_images(filters=Filters([("dangling", "false")]))
    assert report.deleted[0].untagged == "app:1"
    assert report.reasons == {image: "unused"}
    assert not store.meta.image_exists(image)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--filter", "reference=x"), "invalid filter 'reference'"),
        (("--filter", "until=1h", "--filter", "until=2h"), "more than one until filter specified"),
        (("--filter", "until=abc"), 'failed to parse value as time or duration: "abc"'),
        (("-a", "--filter", "dangling=true"), "invalid filter 'dangling=[false true]'"),
    ],
)
def test_filter_errors(store: Store, make: ImageMaker, flags: tuple[str, ...], message: str) -> None:
    image = make.image()
    result = run_cli("image", "prune", "-f", *flags)
    assert (result.code, result.out, result.err) == (1, "", f"Error response from daemon: {message}\n")
    assert store.meta.image_exists(image)


def test_filter_without_equals_is_a_flag_error(store: Store) -> None:
    result = run_cli("image", "prune", "--filter", "dangling")
    assert result.code == 125
    assert result.err.startswith(
        'invalid argument "dangling" for "--filter" flag: bad format of filter (expected name=value)\n'
    )


def test_config_prune_filters_merge(store: Store, make: ImageMaker, tmp_path: Path) -> None:
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "config.json").write_text(json.dumps({"pruneFilters": ["label=keep", "label!=tmp"]}))
    keep = make.image(labels={"keep": "1"})
    tmp = make.image(labels={"keep": "1", "tmp": "1"})
    # The flag label=tmp conflicts with config label!=tmp, which is dropped.
    run_cli("image", "prune", "-f", "--filter", "label=tmp")
    assert store.meta.image_exists(keep) and not store.meta.image_exists(tmp)


# --- prompt ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["y\n", "Y\n", " y \n"])
def test_prompt_confirmed(store: Store, make: ImageMaker, answer: str) -> None:
    image = make.image()
    result = run_cli("image", "prune", stdin=answer)
    assert result.code == 0
    assert result.out.startswith(DANGLING_PROMPT + "Deleted Images:\n")
    assert not store.meta.image_exists(image)


@pytest.mark.parametrize("answer", ["yes\n", "n\n", "\n", ""])
def test_prompt_declined_or_eof(store: Store, make: ImageMaker, answer: str) -> None:
    image = make.image()
    before = snapshot(store)
    result = run_cli("image", "prune", stdin=answer)
    assert (result.code, result.out, result.err) == (0, DANGLING_PROMPT, "")
    assert snapshot(store) == before and store.meta.image_exists(image)


def test_prompt_with_all(store: Store, make: ImageMaker) -> None:
    make.image("app:1")
    result = run_cli("image", "prune", "-a", stdin="no\n")
    assert (result.code, result.out) == (0, ALL_PROMPT)


# --- dry run --------------------------------------------------------------------------------------------


def test_dry_run_changes_nothing(store: Store, make: ImageMaker) -> None:
    base = make.image("keep:1")
    parent = make.child(base)
    dangling = make.child(parent)
    tagged = make.image("app:1")
    before = snapshot(store)
    result = run_cli("image", "prune", "--dry-run", "-a")
    assert result.code == 0
    assert snapshot(store) == before
    lines = result.out.splitlines()
    assert lines[0] == "Would delete images:"
    assert f"would delete: {dangling} (dangling)" in lines
    assert f"would delete: {tagged} (unused)" in lines
    assert "would untag: app:1" in lines
    assert any(line.startswith(f"would delete: {parent} (") for line in lines)
    assert lines[-1].startswith("Total reclaimable space: ")
    # A real run afterwards does what the dry run announced.
    real = run_cli("image", "prune", "-a", "-f")
    announced = [line.removeprefix("would ").split(" (")[0] for line in lines[1:-2]]
    assert [line.replace("untagged:", "untag:").replace("deleted:", "delete:") for line in real.out.splitlines()[1:-2]] == announced


# --- concurrency and leases (hazard 23) -----------------------------------------------------------------


def test_concurrent_prune_is_refused(store: Store, make: ImageMaker, store_root: Path) -> None:
    image = make.image()
    other = Store.open(store_root)
    try:
        with other.prune_lock():
            result = run_cli("image", "prune", "-f")
    finally:
        other.close()
    assert (result.code, result.err) == (1, "Error response from daemon: a prune operation is already running\n")
    assert store.meta.image_exists(image)


def test_prune_keeps_an_import_in_flight(store: Store, make: ImageMaker, store_root: Path) -> None:
    importer = Store.open(store_root)
    try:
        with importer.lease():
            # An import that has written its blobs and registered its (untagged) image, not yet finished.
            layer = ImageMaker(importer).layer({"inflight": b"data\n"})
            config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [str(layer.diff_id)]}}).encode()
            config_digest = importer.content.put_bytes(config)
            importer.meta.add_image(
                config_digest=config_digest, config_media_type=DOCKER_CONFIG, config_size=len(config),
                created=None, created_ns=None, os="linux", architecture="amd64", variant=None, layers=(layer,),
            )
            # And the next layer, committed but not yet part of any image.
            pending = importer.content.put_bytes(b"next layer bytes")
            result = run_cli("image", "prune", "-f")
            assert result.out == "Total reclaimed space: 0B\n", result.err
            assert importer.meta.image_exists(str(config_digest))
            assert importer.content.has(pending) and importer.content.has(layer.blob)
        # Once the import is over (and left its image untagged), the image is an ordinary dangling one.
        after = run_cli("image", "prune", "-f")
        assert f"deleted: {config_digest}" in after.out.splitlines()
        assert not importer.content.has(pending)
    finally:
        importer.close()


# --- the reference engine -------------------------------------------------------------------------------


def test_same_prune_as_docker(store: Store, make: ImageMaker, docker_engine: str, tmp_path: Path) -> None:
    """A dangling child chain pruned on both; only images labelled for this run are touched on the engine."""
    token = uuid.uuid4().hex[:10]
    tar = unique_busybox_tar(tmp_path, token)
    base_tag, child_tag = f"dyrcmp-{token}-base:1", f"dyrcmp-{token}-child:1"
    label = f"dyrcmp={token}"
    assert docker(docker_engine, "import", "-c", f"LABEL {label}", "-", base_tag, tar=tar).returncode == 0
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base_tag}\nRUN echo a > /a\nENV X=1\nRUN echo cc > /c\n")
    try:
        assert docker(docker_engine, "build", "-q", "-t", child_tag, ".", cwd=context).returncode == 0
        ids = {"c": docker(docker_engine, "inspect", "-f", "{{.Id}}", child_tag).stdout.strip()}
        ids["b"] = docker(docker_engine, "inspect", "-f", "{{.Parent}}", ids["c"]).stdout.strip()
        ids["a"] = docker(docker_engine, "inspect", "-f", "{{.Parent}}", ids["b"]).stdout.strip()
        docker(docker_engine, "rmi", "--no-prune", child_tag)  # leaves nothing dangling: c goes, b is a head
        theirs = docker(docker_engine, "image", "prune", "-f", "--filter", f"label={label}")
    finally:
        docker(docker_engine, "rmi", "-f", child_tag)
        docker(docker_engine, "rmi", "-f", base_tag)

    base = make.image(base_tag, labels={"dyrcmp": token})
    a = make.child(base, files={"a": b"a\n"}, labels={"dyrcmp": token})
    b = make.child(a, files={}, labels={"dyrcmp": token})
    c = make.child(b, child_tag, files={"c": b"cc\n"}, labels={"dyrcmp": token})
    run_cli("rmi", "--no-prune", child_tag)
    ours = run_cli("image", "prune", "-f", "--filter", f"label={label}")
    roles_theirs = {k: v for k, v in ids.items()}
    roles_ours = {"a": a, "b": b, "c": c}
    assert theirs.returncode == 0, theirs.stderr
    assert "deleted: <img:b>" in normalise(theirs.stdout.splitlines(), roles_theirs)
    assert normalise(ours.out.splitlines(), roles_ours) == normalise(theirs.stdout.splitlines(), roles_theirs)
