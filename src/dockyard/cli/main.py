"""The ``dockyard`` entry point: global flags, the command table, dispatch and error rendering.

Handlers are named as ``"module:function"`` and imported only when their command runs, so a plain
``dockyard images`` never loads the registry or progress-drawing code. A handler has the signature
``def run_x(ctx: Context, opts: Options, args: list[str]) -> int``.
"""

from __future__ import annotations

import os
import sys
from .._record import replace

from dockyard.cli.command import (
    NO_ARGS,
    CommandSpec,
    GroupSpec,
    at_least,
    at_most,
    between,
    command_help,
    exactly,
    group_help,
    root_help,
    usage_line,
)
from dockyard.cli.flags import (
    Flag,
    FlagKind,
    FlagSet,
    bool_flag,
    bytes_flag,
    filter_flag,
    int_flag,
    list_flag,
    string_flag,
    strings_flag,
)
from dockyard.errors import Cancelled, DockyardError, TemplateError, UsageError

# -- help texts shared by several commands (docker/cli's flagsHelper) ------------------------------------

TEMPLATE_HELP_REFERENCE = (
    "Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"
)
FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'table':            Print output in table format with column headers (default)\n"
    "'table TEMPLATE':   Print output in table format using the given Go template\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template.\n" + TEMPLATE_HELP_REFERENCE
)
INSPECT_FORMAT_HELP = (
    "Format output using a custom template:\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template.\n" + TEMPLATE_HELP_REFERENCE
)
PLATFORM_HELP = "Set platform if server is multi-platform capable"
INSPECT_PLATFORM_HELP = (
    "Inspect a specific platform of the multi-platform image.\n"
    "If the image or the server is not multi-platform capable, the command will error out if the platform "
    "does not match.\n"
    "'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)"
)
CHANGE_HELP = "Apply Dockerfile instruction to the created image"
FILTER_HELP = "Filter output based on conditions provided"
NO_TRUNC_HELP = "Don't truncate output"

# -- the commands -----------------------------------------------------------------------------------------

IMAGES = CommandSpec(
    name="images",
    use="[OPTIONS] [REPOSITORY[:TAG]]",
    short="List images",
    handler="dockyard.cli.images:run_images",
    args=at_most(1),
    alias_paths=("image ls", "image list", "images"),
    flags=(
        bool_flag("all", "Show all images (default hides intermediate images)", short="a"),
        bool_flag("digests", "Show digests"),
        filter_flag("filter", FILTER_HELP, short="f"),
        string_flag("format", FORMAT_HELP),
        bool_flag("no-trunc", NO_TRUNC_HELP),
        bool_flag("quiet", "Only show image IDs", short="q"),
        bool_flag("tree", "List multi-platform images as a tree (EXPERIMENTAL)"),
        string_flag(
            "sort",
            "Sort rows by created, size, repository or tag",
            choices=("created", "size", "repository", "tag"),
        ),
    ),
)

PULL = CommandSpec(
    name="pull",
    use="[OPTIONS] NAME[:TAG|@DIGEST]",
    short="Download an image from a registry",
    handler="dockyard.cli.registry:run_pull",
    args=exactly(1),
    alias_paths=("image pull", "pull"),
    flags=(
        bool_flag("all-tags", "Download all tagged images in the repository", short="a"),
        bool_flag("disable-content-trust", "Skip image verification", default=True),
        string_flag("platform", PLATFORM_HELP, default_env="DOCKER_DEFAULT_PLATFORM"),
        bool_flag("quiet", "Suppress verbose output", short="q"),
    ),
)

PUSH = CommandSpec(
    name="push",
    use="[OPTIONS] NAME[:TAG]",
    short="Upload an image to a registry",
    handler="dockyard.cli.registry:run_push",
    args=exactly(1),
    alias_paths=("image push", "push"),
    flags=(
        bool_flag("all-tags", "Push all tags of an image to the repository", short="a"),
        bool_flag("disable-content-trust", "Skip image signing", default=True),
        string_flag(
            "platform",
            "Push a platform-specific manifest as a single-platform image to the registry.\n"
            "Image index won't be pushed, meaning that other manifests, including attestations won't be "
            "preserved.\n"
            "'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
        ),
        bool_flag("quiet", "Suppress verbose output", short="q"),
    ),
)

SEARCH = CommandSpec(
    name="search",
    use="[OPTIONS] TERM",
    short="Search Docker Hub for images",
    handler="dockyard.cli.registry:run_search",
    args=exactly(1),
    flags=(
        filter_flag("filter", FILTER_HELP, short="f"),
        string_flag("format", "Pretty-print search using a Go template"),
        int_flag("limit", "Max number of search results"),
        bool_flag("no-trunc", NO_TRUNC_HELP),
        bool_flag("list-tags", "List the tags of the repository TERM instead of searching"),
    ),
)

RMI = CommandSpec(
    name="rmi",
    use="[OPTIONS] IMAGE [IMAGE...]",
    short="Remove one or more images",
    handler="dockyard.cli.rmi:run_rmi",
    args=at_least(1),
    alias_paths=("image rm", "image remove", "rmi"),
    flags=(
        bool_flag("force", "Force removal of the image", short="f"),
        bool_flag("no-prune", "Do not delete untagged parents"),
        strings_flag(
            "platform",
            'Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
        ),
    ),
)

IMAGE_INSPECT = CommandSpec(
    name="inspect",
    use="[OPTIONS] IMAGE [IMAGE...]",
    short="Display detailed information on one or more images",
    handler="dockyard.cli.inspect:run_inspect",
    args=at_least(1),
    flags=(
        string_flag("format", INSPECT_FORMAT_HELP, short="f"),
        string_flag("platform", INSPECT_PLATFORM_HELP),
    ),
)

INSPECT = CommandSpec(
    name="inspect",
    use="[OPTIONS] NAME|ID [NAME|ID...]",
    short="Return low-level information on Docker objects",
    handler="dockyard.cli.inspect:run_inspect",
    args=at_least(1),
    flags=(
        string_flag("format", INSPECT_FORMAT_HELP, short="f"),
        bool_flag("size", "Display total file sizes if the type is container", short="s"),
        string_flag("type", "Only inspect objects of the given type"),
    ),
)

HISTORY = CommandSpec(
    name="history",
    use="[OPTIONS] IMAGE",
    short="Show the history of an image",
    handler="dockyard.cli.history:run_history",
    args=exactly(1),
    alias_paths=("image history", "history"),
    flags=(
        string_flag("format", FORMAT_HELP),
        bool_flag("human", "Print sizes and dates in human readable format", short="H", default=True),
        bool_flag("no-trunc", NO_TRUNC_HELP),
        bool_flag("quiet", "Only show image IDs", short="q"),
        string_flag(
            "platform",
            'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")',
        ),
    ),
)

IMAGE_PRUNE = CommandSpec(
    name="prune",
    use="[OPTIONS]",
    short="Remove unused images",
    handler="dockyard.cli.prune:run_image_prune",
    args=NO_ARGS,
    flags=(
        bool_flag("all", "Remove all unused images, not just dangling ones", short="a"),
        filter_flag("filter", 'Provide filter values (e.g. "until=<timestamp>")'),
        bool_flag("force", "Do not prompt for confirmation", short="f"),
        bool_flag("dry-run", "Show what would be removed without removing anything"),
    ),
)

TAG = CommandSpec(
    name="tag",
    use="SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    short="Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    handler="dockyard.cli.tag:run_tag",
    args=exactly(2),
    # docker/cli: SetInterspersed(false), so a target such as "-x" is an operand, not a flag
    interspersed=False,
    alias_paths=("image tag", "tag"),
)

SAVE = CommandSpec(
    name="save",
    use="[OPTIONS] IMAGE [IMAGE...]",
    short="Save one or more images to a tar archive (streamed to STDOUT by default)",
    handler="dockyard.cli.archive:run_save",
    args=at_least(1),
    alias_paths=("image save", "save"),
    flags=(
        string_flag("output", "Write to a file, instead of STDOUT", short="o"),
        strings_flag(
            "platform",
            'Save only the given platform(s). Formatted as a comma-separated list of "os[/arch[/variant]]" '
            '(e.g., "linux/amd64,linux/arm64/v8")',
        ),
        string_flag("compress", "Compress the archive with gzip or zstd", choices=("gzip", "zstd")),
        string_flag(
            "format",
            "Archive layout: docker (docker save) or oci-layout",
            default="docker",
            choices=("docker", "oci-layout"),
        ),
    ),
)

LOAD = CommandSpec(
    name="load",
    use="[OPTIONS]",
    short="Load an image from a tar archive or STDIN",
    handler="dockyard.cli.archive:run_load",
    args=NO_ARGS,
    alias_paths=("image load", "load"),
    flags=(
        string_flag("input", "Read from tar archive file, instead of STDIN", short="i"),
        bool_flag("quiet", "Suppress the load output", short="q"),
        strings_flag(
            "platform",
            'Load only the given platform(s). Formatted as a comma-separated list of "os[/arch[/variant]]" '
            '(e.g., "linux/amd64,linux/arm64/v8").',
        ),
    ),
)

IMPORT = CommandSpec(
    name="import",
    use="[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    short="Import the contents from a tarball to create a filesystem image",
    handler="dockyard.cli.importcmd:run_import",
    args=at_least(1),  # docker checks only the minimum; extra operands are ignored
    alias_paths=("image import", "import"),
    flags=(
        list_flag("change", CHANGE_HELP, short="c"),
        string_flag("message", "Set commit message for imported image", short="m"),
        string_flag("platform", PLATFORM_HELP, default_env="DOCKER_DEFAULT_PLATFORM"),
    ),
)

EXPORT = CommandSpec(
    name="export",
    use="[OPTIONS] CONTAINER",
    short="Export a container's filesystem as a tar archive",
    handler="dockyard.cli.importcmd:run_export",
    args=exactly(1),
    flags=(string_flag("output", "Write to a file, instead of STDOUT", short="o"),),
)

BUILD = CommandSpec(
    name="build",
    use="[OPTIONS] PATH | URL | -",
    short="Build an image from a Dockerfile",
    handler="dockyard.cli.build:run_build",
    args=exactly(1),
    alias_paths=("image build", "build"),
    flags=(
        list_flag("add-host", 'Add a custom host-to-IP mapping ("host:ip")'),
        list_flag("build-arg", "Set build-time variables"),
        strings_flag("cache-from", "Images to consider as cache sources"),
        string_flag("cgroup-parent", 'Set the parent cgroup for the "RUN" instructions during build'),
        bool_flag("compress", "Compress the build context using gzip"),
        int_flag("cpu-period", "Limit the CPU CFS (Completely Fair Scheduler) period"),
        int_flag("cpu-quota", "Limit the CPU CFS (Completely Fair Scheduler) quota"),
        int_flag("cpu-shares", "CPU shares (relative weight)", short="c"),
        string_flag("cpuset-cpus", "CPUs in which to allow execution (0-3, 0,1)"),
        string_flag("cpuset-mems", "MEMs in which to allow execution (0-3, 0,1)"),
        bool_flag("disable-content-trust", "Skip image verification", default=True),
        string_flag("file", 'Name of the Dockerfile (Default is "PATH/Dockerfile")', short="f"),
        bool_flag("force-rm", "Always remove intermediate containers"),
        string_flag("iidfile", "Write the image ID to the file"),
        string_flag("isolation", "Container isolation technology"),
        list_flag("label", "Set metadata for an image"),
        bytes_flag("memory", "Memory limit", short="m"),
        bytes_flag(
            "memory-swap", "Swap limit equal to memory plus swap: -1 to enable unlimited swap", minus_one_unlimited=True
        ),
        string_flag("network", "Set the networking mode for the RUN instructions during build", default="default"),
        bool_flag("no-cache", "Do not use cache when building the image"),
        string_flag("platform", PLATFORM_HELP, default_env="DOCKER_DEFAULT_PLATFORM"),
        bool_flag("pull", "Always attempt to pull a newer version of the image"),
        bool_flag("quiet", "Suppress the build output and print image ID on success", short="q"),
        bool_flag("rm", "Remove intermediate containers after a successful build", default=True),
        strings_flag("security-opt", "Security options"),
        bytes_flag("shm-size", 'Size of "/dev/shm"'),
        list_flag("tag", 'Name and optionally a tag in the "name:tag" format', short="t"),
        string_flag("target", "Set the target build stage to build."),
        list_flag("ulimit", "Ulimit options", type_name="ulimit", default_text="[]"),
    ),
)

COMMIT = CommandSpec(
    name="commit",
    use="[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    short="Create a new image from a container's changes",
    handler="dockyard.cli.commit:run_commit",
    args=between(1, 2),
    interspersed=False,
    flags=(
        string_flag("author", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")', short="a"),
        list_flag("change", CHANGE_HELP, short="c"),
        string_flag("message", "Commit message", short="m"),
        bool_flag("pause", "Pause container during commit", short="p", default=True),
    ),
)

LOGIN = CommandSpec(
    name="login",
    use="[OPTIONS] [SERVER]",
    short="Authenticate to a registry",
    long="Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
    handler="dockyard.cli.registry:run_login",
    args=at_most(1),
    flags=(
        string_flag("password", "Password or Personal Access Token (PAT)", short="p"),
        bool_flag("password-stdin", "Take the Password or Personal Access Token (PAT) from stdin"),
        string_flag("username", "Username", short="u"),
    ),
)

LOGOUT = CommandSpec(
    name="logout",
    use="[SERVER]",
    short="Log out from a registry",
    long="Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
    handler="dockyard.cli.registry:run_logout",
    args=at_most(1),
)

VERSION = CommandSpec(
    name="version",
    use="",
    short="Show the dockyard version information",
    handler="dockyard.cli.version:run_version",
    args=NO_ARGS,
)

SYSTEM_DF = CommandSpec(
    name="df",
    use="[OPTIONS]",
    short="Show dockyard disk usage",
    handler="dockyard.cli.system:run_df",
    args=NO_ARGS,
    flags=(
        string_flag("format", FORMAT_HELP),
        bool_flag("verbose", "Show detailed information on space usage", short="v"),
    ),
)

SYSTEM_CHECK = CommandSpec(
    name="check",
    use="",
    short="Verify the store's blobs and metadata",
    handler="dockyard.cli.system:run_check",
    args=NO_ARGS,
)

SYSTEM_PRUNE = CommandSpec(
    name="prune",
    use="[OPTIONS]",
    short="Remove unused data",
    handler="dockyard.cli.system:run_prune",
    args=NO_ARGS,
    flags=(
        bool_flag("all", "Remove all unused images not just dangling ones", short="a"),
        filter_flag("filter", 'Provide filter values (e.g. "label=<key>=<value>")'),
        bool_flag("force", "Do not prompt for confirmation", short="f"),
    ),
)

# Top-level commands by name. `images` and `image ls` share a spec; only the command path differs.
TOP_LEVEL: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        IMAGES, PULL, PUSH, SEARCH, TAG, RMI, INSPECT, HISTORY, SAVE, LOAD, IMPORT, EXPORT, BUILD, COMMIT,
        LOGIN, LOGOUT, VERSION,
    )
}  # fmt: skip

GROUPS: dict[str, GroupSpec] = {
    "image": GroupSpec(
        name="image",
        short="Manage images",
        commands=(
            replace(IMAGES, name="ls", aliases=("list",)),
            PULL,
            PUSH,
            TAG,
            replace(RMI, name="rm", aliases=("remove",)),
            IMAGE_INSPECT,
            HISTORY,
            IMAGE_PRUNE,
            SAVE,
            LOAD,
            IMPORT,
            BUILD,
        ),
    ),
    "system": GroupSpec(name="system", short="Manage dockyard", commands=(SYSTEM_DF, SYSTEM_CHECK, SYSTEM_PRUNE)),
}

# Commands whose template-parse errors exit 64, as `docker inspect` does.
_TEMPLATE_PARSE_EXIT_64 = frozenset({"inspect", "image inspect"})

COMMON_COMMANDS = ("build", "pull", "push", "images", "login", "logout", "search", "version")

ROOT_DESCRIPTION = "A daemonless, Docker-compatible container image manager"
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


def global_flags(*, help_defaults: bool = True) -> tuple[Flag, ...]:
    """The root command's flags. Parsing never reads the ``(default …)`` texts of ``--config`` and
    ``--root``; ``help_defaults=False`` leaves them out, as working them out costs start-up time."""
    config_text = root_text = None
    if help_defaults:
        from dockyard.cli.context import default_docker_config_dir, default_store_root

        config_text = f'"{default_docker_config_dir()}"'
        root_text = f'"{default_store_root()}"'
    return (
        Flag(
            name="config",
            help="Location of client config files",
            kind=FlagKind.STRING,
            default_text=config_text,
        ),
        bool_flag("debug", "Enable debug mode", short="D"),
        string_flag(
            "log-level",
            'Set the logging level ("debug", "info", "warn", "error", "fatal")',
            short="l",
            default="info",
        ),
        Flag(
            name="root",
            help="Root directory of the dockyard store",
            kind=FlagKind.STRING,
            default_text=root_text,
        ),
        bool_flag("version", "Print version information and quit", short="v"),
    )


# -- running ------------------------------------------------------------------------------------------------


def program_name(argv0: str | None) -> str:
    name = os.path.basename(argv0 or "") or "dockyard"
    # `python -m dockyard` reports __main__.py as argv[0].
    return "dockyard" if name in ("__main__.py", "-c") else name


def _write(stream_name: str, text: str) -> None:
    stream = getattr(sys, stream_name)
    stream.write(text)


def _flag_error(prog: str, path: str, use: str, message: str) -> int:
    _write(
        "stderr",
        f"{message}\n\n{usage_line(prog, path, use)}\n\nRun '{prog}{' ' + path if path else ''} --help' "
        "for more information\n",
    )
    return 125


def _not_implemented(path: str) -> int:
    _write("stderr", f"'{path}' is not implemented yet\n")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run one dockyard command; returns the process exit code."""
    if argv is None:
        prog = program_name(sys.argv[0] if sys.argv else None)
        argv = sys.argv[1:]
    else:
        prog = "dockyard"
    return run(prog, list(argv))


def run(prog: str, argv: list[str]) -> int:
    """Run with an explicit program name (what ``<prog>`` reads in messages)."""
    try:
        return _dispatch(prog, argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141


def _unexpected(exc: BaseException, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    else:
        detail = str(exc)
        _write("stderr", f"unexpected error: {type(exc).__name__}{': ' + detail if detail else ''}\n")
    return 1


def _silence_stdout() -> None:
    # Later flushes of a closed pipe would raise again at interpreter exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _dispatch(prog: str, argv: list[str]) -> int:
    root_set = FlagSet(global_flags(help_defaults=False), interspersed=False)
    try:
        parsed = root_set.parse(argv)
    except UsageError as err:
        return _flag_error(prog, "", "[OPTIONS] COMMAND [ARG...]", err.message)
    for notice in parsed.notices:
        _write("stdout", notice + "\n")
    gopts = parsed.options
    if parsed.help_requested:
        _write("stdout", _root_help(prog, global_flags()))
        return 0
    if gopts.version:
        from dockyard.cli.version import version_line

        _write("stdout", version_line(prog) + "\n")
        return 0
    log_level = gopts.log_level
    if log_level not in LOG_LEVELS:
        _write("stderr", f"Unable to parse logging level: {log_level}\n")
        return 1
    args = parsed.args
    if not args:
        _write("stdout", _root_help(prog, global_flags()))
        return 0

    name, rest = args[0], args[1:]
    path = name
    spec = TOP_LEVEL.get(name)
    if spec is None:
        group = GROUPS.get(name)
        if group is None:
            _write("stderr", f"{prog}: unknown command: {prog} {name}\n\nRun '{prog} --help' for more information\n")
            return 1
        if not rest or rest[0].startswith("-"):
            try:
                group_parsed = FlagSet(()).parse(rest)
            except UsageError as err:
                return _flag_error(prog, group.name, "", err.message)
            for notice in group_parsed.notices:
                _write("stdout", notice + "\n")
            _write("stdout", group_help(prog, group))
            return 0
        spec = group.find(rest[0])
        if spec is None:
            _write(
                "stderr",
                f"{prog}: unknown command: {prog} {group.name} {rest[0]}\n\n"
                f"Usage:  {prog} {group.name}\n\nRun '{prog} {group.name} --help' for more information\n",
            )
            return 1
        path = f"{group.name} {spec.name}"
        rest = rest[1:]

    try:
        cmd = spec.flag_set().parse(rest)
    except UsageError as err:
        return _flag_error(prog, path, spec.use, err.message)
    for notice in cmd.notices:
        _write("stdout", notice + "\n")
    if cmd.help_requested:
        _write("stdout", command_help(prog, path, spec))
        return 0
    violation = spec.args.violation(path, len(cmd.args))
    if violation is not None:
        rule, verb = violation
        _write(
            "stderr",
            f"{prog}: '{prog} {path}' {rule}\n\n{usage_line(prog, path, spec.use)}\n\n"
            f"{verb} '{prog} {path} --help' for more information\n",
        )
        return 1

    from dockyard.cli.context import Context

    if gopts.debug or gopts.is_set("log_level"):
        _configure_logging("debug" if gopts.debug else log_level)
    ctx = Context(
        prog=prog,
        # As text: Context makes Paths when asked, so commands that need none skip importing pathlib.
        root=gopts.root or None,
        docker_config_dir=gopts.config or None,
        debug=gopts.debug,
        log_level=log_level,
        command_path=path,
    )
    try:
        handler = _load_handler(spec.handler)
        if handler is None:
            return _not_implemented(path)
        return int(handler(ctx, cmd.options, cmd.args) or 0)
    except Cancelled:
        return 0
    except UsageError as err:
        return _flag_error(prog, path, spec.use, err.message)
    except DockyardError as err:
        _write("stderr", ("" if err.client else "Error response from daemon: ") + err.message + "\n")
        if isinstance(err, TemplateError) and err.parse and path in _TEMPLATE_PARSE_EXIT_64:
            return 64
        return err.exit_code
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:
        return _unexpected(exc, gopts.debug)


def _load_handler(target: str):  # type: ignore[no-untyped-def]
    """Import ``module:function``; None when that module (not one it imports) does not exist yet."""
    module_name, _, function_name = target.partition(":")
    try:
        # importlib.import_module, without importing importlib (start-up time): the name is absolute.
        __import__(module_name)
        module = sys.modules[module_name]
    except ModuleNotFoundError as err:
        if err.name == module_name:
            return None
        raise
    return getattr(module, function_name, None)


def _configure_logging(level: str) -> None:
    import logging

    names = {"trace": "DEBUG", "warn": "WARNING", "fatal": "CRITICAL", "panic": "CRITICAL"}
    logging.basicConfig(
        stream=sys.stderr, level=names.get(level, level.upper()), format="%(levelname)s[%(name)s] %(message)s"
    )


def _root_help(prog: str, root_flags: tuple[Flag, ...]) -> str:
    common = [(n, TOP_LEVEL[n].short) for n in COMMON_COMMANDS]
    management = sorted((g.name, g.short) for g in GROUPS.values())
    others = sorted((s.name, s.short) for s in TOP_LEVEL.values() if s.name not in COMMON_COMMANDS)
    return root_help(prog, ROOT_DESCRIPTION, common, management, others, root_flags)

