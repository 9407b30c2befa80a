"""``--change`` / ``-c`` instructions (import, commit): Dockerfile lines applied to an image's config.

Parsing uses BuildKit's own Dockerfile parser (the ``dockerfile`` package); the dispatch rules and
messages follow moby's builder. Current moby also allows STOPSIGNAL here (20.10 refused it).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidArgument
from ..oci.config import CONTAINER_CONFIG_LAYOUT, container_config_zero
from .shellwords import env_mapping, process_word, process_words

ALLOWED_CHANGE_COMMANDS = frozenset(
    {"cmd", "entrypoint", "env", "expose", "healthcheck", "label", "onbuild", "user", "volume", "workdir",
     "stopsignal"}
)

# Docker's container.Config field order; omitempty fields are left out when unset.
_CONFIG_FIELDS = CONTAINER_CONFIG_LAYOUT
_ZERO: dict[str, Any] = container_config_zero()
_HEALTHCHECK_FIELDS = ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")


def empty_container_config() -> dict[str, Any]:
    return dict(_ZERO)


def ordered_container_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config with Docker's key order; unknown keys are kept after the known ones."""
    ordered: dict[str, Any] = {}
    for name, omitempty in _CONFIG_FIELDS:
        if name in config:
            value = config[name]
            if omitempty and value in (None, "", False, 0, {}, []):
                continue
            ordered[name] = value
        elif not omitempty:
            ordered[name] = _ZERO.get(name)
    for name, value in config.items():
        if name not in ordered and not any(name == f for f, _ in _CONFIG_FIELDS):
            ordered[name] = value
    return ordered


def apply_changes(config: dict[str, Any], changes: Iterable[str]) -> dict[str, Any]:
    """Apply Dockerfile change lines to a copy of ``config`` (a container config dict)."""
    text = "\n".join(changes)
    if not text.strip():
        return ordered_container_config(dict(config))
    import dockerfile  # BuildKit's parser; only loaded when changes are given

    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as e:
        raise InvalidArgument(str(e)) from None
    result = dict(config)
    state = _DispatchState()
    for command in commands:
        name = command.cmd.lower()
        if name not in ALLOWED_CHANGE_COMMANDS:
            raise InvalidArgument(f"{name} is not a valid change command")
        _DISPATCH[name](result, command, state)
    return ordered_container_config(result)


class _DispatchState:
    cmd_set = False


def _env(config: dict[str, Any]) -> dict[str, str]:
    return env_mapping(config.get("Env"))


def _require(command: Any, name: str) -> None:
    if not command.value:
        raise InvalidArgument(f"{name} requires at least one argument")


def _pairs(command: Any, name: str) -> list[tuple[str, str]]:
    _require(command, name)
    values = list(command.value)
    if len(values) % 2:
        raise InvalidArgument(f"{name} must have two arguments")
    return list(zip(values[0::2], values[1::2]))


def _do_env(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    env_list = list(config.get("Env") or [])
    for raw_key, raw_value in _pairs(command, "ENV"):
        env = env_mapping(env_list)
        key = process_word(raw_key, env)
        value = process_word(raw_value, env)
        entry = f"{key}={value}"
        for i, existing in enumerate(env_list):
            if existing.partition("=")[0] == key:
                env_list[i] = entry
                break
        else:
            env_list.append(entry)
    config["Env"] = env_list


def _do_label(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    labels = dict(config.get("Labels") or {})
    env = _env(config)
    for raw_key, raw_value in _pairs(command, "LABEL"):
        labels[process_word(raw_key, env)] = process_word(raw_value, env)
    config["Labels"] = labels


def _exec_form(command: Any) -> list[str]:
    if command.json:
        return list(command.value)
    return ["/bin/sh", "-c", command.value[0] if command.value else ""]


def _do_cmd(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    config["Cmd"] = _exec_form(command)
    state.cmd_set = True


def _do_entrypoint(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    if command.json:
        config["Entrypoint"] = list(command.value)
    elif command.value and command.value[0]:
        config["Entrypoint"] = ["/bin/sh", "-c", command.value[0]]
    else:
        config["Entrypoint"] = None
    # As in moby: an ENTRYPOINT resets a CMD inherited from the base, not one set alongside it.
    if not state.cmd_set:
        config["Cmd"] = None


def _parse_port(spec: str) -> list[str]:
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    start_text, dash, end_text = port.partition("-")
    if not start_text.isdigit() or (dash and not end_text.isdigit()):
        raise InvalidArgument(f"Invalid containerPort: {port}")
    start = int(start_text)
    end = int(end_text) if dash else start
    if end < start:
        raise InvalidArgument(f"Invalid range specified for the Port: {port}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def _do_expose(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    _require(command, "EXPOSE")
    ports = dict(config.get("ExposedPorts") or {})
    env = _env(config)
    for raw in command.value:
        for word in process_words(raw, env):
            for port in _parse_port(word):
                ports[port] = {}
    config["ExposedPorts"] = dict(sorted(ports.items()))


def _do_user(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    _require(command, "USER")
    config["User"] = process_word(command.value[0], _env(config))


def _do_workdir(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    _require(command, "WORKDIR")
    path = process_word(command.value[0], _env(config))
    current = config.get("WorkingDir") or "/"
    config["WorkingDir"] = posixpath.normpath(posixpath.join(current, path))


def _do_volume(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    _require(command, "VOLUME")
    volumes = dict(config.get("Volumes") or {})
    env = _env(config)
    words = list(command.value) if command.json else [
        w for raw in command.value for w in process_words(raw, env)
    ]
    for word in words:
        if not word.strip():
            raise InvalidArgument("VOLUME specified can not be an empty string")
        volumes[word] = {}
    config["Volumes"] = volumes


def _do_stopsignal(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    _require(command, "STOPSIGNAL")
    config["StopSignal"] = process_word(command.value[0], _env(config))


def _do_onbuild(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    sub = (command.sub_cmd or "").upper()
    if sub == "ONBUILD":
        raise InvalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if sub in ("FROM", "MAINTAINER"):
        raise InvalidArgument(f"{sub} isn't allowed as an ONBUILD trigger")
    trigger = command.original.strip()[len("ONBUILD"):].strip()
    config["OnBuild"] = [*(config.get("OnBuild") or []), trigger]


def _healthcheck_duration(flag: str, text: str) -> int:
    from ..gotime import parse_go_duration

    if text == "":
        return 0
    try:
        value = parse_go_duration(text)
    except InvalidArgument:
        raise InvalidArgument(f'time: invalid duration "{text}"') from None
    if value == 0:
        return 0
    if value < 1_000_000:
        raise InvalidArgument(f'{flag.capitalize()} "{flag}" cannot be less than 1ms')
    return value


def _do_healthcheck(config: dict[str, Any], command: Any, state: _DispatchState) -> None:
    _require(command, "HEALTHCHECK")
    kind = command.value[0].upper()
    if kind == "NONE":
        if len(command.value) > 1:
            raise InvalidArgument("HEALTHCHECK NONE takes no arguments")
        config["Healthcheck"] = {"Test": ["NONE"]}
        return
    if kind != "CMD":
        raise InvalidArgument(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    args = list(command.value[1:])
    test = ["CMD", *args] if command.json else ["CMD-SHELL", " ".join(args)]
    check: dict[str, Any] = {"Test": test}
    names = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
             "start-interval": "StartInterval"}
    for flag in command.flags:
        key, _, value = flag.lstrip("-").partition("=")
        if key in names:
            check[names[key]] = _healthcheck_duration(key, value)
        elif key == "retries":
            try:
                retries = int(value)
            except ValueError:
                raise InvalidArgument(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None
            if retries < 0:
                raise InvalidArgument("--retries cannot be negative (%d)" % retries)
            check["Retries"] = retries
        else:
            raise InvalidArgument(f"Unknown flag: {key}")
    config["Healthcheck"] = {k: check[k] for k in _HEALTHCHECK_FIELDS if check.get(k) not in (None, 0)}


_DISPATCH = {
    "env": _do_env, "label": _do_label, "cmd": _do_cmd, "entrypoint": _do_entrypoint,
    "expose": _do_expose, "user": _do_user, "workdir": _do_workdir, "volume": _do_volume,
    "stopsignal": _do_stopsignal, "onbuild": _do_onbuild, "healthcheck": _do_healthcheck,
}

