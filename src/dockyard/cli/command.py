"""Command specs (what cobra's ``Command`` holds for docker) and the texts built from them.

A spec names its handler as ``"module:function"`` so the handler's module, and whatever heavy modules it
imports, load only when that command runs.
"""

from __future__ import annotations

from .._record import dataclass, field

from dockyard.cli.flags import Flag, FlagSet, format_flag_usages


@dataclass(frozen=True)
class ArgsRule:
    """cobra's positional-argument validators, with docker's messages (cli/required.go)."""

    min: int = 0
    max: int | None = None  # None: no upper bound

    def violation(self, path: str, count: int) -> tuple[str, str] | None:
        """(message after ``<prog>: '<path>' ``, hint verb) when ``count`` breaks the rule, else None."""
        low, high = self.min, self.max
        if low <= count and (high is None or count <= high):
            return None
        if high == 0:
            return "accepts no arguments", "Run"
        if high is None:
            return f"requires at least {_arguments(low)}", "See"
        if low == high:
            return f"requires {_arguments(low)}", "Run"
        if low == 0:
            # 28.2.2 prints "SRun" here; newer docker fixed the typo.
            return f"requires at most {_arguments(high)}", "Run"
        return f"requires at least {low} and at most {high} arguments", "Run"


def _arguments(n: int) -> str:
    return f"{n} argument" if n == 1 else f"{n} arguments"


NO_ARGS = ArgsRule(0, 0)
ANY_ARGS = ArgsRule(0, None)


def exactly(n: int) -> ArgsRule:
    return ArgsRule(n, n)


def at_least(n: int) -> ArgsRule:
    return ArgsRule(n, None)


def at_most(n: int) -> ArgsRule:
    return ArgsRule(0, n)


def between(low: int, high: int) -> ArgsRule:
    return ArgsRule(low, high)


@dataclass(frozen=True)
class CommandSpec:
    """One runnable command.

    ``use`` is the part of cobra's Use line after the name (``[OPTIONS] [REPOSITORY[:TAG]]``).
    ``aliases`` are other names in the same parent (``image ls`` has ``list``); ``alias_paths`` is the
    ``Aliases:`` help line without the program name (``("image ls", "image list", "images")``).
    """

    name: str
    use: str
    short: str
    handler: str
    flags: tuple[Flag, ...] = ()
    args: ArgsRule = ANY_ARGS
    aliases: tuple[str, ...] = ()
    alias_paths: tuple[str, ...] = ()
    long: str | None = None
    interspersed: bool = True
    hidden: bool = False

    def flag_set(self) -> FlagSet:
        return FlagSet(self.flags, interspersed=self.interspersed)

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class GroupSpec:
    """A management command (``image``, ``system``) holding subcommands."""

    name: str
    short: str
    commands: tuple[CommandSpec, ...] = field(default=())
    hidden: bool = False

    def find(self, name: str) -> CommandSpec | None:
        for command in self.commands:
            if name in command.names():
                return command
        return None


def usage_line(prog: str, path: str, use: str) -> str:
    return f"Usage:  {prog} {path} {use}".rstrip() if path else f"Usage:  {prog} {use}".rstrip()


def command_help(prog: str, path: str, spec: CommandSpec, cols: int = 79) -> str:
    """``<prog> <path> --help``, in docker's layout."""
    parts = [usage_line(prog, path, spec.use), "", spec.long or spec.short, ""]
    if spec.alias_paths:
        parts += ["Aliases:", "  " + ", ".join(f"{prog} {alias}" for alias in spec.alias_paths), ""]
    options = format_flag_usages(spec.flags, cols)
    if options:
        parts += ["Options:", options]
    return "\n".join(parts).rstrip("\n") + "\n"


def _command_list(entries: list[tuple[str, str]]) -> list[str]:
    width = max([11, *(len(name) + 1 for name, _ in entries)])
    return [f"  {name.ljust(width)} {short}" for name, short in entries]


def group_help(prog: str, group: GroupSpec) -> str:
    lines = [f"Usage:  {prog} {group.name} COMMAND", "", group.short, "", "Commands:"]
    entries = sorted((c.name, c.short) for c in group.commands if not c.hidden)
    lines += _command_list(entries)
    lines += ["", f"Run '{prog} {group.name} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines)


def root_help(
    prog: str,
    description: str,
    common: list[tuple[str, str]],
    management: list[tuple[str, str]],
    others: list[tuple[str, str]],
    global_flags: tuple[Flag, ...],
    cols: int = 79,
) -> str:
    lines = [f"Usage:  {prog} [OPTIONS] COMMAND", "", description, ""]
    for title, entries in (("Common Commands:", common), ("Management Commands:", management), ("Commands:", others)):
        if entries:
            lines += [title, *_command_list(entries), ""]
    lines += ["Global Options:", format_flag_usages(global_flags, cols).rstrip("\n"), ""]
    lines += [f"Run '{prog} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines)
