"""``dockyard tag``: silent success, moved tags, client-side target checks, daemon-side source lookup."""

from __future__ import annotations

import pytest

from dockyard.store import Store
from dockyard.store.images import repo_tags, resolve_image
from tests.helpers.cli import run_cli
from tests.helpers.docker import docker
from tests.helpers.images import ImageMaker

pytestmark = pytest.mark.integration


def test_tag_is_silent_and_defaults_to_latest(store: Store, make: ImageMaker) -> None:
    image = make.image("src:1")
    result = run_cli("tag", "src:1", "dst")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert repo_tags(store, image) == ["dst:latest", "src:1"]


def test_existing_tag_moves_and_old_image_dangles(store: Store, make: ImageMaker) -> None:
    old = make.image("app:1")
    new = make.image("build:7")
    assert run_cli("tag", "build:7", "app:1").code == 0
    assert resolve_image(store, "app:1").id == new
    assert repo_tags(store, old) == [] and store.meta.image_exists(old)
    # The old image is now what prune calls dangling.
    assert f"deleted: {old}" in run_cli("image", "prune", "-f").out.splitlines()


def test_source_by_id_prefix_and_full_id(store: Store, make: ImageMaker) -> None:
    image = make.image()
    assert run_cli("tag", image[7:11], "a:1").code == 0
    assert run_cli("tag", image, "b:1").code == 0
    assert run_cli("tag", image.removeprefix("sha256:"), "localhost:5000/c/d:x").code == 0
    assert repo_tags(store, image) == ["a:1", "b:1", "localhost:5000/c/d:x"]


def test_uppercase_registry_host_is_fine(store: Store, make: ImageMaker) -> None:
    image = make.image("src:1")
    assert run_cli("tag", "src:1", "DYR.example.com/dyr:x").code == 0
    # Engine order sorts full names: "DYR.example.com/…" < "docker.io/library/src".
    assert repo_tags(store, image) == ["DYR.example.com/dyr:x", "src:1"]


@pytest.mark.parametrize(
    ("target", "cause"),
    [
        ("Dyrtest", "invalid reference format: repository name (library/Dyrtest) must be lowercase"),
        ("dyr:bad:tag", "invalid reference format"),
        ("", "invalid reference format"),
        ("a" * 248, "repository name must not be more than 255 characters"),
        ("f" * 64, f"invalid repository name ({'f' * 64}), cannot specify 64-byte hexadecimal strings"),
    ],
)
def test_invalid_target_is_a_client_error(store: Store, make: ImageMaker, target: str, cause: str) -> None:
    image = make.image("src:1")
    result = run_cli("tag", "src:1", target)
    assert (result.code, result.out) == (1, "")
    assert result.err == f'Error parsing reference: "{target}" is not a valid repository/tag: {cause}\n'
    assert repo_tags(store, image) == ["src:1"]


def test_digest_target_is_refused(store: Store, make: ImageMaker) -> None:
    make.image("src:1")
    result = run_cli("tag", "src:1", "dyr@sha256:" + "a" * 64)
    assert (result.code, result.err) == (1, "refusing to create a tag with a digest reference\n")


def test_invalid_source_is_a_client_error(store: Store) -> None:
    result = run_cli("tag", "Src", "dst:1")
    assert result.err == (
        'Error parsing reference: "Src" is not a valid repository/tag: '
        "invalid reference format: repository name (library/Src) must be lowercase\n"
    )


def test_missing_source_is_a_daemon_error(store: Store) -> None:
    result = run_cli("tag", "nosuch", "dst:1")
    assert (result.code, result.err) == (1, "Error response from daemon: No such image: nosuch:latest\n")
    assert store.meta.all_tags() == []


def test_needs_exactly_two_arguments(store: Store) -> None:
    result = run_cli("tag", "a")
    assert result.code == 1
    assert result.err.startswith("dockyard: 'dockyard tag' requires 2 arguments\n")


def test_messages_match_docker(store: Store, make: ImageMaker, docker_engine: str) -> None:
    """The same failing invocations on the real CLI + engine give the same stderr and exit code."""
    cases = [("nosuch-dyr-tag", "dst:1"), ("busybox", "Dyrtest"), ("busybox", "dyr@sha256:" + "a" * 64),
             ("Src", "dst:1"), ("busybox", "f" * 64)]
    for source, target in cases:
        theirs = docker(docker_engine, "tag", source, target)
        ours = run_cli("tag", source, target)
        assert (ours.code, ours.err) == (theirs.returncode, theirs.stderr), (source, target)


def test_target_starting_with_a_dash_is_an_operand(store: Store, make: ImageMaker) -> None:
    # docker/cli's tag stops parsing flags at the first operand (SetInterspersed(false))
    make.image("src:1")
    result = run_cli("tag", "src:1", "-dash")
    assert (result.code, result.out) == (1, "")
    assert result.err == 'Error parsing reference: "-dash" is not a valid repository/tag: invalid reference format\n'


@pytest.mark.parametrize(("target", "quoted"), [("a\\b", '"a\\\\b"'), ('a"b', '"a\\"b"'), ("a\tb", '"a\\tb"'),
                                                ("é!", '"é!"')])
def test_rejected_target_is_quoted_as_go_does(store: Store, make: ImageMaker, target: str, quoted: str) -> None:
    make.image("src:1")
    result = run_cli("tag", "src:1", target)
    assert result.err == f"Error parsing reference: {quoted} is not a valid repository/tag: invalid reference format\n"
