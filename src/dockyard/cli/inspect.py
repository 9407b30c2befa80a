"""``docker inspect`` / ``image inspect`` for images: docker/cli's ``inspect.Inspect`` over the local store.

Output modes (cli/command/inspect/inspector.go): no ``-f`` prints the raw objects as an array indented
by 4 spaces; ``-f json`` the same array compact; any other value is a template run once per object,
first on the typed object the client decodes (``image.InspectResponse`` of docker 28), and when that
fails, on the raw JSON with ``missingkey=error``. Per-operand errors are collected and printed after the
objects that were found; a template that does not parse exits 64 before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dockyard.errors import DockyardError, InvalidArgument, NotFound, TemplateError
from dockyard.oci.config import CONTAINER_CONFIG_LAYOUT

if TYPE_CHECKING:
    from dockyard.cli.context import Context
    from dockyard.cli.flags import Options

DAEMON_PREFIX = "Error response from daemon: "
TEMPLATE_ERROR_PREFIX = "template parsing error: "
INSPECT_TYPES = ("config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume")


class InspectFailed(DockyardError):
    """The joined per-operand errors, printed as they are (each carries its own prefix)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, client=True)


# --- the typed view: Go values as docker 28's client decodes the engine's JSON --------------------------


class GoStructPtr:
    """A pointer to a Go struct: fields by attribute, ``json`` with the struct's omitempty rules, printed
    (``{{.Config}}``) as text/template prints it, i.e. dereferenced: ``{…}``."""

    def __init__(self, type_name: str, fields: list[tuple[str, Any]], json_fields: list[tuple[str, Any]],
                 printed: Any = None) -> None:
        self.__go_type__ = type_name
        for name, value in fields:
            setattr(self, name, value)
        self._json_fields = json_fields
        self._printed = printed if printed is not None else _struct(type_name.lstrip("*"), fields)

    def String(self) -> str:  # noqa: N802 - how fmt shows it; Go would print the dereferenced struct
        from dockyard.render.gofmt import go_sprint

        return go_sprint(self._printed)

    def __go_json__(self) -> str:
        from dockyard.render.gotemplate_json import go_json

        return go_json(_struct("json", self._json_fields), escape_html=False)


class GoTime:
    """A ``time.Time`` decoded from RFC 3339 text: prints as ``Time.String()``, encodes as the text."""

    __go_type__ = "time.Time"

    def __init__(self, text: str) -> None:
        self._text = text

    def String(self) -> str:  # noqa: N802
        from datetime import timezone

        from dockyard.gotime import go_time_string, parse_rfc3339_nano

        try:
            return go_time_string(parse_rfc3339_nano(self._text), timezone.utc)
        except Exception:  # noqa: BLE001 - not a time Go could have decoded; show the text
            return self._text

    def __go_json__(self) -> str:
        return json.dumps(self._text)


class GoDuration:
    """A ``time.Duration``: prints as ``30s``, encodes as integer nanoseconds."""

    __go_type__ = "time.Duration"

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def String(self) -> str:  # noqa: N802
        from dockyard.gotime import format_go_duration

        return format_go_duration(self.ns)

    def __go_json__(self) -> str:
        return str(self.ns)


def _struct(type_name: str, fields: list[tuple[str, Any]]) -> Any:
    from dockyard.render.gotemplate import Struct

    return Struct(type_name, dict(fields))


def _nil(kind: str, type_name: str) -> Any:
    from dockyard.render.gotemplate import GoNil

    return GoNil(kind, type_name)


def _strings(value: Any) -> Any:
    if value is None:
        return _nil("slice", "[]string")
    if isinstance(value, str):
        return [value]
    return list(value)


def _string_map(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else _nil("map", "map[string]string")


def _set_map(value: Any) -> Any:
    """``map[string]struct{}`` (ports, volumes): values print as ``{}``."""
    if not isinstance(value, Mapping):
        return _nil("map", "map[string]struct {}")
    return {k: _struct("struct {}", []) for k in value}


def _healthcheck(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return _nil("ptr", "*container.HealthConfig")
    fields: list[tuple[str, Any]] = [("Test", _strings(value.get("Test")))]
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        fields.append((key, GoDuration(int(value.get(key) or 0))))
    fields.append(("Retries", int(value.get("Retries") or 0)))
    json_fields = [(k, v) for k, v in fields if not _empty(v)]
    return GoStructPtr("*container.HealthConfig", fields, json_fields)


def _empty(value: Any) -> bool:
    from dockyard.render.gotemplate import GoNil

    if value is None or isinstance(value, GoNil):
        return True
    if isinstance(value, GoDuration):
        return value.ns == 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, (str, int, list, dict)):
        return not value
    return False


# container.Config, in struct order; True marks omitempty.
_LEGACY_FIELDS = CONTAINER_CONFIG_LAYOUT


def _config_value(name: str, value: Any) -> Any:
    if name in ("Env", "Cmd", "Entrypoint", "OnBuild", "Shell"):
        return _strings(value)
    if name in ("ExposedPorts", "Volumes"):
        return _set_map(value)
    if name == "Labels":
        return _string_map(value)
    if name == "Healthcheck":
        return _healthcheck(value)
    if name == "StopTimeout":
        return _nil("ptr", "*int") if value is None else int(value)
    if name in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce", "ArgsEscaped",
                "NetworkDisabled"):
        return bool(value)
    return "" if value is None else value


def legacy_config(raw: Any) -> Any:
    """``*container.Config`` (``ContainerConfig``)."""
    if not isinstance(raw, Mapping):
        return _nil("ptr", "*container.Config")
    fields = [(name, _config_value(name, raw.get(name))) for name, _ in _LEGACY_FIELDS]
    omit = {name for name, omitempty in _LEGACY_FIELDS if omitempty}
    json_fields = [(k, v) for k, v in fields if not (k in omit and _empty(v))]
    return GoStructPtr("*container.Config", fields, json_fields)


_OCI_IMAGE_FIELDS = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
                     "StopSignal", "ArgsEscaped")
_OCI_EXT_FIELDS = ("Healthcheck", "OnBuild", "Shell")


def oci_config(raw: Any) -> Any:
    """``*dockerspec.DockerOCIImageConfig`` (``Config``): OCI's ImageConfig plus Docker's extension,
    every key omitempty; the client decodes the engine's legacy-shaped Config into it."""
    if not isinstance(raw, Mapping):
        return _nil("ptr", "*v1.DockerOCIImageConfig")
    image = [(name, _config_value(name, raw.get(name))) for name in _OCI_IMAGE_FIELDS]
    ext = [(name, _config_value(name, raw.get(name))) for name in _OCI_EXT_FIELDS]
    fields = image + ext
    json_fields = [(k, v) for k, v in fields if not _empty(v)]
    printed = _struct("v1.DockerOCIImageConfig", [
        ("ImageConfig", _struct("v1.ImageConfig", image)),
        ("DockerOCIImageConfigExt", _struct("v1.DockerOCIImageConfigExt", ext)),
    ])
    return GoStructPtr("*v1.DockerOCIImageConfig", fields, json_fields, printed)


_TOP_OMITEMPTY = frozenset(
    {"Created", "Container", "ContainerConfig", "Config", "Variant", "OsVersion", "VirtualSize", "Descriptor",
     "Manifests"}
)


def typed_image(raw: Mapping[str, Any]) -> GoStructPtr:
    """docker 28's ``image.InspectResponse`` decoded from the engine's object."""
    graph = raw.get("GraphDriver") or {}
    rootfs = raw.get("RootFS") or {}
    metadata = raw.get("Metadata") or {}
    fields: list[tuple[str, Any]] = [
        ("Id", raw.get("Id", "")),
        ("RepoTags", _strings(raw.get("RepoTags"))),
        ("RepoDigests", _strings(raw.get("RepoDigests"))),
        ("Parent", raw.get("Parent", "")),
        ("Comment", raw.get("Comment", "")),
        ("Created", raw.get("Created", "")),
        ("Container", raw.get("Container", "")),
        ("ContainerConfig", legacy_config(raw.get("ContainerConfig"))),
        ("DockerVersion", raw.get("DockerVersion", "")),
        ("Author", raw.get("Author", "")),
        ("Config", oci_config(raw.get("Config"))),
        ("Architecture", raw.get("Architecture", "")),
        ("Variant", raw.get("Variant", "")),
        ("Os", raw.get("Os", "")),
        ("OsVersion", raw.get("OsVersion", "")),
        ("Size", raw.get("Size", 0)),
        ("VirtualSize", raw.get("VirtualSize", 0)),
        ("GraphDriver", _struct("storage.DriverData", [
            ("Data", _string_map(graph.get("Data"))), ("Name", graph.get("Name", "")),
        ])),
        ("RootFS", _struct("image.RootFS", [
            ("Type", rootfs.get("Type", "")), ("Layers", _strings(rootfs.get("Layers"))),
        ])),
        ("Metadata", _struct("image.Metadata", [
            ("LastTagTime", GoTime(metadata.get("LastTagTime") or "0001-01-01T00:00:00Z")),
        ])),
        ("Descriptor", _nil("ptr", "*v1.Descriptor")),
        ("Manifests", _nil("slice", "[]image.ManifestSummary")),
    ]
    json_fields = [(k, v) for k, v in fields if not (k in _TOP_OMITEMPTY and _empty(v))]
    return GoStructPtr("image.InspectResponse", fields, json_fields)


# --- output --------------------------------------------------------------------------------------------


def raw_json(obj: Any) -> str:
    """The engine's bytes for an object: struct order kept, and moby's ``WriteJSON`` turns HTML escaping
    off (Go still escapes U+2028 and U+2029)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def indented(objects: list[Any]) -> str:
    """``json.Indent`` of the engine's objects with four spaces, as the client prints them."""
    if not objects:
        return "[]\n"
    text = json.dumps(objects, ensure_ascii=False, indent=4, separators=(",", ": "))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"


class TemplateInspector:
    def __init__(self, text: str) -> None:
        from dockyard.render.gotemplate import Template, docker_funcs

        try:
            self.template = Template.parse(text, funcs=docker_funcs())
        except TemplateError as err:
            raise TemplateError(TEMPLATE_ERROR_PREFIX + err.message, parse=True) from None
        self.buffer: list[str] = []

    def inspect(self, raw: Mapping[str, Any]) -> None:
        try:
            out = self.template.execute(typed_image(raw))
        except TemplateError:
            try:
                out = self.template.execute(json.loads(raw_json(raw)), missingkey_error=True)
            except TemplateError as err:
                raise TemplateError(TEMPLATE_ERROR_PREFIX + err.message) from None
        self.buffer.append(out + "\n")

    def flush(self) -> str:
        return "".join(self.buffer) if self.buffer else "\n"


def run_inspect(ctx: Context, opts: Options, args: list[str]) -> int:
    top_level = ctx.command_path == "inspect"
    kind = (opts.type or "") if top_level else "image"
    if kind and kind not in INSPECT_TYPES:
        quoted = ", ".join(f'"{t}"' for t in INSPECT_TYPES)
        raise InvalidArgument(f'unknown type: "{kind}": must be one of {quoted}', client=True)
    if not top_level and opts.platform:
        from dockyard.oci.platform import parse_platform

        parse_platform(opts.platform)  # validated; a single-platform store has nothing to choose between
    fmt = opts.format or ""
    inspector = TemplateInspector(fmt) if fmt not in ("", "json") else None

    engine = ctx.engine
    found: list[Any] = []
    errors: list[str] = []
    for name in args:
        try:
            if kind not in ("", "image"):
                raise NotFound(f"No such {kind}: {name}")
            obj = engine.inspect_image(name)
        except NotFound as err:
            errors.append(f"Error: No such object: {name}" if not kind else DAEMON_PREFIX + err.message)
            continue
        except DockyardError as err:
            errors.append(("" if err.client else DAEMON_PREFIX) + err.message)
            continue
        if inspector is not None:
            try:
                inspector.inspect(obj)
            except TemplateError as err:
                errors.append(err.message)
            continue
        found.append(obj)

    if inspector is not None:
        ctx.stdout.write(inspector.flush())
    elif fmt == "json":
        ctx.stdout.write("[" + ",".join(raw_json(o) for o in found) + "]\n")
    else:
        ctx.stdout.write(indented(found))
    ctx.stdout.flush()
    if errors:
        raise InspectFailed("\n".join(errors))
    return 0
