"""`import -c` / `commit -c` change instructions, checked against what Docker's engine writes."""

from __future__ import annotations

import pytest

from dockyard.build.changes import apply_changes, empty_container_config
from dockyard.build.shellwords import process_word, process_words
from dockyard.errors import InvalidArgument

pytestmark = pytest.mark.unit


def test_many_changes_give_dockers_config_shape_and_order() -> None:
    # The config Docker 20.10 wrote for the same -c flags (keys in Go struct order).
    config = apply_changes(
        empty_container_config(),
        ['ENV X=1 Y="a b"', "EXPOSE 80 443/udp", 'CMD ["sh"]', "LABEL a=b",
         "HEALTHCHECK --interval=5s CMD true", "USER nobody", "WORKDIR /tmp", "VOLUME /data",
         "ENTRYPOINT echo hi", "ONBUILD RUN x"],
    )
    assert list(config) == [
        "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts",
        "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "Image", "Volumes", "WorkingDir",
        "Entrypoint", "OnBuild", "Labels",
    ]
    assert config["User"] == "nobody"
    assert config["ExposedPorts"] == {"443/udp": {}, "80/tcp": {}}
    assert list(config["ExposedPorts"]) == ["443/udp", "80/tcp"]
    assert config["Env"] == ["X=1", "Y=a b"]
    assert config["Cmd"] == ["sh"]
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000}
    assert config["Volumes"] == {"/data": {}}
    assert config["WorkingDir"] == "/tmp"
    assert config["Entrypoint"] == ["/bin/sh", "-c", "echo hi"]
    assert config["OnBuild"] == ["RUN x"]
    assert config["Labels"] == {"a": "b"}


def test_empty_changes_keep_the_zero_config() -> None:
    config = apply_changes(empty_container_config(), [])
    assert config["Env"] is None and config["Cmd"] is None and "ExposedPorts" not in config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("RUN echo", "run is not a valid change command"),
        ("bogus x", "bogus is not a valid change command"),
        ("FROM busybox", "from is not a valid change command"),
        ("ENV", "ENV requires at least one argument"),
        ("EXPOSE", "EXPOSE requires at least one argument"),
        ("EXPOSE abc", "Invalid containerPort: abc"),
        ("ONBUILD ONBUILD x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("HEALTHCHECK --interval=0.5ms CMD true", 'Interval "interval" cannot be less than 1ms'),
    ],
)
def test_invalid_changes_are_refused_in_dockers_words(change: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        apply_changes(empty_container_config(), [change])
    assert str(info.value) == message


def test_env_sees_earlier_env_and_replaces_keys() -> None:
    config = apply_changes(empty_container_config(), ["ENV A=1", "ENV B=$A-${A}x C=${NOPE:-dflt}", "ENV A=2"])
    assert config["Env"] == ["A=2", "B=1-1x", "C=dflt"]


def test_legacy_env_form_keeps_the_rest_of_the_line() -> None:
    assert apply_changes(empty_container_config(), ["ENV X 1 2"])["Env"] == ["X=1 2"]


def test_expose_ranges_and_protocols() -> None:
    ports = apply_changes(empty_container_config(), ["EXPOSE 8000-8002/UDP 53"])["ExposedPorts"]
    assert ports == {"53/tcp": {}, "8000/udp": {}, "8001/udp": {}, "8002/udp": {}}


def test_entrypoint_alone_resets_cmd_but_not_one_set_with_it() -> None:
    base = empty_container_config() | {"Cmd": ["old"]}
    assert apply_changes(base, ['ENTRYPOINT ["x"]'])["Cmd"] is None
    assert apply_changes(base, ['CMD ["y"]', 'ENTRYPOINT ["x"]'])["Cmd"] == ["y"]


def test_healthcheck_forms() -> None:
    none = apply_changes(empty_container_config(), ["HEALTHCHECK NONE"])["Healthcheck"]
    assert none == {"Test": ["NONE"]}
    exec_form = apply_changes(
        empty_container_config(), ['HEALTHCHECK --retries=3 --timeout=1m30s CMD ["a", "b"]']
    )["Healthcheck"]
    assert exec_form == {"Test": ["CMD", "a", "b"], "Timeout": 90_000_000_000, "Retries": 3}


def test_workdir_is_relative_to_the_previous_one() -> None:
    assert apply_changes(empty_container_config(), ["WORKDIR /a", "WORKDIR b/../c"])["WorkingDir"] == "/a/c"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('"a b"', {}, "a b"),
        ("'$A'", {"A": "1"}, "$A"),
        ('"$A"', {"A": "1"}, "1"),
        (r"a\ b", {}, "a b"),
        (r'"a\"b\n"', {}, 'a"b\\n'),
        ("${A:+set}", {"A": "1"}, "set"),
        ("${A:+set}", {}, ""),
        ("${A-x}", {"A": ""}, ""),
        ("${A:-x}", {"A": ""}, "x"),
        ("$", {}, "$"),
        ("a$", {}, "a$"),
    ],
)
def test_process_word(text: str, env: dict[str, str], expected: str) -> None:
    assert process_word(text, env) == expected


def test_process_words_splits_on_unquoted_space() -> None:
    assert process_words('/a "/b c" $X', {"X": "/d"}) == ["/a", "/b c", "/d"]


def test_unterminated_quote_is_an_error() -> None:
    with pytest.raises(InvalidArgument):
        process_word('"abc', {})
