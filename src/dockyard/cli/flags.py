"""A flag parser with the grammar and messages of Go's spf13/pflag, as docker's CLI uses it.

Neither argparse nor click reproduces pflag's grammar (``-f=value``, ``-qa``, ``--quiet=false``, bool flags
that never take the next argument, interspersed operands) or its exact error words, so this is a small
hand-written port. Values are converted when the flag is seen, as pflag's ``Value.Set`` does, so a bad
``--limit`` or ``--filter`` fails at parse time with pflag's message.

Every parse failure raises :class:`~dockyard.errors.UsageError`; the front end adds the usage lines.
"""

from __future__ import annotations

import os
from .._constant import Constant
from .._lazyre import lazy_compile
from .._record import dataclass, field

from dockyard.errors import UsageError
from dockyard.goquote import go_quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, ClassVar


class FlagKind(Constant):
    """A flag's value kind; members compared by identity, with ``name`` and ``value`` as an Enum's."""

    __slots__ = ()

    BOOL: ClassVar[FlagKind]
    STRING: ClassVar[FlagKind]
    INT: ClassVar[FlagKind]
    LIST: ClassVar[FlagKind]  # docker's ListOpts: repeatable, one value per use
    FILTER: ClassVar[FlagKind]  # docker's FilterOpt: repeatable, each value must contain "="
    STRINGS: ClassVar[FlagKind]  # pflag's stringSlice: repeatable, each value split as CSV
    BYTES: ClassVar[FlagKind]  # docker's MemBytes: "512m", "1g"


FlagKind.define((
    ("BOOL", "bool"),
    ("STRING", "string"),
    ("INT", "int"),
    ("LIST", "list"),
    ("FILTER", "filter"),
    ("STRINGS", "strings"),
    ("BYTES", "bytes"),
))


_DEFAULT_TYPE_NAME: dict[FlagKind, str] = {
    FlagKind.BOOL: "",
    FlagKind.STRING: "string",
    FlagKind.INT: "int",
    FlagKind.LIST: "list",
    FlagKind.FILTER: "filter",
    FlagKind.STRINGS: "strings",
    FlagKind.BYTES: "bytes",
}

_REPEATABLE = frozenset({FlagKind.LIST, FlagKind.FILTER, FlagKind.STRINGS})


@dataclass(frozen=True)
class Flag:
    """One flag of one command.

    ``default`` is the value when the flag is absent (lists: an empty tuple). ``default_env`` names an
    environment variable read at parse time for the default (docker's ``$DOCKER_DEFAULT_PLATFORM``).
    ``default_text`` overrides the ``(default …)`` suffix of the help line; ``type_name`` overrides the
    placeholder after the flag name (``--ulimit ulimit``). ``choices`` restricts a string flag.
    """

    name: str
    help: str
    kind: FlagKind = FlagKind.BOOL
    short: str | None = None
    default: Any = None
    default_env: str | None = None
    default_text: str | None = None
    type_name: str | None = None
    choices: tuple[str, ...] = ()
    hidden: bool = False
    minus_one_unlimited: bool = False  # docker's MemSwapBytes: "-1" means unlimited

    @property
    def attr(self) -> str:
        return self.name.replace("-", "_")

    @property
    def display_name(self) -> str:
        """How pflag names the flag in ``invalid argument`` messages."""
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"

    @property
    def placeholder(self) -> str:
        return self.type_name if self.type_name is not None else _DEFAULT_TYPE_NAME[self.kind]

    def initial_value(self) -> Any:
        if self.kind in _REPEATABLE:
            return list(self.default or ())
        if self.default_env is not None:
            env = os.environ.get(self.default_env)
            if env:
                return env
        if self.default is not None:
            return self.default
        return {FlagKind.BOOL: False, FlagKind.STRING: "", FlagKind.INT: 0, FlagKind.BYTES: 0}[self.kind]

    def help_default_suffix(self) -> str:
        if self.default_text is not None:
            return f" (default {self.default_text})" if self.default_text else ""
        value = self.initial_value()
        if self.kind is FlagKind.BOOL:
            return " (default true)" if value else ""
        if self.kind is FlagKind.STRING:
            return f" (default {go_quote(value)})" if value else ""
        if self.kind in (FlagKind.INT, FlagKind.BYTES):
            return f" (default {value})" if value else ""
        return ""


def bool_flag(name: str, help: str, *, short: str | None = None, default: bool = False, hidden: bool = False) -> Flag:
    return Flag(name=name, help=help, kind=FlagKind.BOOL, short=short, default=default, hidden=hidden)


def string_flag(
    name: str,
    help: str,
    *,
    short: str | None = None,
    default: str = "",
    default_env: str | None = None,
    choices: Sequence[str] = (),
    hidden: bool = False,
) -> Flag:
    return Flag(
        name=name,
        help=help,
        kind=FlagKind.STRING,
        short=short,
        default=default,
        default_env=default_env,
        choices=tuple(choices),
        hidden=hidden,
    )


def int_flag(name: str, help: str, *, short: str | None = None, default: int = 0) -> Flag:
    return Flag(name=name, help=help, kind=FlagKind.INT, short=short, default=default)


def list_flag(
    name: str, help: str, *, short: str | None = None, type_name: str | None = None, default_text: str | None = None
) -> Flag:
    return Flag(
        name=name, help=help, kind=FlagKind.LIST, short=short, default=(), type_name=type_name, default_text=default_text
    )


def filter_flag(name: str, help: str, *, short: str | None = None) -> Flag:
    return Flag(name=name, help=help, kind=FlagKind.FILTER, short=short, default=())


def strings_flag(name: str, help: str, *, short: str | None = None) -> Flag:
    return Flag(name=name, help=help, kind=FlagKind.STRINGS, short=short, default=())


def bytes_flag(name: str, help: str, *, short: str | None = None, minus_one_unlimited: bool = False) -> Flag:
    return Flag(
        name=name, help=help, kind=FlagKind.BYTES, short=short, default=0, minus_one_unlimited=minus_one_unlimited
    )


# cobra gives every command a help flag; docker hides it and deprecates its shorthand.
HELP_FLAG = Flag(name="help", help="Print usage", kind=FlagKind.BOOL, short="h", hidden=True)
HELP_SHORTHAND_DEPRECATION = "Flag shorthand -h has been deprecated, use --help"


class Options:
    """Flag values of one parsed command, by long name with ``-`` turned into ``_``."""

    def __init__(self, values: dict[str, Any], explicitly_set: Iterable[str]) -> None:
        self._values = dict(values)
        self._set = frozenset(explicitly_set)

    def __getattr__(self, attr: str) -> Any:
        try:
            return self.__dict__["_values"][attr]
        except KeyError:
            raise AttributeError(f"no flag named {attr!r}") from None

    def get(self, name: str) -> Any:
        return self._values[name.replace("-", "_")]

    def is_set(self, name: str) -> bool:
        """Whether the flag was given on the command line (by long name, ``-`` or ``_`` spelling)."""
        return name.replace("-", "_") in self._set

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"Options({self._values!r})"


@dataclass
class ParseResult:
    options: Options
    args: list[str]
    help_requested: bool = False
    # Lines pflag prints while parsing (deprecation notices), to be written to stdout in order.
    notices: list[str] = field(default_factory=list)


# -- value conversion, with Go's strconv messages ------------------------------------------------------


class _ValueError(Exception):
    """A flag value that does not convert; the text is what Go's ``Value.Set`` would return."""


_BOOL_WORDS = {
    "1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
    "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False,
}  # fmt: skip


def parse_go_bool(text: str) -> bool:
    try:
        return _BOOL_WORDS[text]
    except KeyError:
        raise _ValueError(f"strconv.ParseBool: parsing {go_quote(text)}: invalid syntax") from None


_INT64_MAX = 2**63 - 1


def _underscores_ok(text: str) -> bool:
    """Go's underscoreOK: underscores only between digits, or after a base prefix."""
    saw = "^"
    i = 0
    if text[:1] in "+-":
        text = text[1:]
    hex_prefix = False
    if len(text) >= 2 and text[0] == "0" and text[1].lower() in "box":
        i = 2
        saw = "0"
        hex_prefix = text[1].lower() == "x"
    while i < len(text):
        c = text[i]
        if c.isdigit() or (hex_prefix and c.lower() in "abcdef"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def parse_go_int(text: str) -> int:
    """strconv.ParseInt(text, 0, 64): base prefixes 0x/0o/0b/0, underscores, int64 range."""

    def syntax() -> _ValueError:
        return _ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax")

    if not text:
        raise syntax()
    body = text
    negative = False
    if body[0] in "+-":
        negative = body[0] == "-"
        body = body[1:]
    base = 10
    digits = body
    if len(body) >= 2 and body[0] == "0":
        prefix = body[1].lower()
        if prefix == "x":
            base, digits = 16, body[2:]
        elif prefix == "o":
            base, digits = 8, body[2:]
        elif prefix == "b":
            base, digits = 2, body[2:]
        else:
            base, digits = 8, body[1:]
    if "_" in digits:
        if not _underscores_ok(text):
            raise syntax()
        digits = digits.replace("_", "")
    allowed = "0123456789abcdef"[:base]
    if not digits or any(c not in allowed for c in digits.lower()):
        raise syntax()
    value = int(digits, base)
    if (negative and value > _INT64_MAX + 1) or (not negative and value > _INT64_MAX):
        raise _ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
    return -value if negative else value


_RAM_SIZE = lazy_compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_RAM_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def parse_ram_bytes(text: str) -> int:
    """go-units RAMInBytes, as docker's MemBytes flag uses it."""
    match = _RAM_SIZE.match(text)
    if not match:
        raise _ValueError(f"invalid size: '{text}'")
    try:
        number = float(match.group(1))
    except ValueError:
        raise _ValueError(f"invalid size: '{text}'") from None
    unit = (match.group(2) or "").lower()
    return int(number * _RAM_UNITS.get(unit, 1))


def _split_csv(text: str) -> list[str]:
    """pflag's stringSlice reads its value as one CSV record."""
    if text == "":
        return []
    import csv

    try:
        return next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration) as exc:
        raise _ValueError(str(exc)) from None


def _go_quote_byte(ch: str) -> str:
    """Go's ``%q`` of a single byte: a rune literal such as ``'z'``.

    pflag walks shorthands byte by byte, so a non-ASCII character is reported by its first UTF-8 byte,
    read as a code point (``-é`` gives ``'Ã'``).
    """
    return go_quote(chr(ch.encode("utf-8", "surrogateescape")[0]), quote="'")


# -- the parser -----------------------------------------------------------------------------------------


class FlagSet:
    """The flags of one command, with pflag's parsing rules."""

    def __init__(self, flags: Iterable[Flag], *, interspersed: bool = True, add_help: bool = True) -> None:
        self.flags: tuple[Flag, ...] = tuple(flags)
        self.interspersed = interspersed
        all_flags = self.flags + ((HELP_FLAG,) if add_help and not any(f.name == "help" for f in self.flags) else ())
        self._by_name: dict[str, Flag] = {f.name: f for f in all_flags}
        self._by_short: dict[str, Flag] = {f.short: f for f in all_flags if f.short}

    def lookup(self, name: str) -> Flag | None:
        return self._by_name.get(name)

    def parse(self, argv: Sequence[str]) -> ParseResult:
        values: dict[str, Any] = {f.attr: f.initial_value() for f in self._by_name.values()}
        explicitly_set: list[str] = []
        notices: list[str] = []
        operands: list[str] = []

        def assign(flag: Flag, raw: str) -> None:
            try:
                converted = self._convert(flag, raw)
            except _ValueError as exc:
                raise UsageError(
                    f"invalid argument {go_quote(raw)} for {go_quote(flag.display_name)} flag: {exc}"
                ) from None
            if flag.kind in _REPEATABLE:
                if flag.kind is FlagKind.STRINGS and flag.attr not in explicitly_set:
                    values[flag.attr] = []  # the first use replaces the default, as pflag does
                values[flag.attr].extend(converted)
            else:
                values[flag.attr] = converted
            if flag.attr not in explicitly_set:
                explicitly_set.append(flag.attr)

        rest = list(argv)
        while rest:
            arg = rest.pop(0)
            if len(arg) < 2 or arg[0] != "-":
                if not self.interspersed:
                    operands.append(arg)
                    operands.extend(rest)
                    break
                operands.append(arg)
                continue
            if arg[1] == "-":
                if len(arg) == 2:  # "--" ends the flags
                    operands.extend(rest)
                    break
                rest = self._parse_long(arg, rest, assign)
            else:
                rest = self._parse_shorts(arg, rest, assign, notices)

        help_requested = bool(values.pop("help", False))
        explicitly_set = [name for name in explicitly_set if name != "help"]
        return ParseResult(Options(values, explicitly_set), operands, help_requested, notices)

    def _parse_long(self, arg: str, rest: list[str], assign: Callable[[Flag, str], None]) -> list[str]:
        name = arg[2:]
        if not name or name[0] in "-=":
            raise UsageError(f"bad flag syntax: {arg}")
        name, has_value, inline = name.partition("=")
        flag = self._by_name.get(name)
        if flag is None:
            raise UsageError(f"unknown flag: --{name}")
        if has_value:
            value = inline
        elif flag.kind is FlagKind.BOOL:
            value = "true"
        elif rest:
            value = rest.pop(0)
        else:
            raise UsageError(f"flag needs an argument: {arg}")
        assign(flag, value)
        return rest

    def _parse_shorts(
        self, arg: str, rest: list[str], assign: Callable[[Flag, str], None], notices: list[str]
    ) -> list[str]:
        shorthands = arg[1:]
        while shorthands:
            char = shorthands[0]
            flag = self._by_short.get(char)
            if flag is None:
                raise UsageError(f"unknown shorthand flag: {_go_quote_byte(char)} in -{shorthands}")
            remaining = shorthands[1:]
            if len(shorthands) > 2 and shorthands[1] == "=":
                value, remaining = shorthands[2:], ""
            elif flag.kind is FlagKind.BOOL:
                value = "true"
            elif len(shorthands) > 1:
                value, remaining = shorthands[1:], ""
            elif rest:
                value = rest.pop(0)
            else:
                raise UsageError(f"flag needs an argument: {_go_quote_byte(char)} in -{shorthands}")
            if flag is HELP_FLAG:
                notices.append(HELP_SHORTHAND_DEPRECATION)
            assign(flag, value)
            shorthands = remaining
        return rest

    @staticmethod
    def _convert(flag: Flag, raw: str) -> Any:
        kind = flag.kind
        if kind is FlagKind.BOOL:
            return parse_go_bool(raw)
        if kind is FlagKind.INT:
            return parse_go_int(raw)
        if kind is FlagKind.BYTES:
            if flag.minus_one_unlimited and raw == "-1":
                return -1
            return parse_ram_bytes(raw)
        if kind is FlagKind.FILTER:
            if raw == "":
                return []  # docker's FilterOpt ignores an empty value
            if "=" not in raw:
                raise _ValueError("bad format of filter (expected name=value)")
            return [raw]
        if kind is FlagKind.LIST:
            return [raw]
        if kind is FlagKind.STRINGS:
            return _split_csv(raw)
        if flag.choices and raw not in flag.choices:
            raise _ValueError(f"must be one of {', '.join(flag.choices)}")
        return raw


# -- help text --------------------------------------------------------------------------------------------


def _wrap_n(width: int, slop: int, text: str) -> tuple[str, str]:
    if width + slop > len(text):
        return text, ""
    cut = max(text.rfind(" ", 0, width), text.rfind("\t", 0, width), text.rfind("\n", 0, width))
    if cut <= 0:
        return text, ""
    newline = text.rfind("\n", 0, width)
    if 0 < newline < cut:
        return text[:newline], text[newline + 1 :]
    return text[:cut], text[cut + 1 :]


def _wrap(indent: int, cols: int, text: str) -> str:
    """pflag's wrap: fit ``text`` into ``cols`` columns after an ``indent`` (first line not indented)."""
    if cols == 0:
        return text.replace("\n", "\n" + " " * indent)
    width = cols - indent
    result = ""
    if width < 24:
        indent = 16
        width = cols - indent
        result += "\n" + " " * indent
    if width < 24:
        return text.replace("\n", result)
    slop = 5
    width -= slop
    line, text = _wrap_n(width, slop, text)
    result += line.replace("\n", "\n" + " " * indent)
    while text:
        line, text = _wrap_n(width, slop, text)
        result += "\n" + " " * indent + line.replace("\n", "\n" + " " * indent)
    return result


def format_flag_usages(flags: Iterable[Flag], cols: int = 79) -> str:
    """The ``Options:`` block, laid out as pflag's FlagUsagesWrapped (docker passes terminal width - 1)."""
    entries: list[tuple[str, str]] = []
    for flag in sorted((f for f in flags if not f.hidden), key=lambda f: f.name):
        head = f"  -{flag.short}, --{flag.name}" if flag.short else f"      --{flag.name}"
        if flag.placeholder:
            head += " " + flag.placeholder
        entries.append((head, flag.help + flag.help_default_suffix()))
    if not entries:
        return ""
    maxlen = max(len(head) for head, _ in entries) + 1
    lines = []
    for head, usage in entries:
        lines.append(f"{head} {' ' * (maxlen - len(head))} {_wrap(maxlen + 2, cols, usage)}\n")
    return "".join(lines)
