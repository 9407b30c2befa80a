"""The ``--format`` driver shared by ``images``, ``history``, ``search`` and ``system df``.

This is docker/cli's ``formatter.Context``: the flag value picks a table, JSON lines or a raw template;
the template runs once per row, each row followed by a newline; in table mode a header line, made by
running the same template over the column labels with docker's header functions, goes first and
everything passes through docker's tabwriter. Output is built in full before anything is printed, so a
template error leaves stdout empty.

Row objects derive from ``RowContext``: their public zero-argument methods (``ID``, ``Repository`` …) are
the template's fields, and ``{{json .}}`` of a row is the object of all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._lazyre import lazy_compile
from .._record import dataclass

from dockyard.errors import TemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, ClassVar
    from dockyard.render.gotemplate import Template

TABLE_KEY = "table"
JSON_KEY = "json"
JSON_TEMPLATE = "{{json .}}"
TEMPLATE_ERROR_PREFIX = "template parsing error: "

_ESCAPES = lazy_compile(r"\\[tn]")
_ESCAPE_TEXT = {r"\t": "\t", r"\n": "\n"}


def preprocess(template: str) -> str:
    """docker's ``preFormat`` on a table or raw template: trim spaces (only spaces) at both ends and turn
    the two-character sequences ``\\t`` and ``\\n`` into TAB and newline."""
    template = template.strip(" ")
    if "\\" not in template:
        return template  # the built-in formats hold real TABs: no regex (nor `re`) needed
    return _ESCAPES.sub(lambda m: _ESCAPE_TEXT[m.group(0)], template)


@dataclass(frozen=True)
class FormatSpec:
    """A parsed ``--format`` value.

    ``template`` is the preprocessed template text, or ``None`` when the command's default table applies
    (an empty value or exactly ``table``)."""

    value: str
    is_table: bool
    is_json: bool
    template: str | None

    @classmethod
    def parse(cls, value: str) -> FormatSpec:
        if value in ("", TABLE_KEY):
            return cls(value, is_table=True, is_json=False, template=None)
        if value.startswith(TABLE_KEY):  # case-sensitive and anchored, as Go's strings.HasPrefix
            return cls(value, is_table=True, is_json=False, template=preprocess(value[len(TABLE_KEY) :]))
        if value == JSON_KEY:
            return cls(value, is_table=False, is_json=True, template=JSON_TEMPLATE)
        return cls(value, is_table=False, is_json=False, template=preprocess(value))

    @property
    def is_default(self) -> bool:
        return self.template is None

    def contains(self, text: str) -> bool:
        """Whether the flag value mentions ``text`` (docker's ``Format.Contains``, e.g. ``{{.Digest}}``)."""
        return text in self.value

    def resolve(self, default_table: str) -> str:
        """The template to run. ``default_table`` is the command's default, written as docker writes it
        (``table {{.Repository}}\\t…``); the leading ``table`` is optional."""
        if self.template is not None:
            return self.template
        if default_table.startswith(TABLE_KEY):
            default_table = default_table[len(TABLE_KEY) :]
        return preprocess(default_table)


def _wrap(error: TemplateError) -> TemplateError:
    return TemplateError(TEMPLATE_ERROR_PREFIX + error.message, parse=error.parse)


def _parse(text: str, funcs: Mapping[str, Any]) -> Template:
    from dockyard.render.gotemplate import Template

    try:
        return Template.parse(text, funcs=funcs)
    except TemplateError as error:
        raise _wrap(error) from None


def _header_line(template: Template, header: Mapping[str, str]) -> str:
    """The header as docker renders it: the row template with docker's header functions swapped in, run
    over the labels; its error is ignored and whatever was written before it is kept."""
    from dockyard.render.gotemplate import header_funcs

    out, _ = template.with_funcs(header_funcs()).execute_partial(dict(header))
    return out


def render_rows(
    spec: FormatSpec,
    rows: Sequence[Any],
    header: Mapping[str, str],
    default_table: str,
) -> str:
    """Everything ``--format`` prints for ``rows``: one template run per row, each ending in a newline;
    in table mode preceded by the header line and aligned by the tabwriter (the header is printed
    even with no rows). Raises ``TemplateError`` (prefixed ``template parsing error: ``)."""
    from dockyard.render.gotemplate import docker_funcs
    from dockyard.render.tabwriter import tabulate

    text = spec.resolve(default_table)
    template = _parse(text, docker_funcs())
    body: list[str] = []
    for row in rows:
        try:
            body.append(template.execute(row))
        except TemplateError as error:
            raise _wrap(error) from None
        body.append("\n")
    if not spec.is_table:
        return "".join(body)
    return tabulate(_header_line(template, header) + "\n" + "".join(body))


# ---------------------------------------------------------------------------------------------------------
# Rows


class RowContext:
    """Base of the objects a ``--format`` template sees for each row.

    Subclasses set ``__go_type__`` to the Go type docker names in template errors (for example
    ``*formatter.imageContext``) and define one public method per placeholder. Like Go's exported methods,
    a method counts when its name starts with an uppercase letter and it takes no arguments."""

    __go_type__: ClassVar[str] = "*formatter.Context"
    # docker leaves the header accessor out of {{json .}}
    _NOT_MARSHALLED: ClassVar[frozenset[str]] = frozenset({"FullHeader"})

    @classmethod
    def accessor_names(cls) -> list[str]:
        """The placeholders this row type offers, sorted as Go lists a method set."""
        import inspect  # only for --format and json; inspect costs ~10 ms of start-up

        names = []
        for name in dir(cls):
            if not name[:1].isupper() or name in cls._NOT_MARSHALLED:
                continue
            member = inspect.getattr_static(cls, name)
            if isinstance(member, (staticmethod, classmethod)) or not inspect.isfunction(member):
                continue
            if len(inspect.signature(member).parameters) == 1:  # only self
                names.append(name)
        return sorted(names)

    def go_accessors(self) -> dict[str, Any]:
        """Every accessor's value, by name."""
        return {name: getattr(self, name)() for name in self.accessor_names()}

    def __go_json__(self) -> str:
        """``{{json .}}`` of the row: every accessor, keys sorted, HTML characters escaped."""
        return go_json_dumps(self.go_accessors(), escape_html=True)


# ---------------------------------------------------------------------------------------------------------
# Go's encoding/json, for the values rows hold


def go_json_dumps(value: Any, *, escape_html: bool = True) -> str:
    """Encode like Go's ``json.Marshal`` (``escape_html``) or an encoder with HTML escaping off: map keys
    sorted, no spaces, non-ASCII written as is."""
    from dockyard.render.gojson import UnsupportedValue, encode_float, encode_string  # json: not at start-up

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        try:
            return encode_float(value)
        except UnsupportedValue as err:
            raise TemplateError(str(err)) from None
    if isinstance(value, str):
        return encode_string(value, escape_html=escape_html)
    if isinstance(value, RowContext):
        return value.__go_json__()
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        inner = ",".join(
            f"{encode_string(k, escape_html=escape_html)}:{go_json_dumps(v, escape_html=escape_html)}" for k, v in items
        )
        return "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json_dumps(v, escape_html=escape_html) for v in value) + "]"
    raise TemplateError(f"json: unsupported type: {type(value).__name__}")
