"""``dockyard rmi``: every conflict of moby's image_delete.go, record order, pruning of parents, exit codes.

Images are made through the store API (blobs, ``add_image``, tags), containers as store records; the CLI
runs in-process against that store. A comparison test replays one scenario on a real Docker engine.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from dockyard.store import Store
from dockyard.store.gc import chain_ids
from dockyard.store.images import repo_tags
from tests.helpers.cli import Result, run_cli, run_cli_process
from tests.helpers.docker import docker, normalise
from tests.helpers.images import ImageMaker
from tests.helpers.rootfs import unique_busybox_tar

pytestmark = pytest.mark.integration


def short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def top_chain(store: Store, image_id: str) -> str:
    image = store.meta.get_image(image_id)
    assert image is not None
    return chain_ids([str(d) for d in image.diff_ids])[-1]


def blob_exists(store: Store, digest: str) -> bool:
    from dockyard.digest import Digest

    return store.content.has(Digest.parse(digest))


def remove_container_of_deleted_image(store: Store, cid: str) -> None:
    """``docker rm`` of a container whose image ``rmi -f`` removed (store.check() flags it until then)."""
    assert store.meta.remove_container(cid)
    store.gc()


def container_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


# --- by name --------------------------------------------------------------------------------------------


def test_untag_when_other_tags_remain(store: Store, make: ImageMaker) -> None:
    image = make.image("dyr:1", "dyr:2")
    result = run_cli("rmi", "dyr:1")
    assert (result.code, result.lines, result.err) == (0, ["Untagged: dyr:1"], "")
    assert repo_tags(store, image) == ["dyr:2"]


def test_last_tag_deletes_image_and_its_layers(store: Store, make: ImageMaker) -> None:
    image = make.image("dyr")
    chain = top_chain(store, image)
    layer_blob = str(store.meta.get_image(image).layers[0].blob)  # type: ignore[union-attr]
    result = run_cli("rmi", "dyr")
    assert result.code == 0
    assert result.lines == ["Untagged: dyr:latest", f"Deleted: {image}", f"Deleted: {chain}"]
    assert not store.meta.image_exists(image)
    assert not blob_exists(store, image) and not blob_exists(store, layer_blob)


def test_last_tag_of_repo_drops_its_digests_only(store: Store, make: ImageMaker) -> None:
    digest = "sha256:" + "d" * 64
    image = make.image("dyr:1", "other:1", repo_digest=f"dyr@{digest}")
    store.meta.add_repo_digest("docker.io/library/other", "sha256:" + "e" * 64, image)
    result = run_cli("rmi", "dyr:1")
    assert result.lines == ["Untagged: dyr:1", f"Untagged: dyr@{digest}"]
    assert store.meta.repo_digests_for(image)[0].repository == "docker.io/library/other"
    assert store.meta.image_exists(image)


def test_by_repo_digest(store: Store, make: ImageMaker) -> None:
    digest = "sha256:" + "f" * 64
    image = make.image(repo_digest=f"dyr@{digest}")
    result = run_cli("rmi", f"dyr@{digest}")
    assert result.lines[:2] == [f"Untagged: dyr@{digest}", f"Deleted: {image}"]


def test_shared_layers_are_not_reported(store: Store, make: ImageMaker) -> None:
    base = make.image("base")
    shared = tuple(store.meta.get_image(base).layers)  # type: ignore[union-attr]
    twin = make.image("twin", layers=shared)
    result = run_cli("rmi", "twin")
    assert result.lines == ["Untagged: twin:latest", f"Deleted: {twin}"]
    assert store.meta.image_exists(base)


# --- by ID ----------------------------------------------------------------------------------------------


def test_id_with_one_tag_and_its_digest(store: Store, make: ImageMaker) -> None:
    digest = "sha256:" + "1" * 64
    image = make.image("dyr:1", repo_digest=f"dyr@{digest}")
    result = run_cli("rmi", short(image))
    assert result.lines == [
        "Untagged: dyr:1", f"Untagged: dyr@{digest}", f"Deleted: {image}", f"Deleted: {top_chain_of(result)}",
    ]


def top_chain_of(result: Result) -> str:
    return result.lines[-1].removeprefix("Deleted: ")


def test_id_with_two_tags_must_be_forced(store: Store, make: ImageMaker) -> None:
    image = make.image("dyr:1", "dyr:2")
    chain = top_chain(store, image)
    result = run_cli("rmi", image)
    assert result.code == 1
    assert result.err == (
        f"Error response from daemon: conflict: unable to delete {short(image)} (must be forced) - "
        "image is referenced in multiple repositories\n"
    )
    assert result.out == ""
    forced = run_cli("rmi", "-f", image)
    assert forced.lines == ["Untagged: dyr:1", "Untagged: dyr:2", f"Deleted: {image}", f"Deleted: {chain}"]


def test_id_in_several_repositories_must_be_forced(store: Store, make: ImageMaker) -> None:
    image = make.image("zed:1", "alpha:1")
    assert "referenced in multiple repositories" in run_cli("rmi", short(image)).err
    assert run_cli("rmi", "-f", short(image)).lines[:2] == ["Untagged: alpha:1", "Untagged: zed:1"]


# --- containers -----------------------------------------------------------------------------------------


def test_last_tag_used_by_container_must_force(store: Store, make: ImageMaker) -> None:
    image = make.image("dyr:1")
    cid = container_id()
    store.meta.add_container(cid, image, "c1", "exited")
    result = run_cli("rmi", "dyr:1")
    assert result.code == 1
    assert result.err == (
        'Error response from daemon: conflict: unable to remove repository reference "dyr:1" (must force) - '
        f"container {cid[:12]} is using its referenced image {short(image)}\n"
    )
    assert repo_tags(store, image) == ["dyr:1"]
    forced = run_cli("rmi", "-f", "dyr:1")
    # The stopped container still stands on the layers: no chain-ID records.
    assert forced.lines == ["Untagged: dyr:1", f"Deleted: {image}"]
    remove_container_of_deleted_image(store, cid)


def test_id_used_by_stopped_container(store: Store, make: ImageMaker) -> None:
    image = make.image("dyr:1")
    cid = container_id()
    store.meta.add_container(cid, image, "c1", "created")
    result = run_cli("rmi", short(image))
    assert result.err == (
        f"Error response from daemon: conflict: unable to delete {short(image)} (must be forced) - "
        f"image is being used by stopped container {cid[:12]}\n"
    )
    assert run_cli("rmi", "-f", short(image)).lines == ["Untagged: dyr:1", f"Deleted: {image}"]
    # GC keeps what the container was made from.
    assert blob_exists(store, image)
    remove_container_of_deleted_image(store, cid)


def test_id_used_by_running_container_cannot_be_forced(store: Store, make: ImageMaker) -> None:
    image = make.image("dyr:1")
    cid = container_id()
    store.meta.add_container(cid, image, "c1", "running")
    expected = (
        f"Error response from daemon: conflict: unable to delete {short(image)} (cannot be forced) - "
        f"image is being used by running container {cid[:12]}\n"
    )
    for argv in (("rmi", short(image)), ("rmi", "-f", short(image))):
        result = run_cli(*argv)
        assert (result.code, result.out, result.err) == (1, "", expected)
    # By tag with -f: untagged only, the image stays as <none>.
    forced = run_cli("rmi", "-f", "dyr:1")
    assert (forced.code, forced.lines) == (0, ["Untagged: dyr:1"])
    assert store.meta.image_exists(image) and repo_tags(store, image) == []


@pytest.mark.parametrize("state", ["paused", "restarting"])
def test_paused_and_restarting_count_as_running(store: Store, make: ImageMaker, state: str) -> None:
    image = make.image("dyr:1")
    store.meta.add_container(container_id(), image, None, state)
    assert "(cannot be forced) - image is being used by running container" in run_cli("rmi", "-f", image).err


# --- children and parents -------------------------------------------------------------------------------


def chain_of_four(make: ImageMaker) -> tuple[str, str, str, str]:
    """base (tagged) <- a (new layer) <- b (no new layer) <- c (new layer, tagged)."""
    base = make.image("dyrbase:1")
    a = make.child(base)
    b = make.child(a, files={})
    c = make.child(b, "dyrchild:1")
    return base, a, b, c


def test_image_with_children(store: Store, make: ImageMaker) -> None:
    base, a, _, _ = chain_of_four(make)
    expected = (
        f"Error response from daemon: conflict: unable to delete {short(base)} (cannot be forced) - "
        "image has dependent child images\n"
    )
    assert run_cli("rmi", base).err == expected
    assert run_cli("rmi", "-f", base).err == expected
    # By tag: untagged, and the image quietly stays for its children.
    result = run_cli("rmi", "dyrbase:1")
    assert (result.code, result.lines, result.err) == (0, ["Untagged: dyrbase:1"], "")
    assert store.meta.image_exists(base)


def test_untagged_parents_are_pruned(store: Store, make: ImageMaker) -> None:
    base, a, b, c = chain_of_four(make)
    chain_c, chain_a = top_chain(store, c), top_chain(store, a)
    result = run_cli("rmi", "dyrchild:1")
    # base keeps its tag, so the pruning stops there.
    assert result.lines == [
        "Untagged: dyrchild:1", f"Deleted: {c}", f"Deleted: {chain_c}", f"Deleted: {b}", f"Deleted: {a}",
        f"Deleted: {chain_a}",
    ]
    assert store.meta.image_exists(base)


def test_no_prune_keeps_parents(store: Store, make: ImageMaker) -> None:
    _, a, b, c = chain_of_four(make)
    result = run_cli("rmi", "--no-prune", "dyrchild:1")
    assert result.lines == ["Untagged: dyrchild:1", f"Deleted: {c}", f"Deleted: {top_chain_of(result)}"]
    assert store.meta.image_exists(b) and store.meta.image_exists(a)


def test_parent_used_by_container_stops_pruning(store: Store, make: ImageMaker) -> None:
    base, a, b, c = chain_of_four(make)
    store.meta.add_container(container_id(), a, None, "exited")
    result = run_cli("rmi", "dyrchild:1")
    assert [line for line in result.lines if line in (f"Deleted: {b}", f"Deleted: {a}")] == [f"Deleted: {b}"]
    assert store.meta.image_exists(a)


# --- operands and exit codes ----------------------------------------------------------------------------


def test_not_found_and_success_mixed(store: Store, make: ImageMaker) -> None:
    make.image("dyr:1", "dyr:2")
    result = run_cli("rmi", "nosuch", "dyr:1", "dyr:9")
    assert result.code == 1
    assert result.lines == ["Untagged: dyr:1"]
    assert result.err == (
        "Error response from daemon: No such image: nosuch:latest\n"
        "Error response from daemon: No such image: dyr:9\n"
    )


def test_force_forgives_only_not_found(store: Store, make: ImageMaker) -> None:
    image = make.image("dyr:1")
    store.meta.add_container(container_id(), image, None, "running")
    only_missing = run_cli("rmi", "-f", "nosuch1", "nosuch2")
    assert only_missing.code == 0
    assert only_missing.err.count("Error response from daemon: No such image:") == 2
    with_conflict = run_cli("rmi", "-f", "nosuch1", image)
    assert with_conflict.code == 1
    bad_reference = run_cli("rmi", "-f", "nosuch1", "Dyr")
    assert bad_reference.code == 1
    assert bad_reference.err.splitlines()[1] == (
        "Error response from daemon: invalid reference format: repository name (library/Dyr) must be lowercase"
    )


def test_missing_id_wording(store: Store) -> None:
    result = run_cli("rmi", "0" * 64)
    assert result.err == f"Error response from daemon: No such image: sha256:{'0' * 64}\n"


def test_id_prefix_operand(store: Store, make: ImageMaker) -> None:
    image = make.image()
    result = run_cli("rmi", "sha256:" + image[7:13])
    assert result.lines[0] == f"Deleted: {image}"


def test_requires_an_argument(store: Store) -> None:
    result = run_cli("rmi")
    assert result.code == 1
    assert result.err.startswith("dockyard: 'dockyard rmi' requires at least 1 argument\n")


# --- the reference engine -------------------------------------------------------------------------------


def build_docker_chain(host: str, tmp_path: Path, token: str) -> dict[str, str]:
    """On the engine: base (tagged) <- a (RUN) <- b (ENV) <- c (RUN, tagged); returns role -> image ID."""
    tar = unique_busybox_tar(tmp_path, token)
    base_tag, child_tag = f"dyrcmp-{token}-base:1", f"dyrcmp-{token}-child:1"
    imported = docker(host, "import", "-c", f"LABEL dyrcmp={token}", "-", base_tag, tar=tar)
    assert imported.returncode == 0, imported.stderr
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base_tag}\nRUN echo a > /a\nENV X=1\nRUN echo c > /c\n")
    built = docker(host, "build", "-q", "-t", child_tag, ".", cwd=context)
    assert built.returncode == 0, built.stderr
    roles = {"base": docker(host, "inspect", "-f", "{{.Id}}", base_tag).stdout.strip()}
    child = docker(host, "inspect", "-f", "{{.Id}}", child_tag).stdout.strip()
    roles["c"] = child
    b = docker(host, "inspect", "-f", "{{.Parent}}", child).stdout.strip()
    roles["b"] = b
    roles["a"] = docker(host, "inspect", "-f", "{{.Parent}}", b).stdout.strip()
    return roles


def test_same_scenario_as_docker(store: Store, make: ImageMaker, docker_engine: str, tmp_path: Path) -> None:
    token = uuid.uuid4().hex[:10]
    roles = build_docker_chain(docker_engine, tmp_path, token)
    base_tag, child_tag = f"dyrcmp-{token}-base:1", f"dyrcmp-{token}-child:1"
    try:
        steps = [("rmi", roles["base"]), ("rmi", base_tag), ("rmi", child_tag), ("rmi", roles["base"])]
        theirs = []
        for argv in steps:
            run = docker(docker_engine, *argv)
            theirs.append((run.returncode, normalise(run.stdout.splitlines(), roles),
                           normalise(run.stderr.splitlines(), roles)))
    finally:
        for tag in (child_tag, base_tag):
            docker(docker_engine, "rmi", "-f", tag)
        docker(docker_engine, "rmi", roles["base"])

    base = make.image(base_tag)
    a = make.child(base)
    b = make.child(a, files={})
    c = make.child(b, child_tag)
    ours_roles = {"base": base, "a": a, "b": b, "c": c}
    ours = []
    for argv in [("rmi", ours_roles["base"]), ("rmi", base_tag), ("rmi", child_tag), ("rmi", ours_roles["base"])]:
        run = run_cli(*argv)
        ours.append((run.code, normalise(run.lines, ours_roles), normalise(run.err.splitlines(), ours_roles)))
    # Not vacuous: the engine pruned the chain and reported released layers.
    assert "Deleted: <img:a>" in theirs[2][1] and "Deleted: <layer>" in theirs[2][1]
    assert ours == theirs


def test_as_a_process(store: Store, make: ImageMaker, store_root: Path) -> None:
    """The installed entry point, streams and exit code of a real process."""
    import os

    image = make.image("dyr:1")
    env = dict(os.environ, DOCKYARD_ROOT=str(store_root))
    run = run_cli_process("rmi", "dyr:1", "nosuch", env=env)
    assert run.code == 1
    assert run.lines[:2] == ["Untagged: dyr:1", f"Deleted: {image}"]
    assert run.err == "Error response from daemon: No such image: nosuch:latest\n"
