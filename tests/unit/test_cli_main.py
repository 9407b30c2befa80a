"""The dockyard entry point: dispatch, docker's usage/error layouts, exit codes, lazy imports, prompt."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

from dockyard import __version__
from dockyard.cli import main as cli_main
from dockyard.cli.context import Context, default_docker_config_dir, default_store_root
from dockyard.cli.prompt import confirm
from dockyard.errors import Cancelled, InvalidReference, NotFound, TemplateError, Unavailable, UsageError
from tests.helpers.cli import run_cli

pytestmark = pytest.mark.unit

HANDLERS = "dockyard_test_handlers"


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A handler module the test fills in; `images`, `image inspect` and `commit` point into it."""
    module = types.ModuleType(HANDLERS)
    monkeypatch.setitem(sys.modules, HANDLERS, module)
    monkeypatch.setitem(cli_main.TOP_LEVEL, "images", replace(cli_main.IMAGES, handler=f"{HANDLERS}:images"))
    monkeypatch.setitem(cli_main.TOP_LEVEL, "commit", replace(cli_main.COMMIT, handler=f"{HANDLERS}:commit"))
    image = cli_main.GROUPS["image"]
    commands = tuple(
        replace(c, handler=f"{HANDLERS}:inspect") if c.name == "inspect" else c for c in image.commands
    )
    monkeypatch.setitem(cli_main.GROUPS, "image", replace(image, commands=commands))
    return module.__dict__


# -- flag errors: exit 125 with the usage lines --------------------------------------------------------


def test_unknown_flag_layout() -> None:
    code, out, err = run_cli("images", "--bogus")
    assert code == 125
    assert out == ""
    assert err == (
        "unknown flag: --bogus\n\n"
        "Usage:  dockyard images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
        "Run 'dockyard images --help' for more information\n"
    )


def test_flag_error_names_the_path_used() -> None:
    code, _, err = run_cli("image", "list", "-f", "foo")
    assert code == 125
    assert err == (
        'invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)\n\n'
        "Usage:  dockyard image ls [OPTIONS] [REPOSITORY[:TAG]]\n\n"
        "Run 'dockyard image ls --help' for more information\n"
    )


def test_int_flag_error() -> None:
    code, _, err = run_cli("search", "--limit", "x", "foo")
    assert code == 125
    assert err.startswith(
        'invalid argument "x" for "--limit" flag: strconv.ParseInt: parsing "x": invalid syntax\n\n'
        "Usage:  dockyard search [OPTIONS] TERM\n"
    )


def test_flag_error_comes_before_argument_count() -> None:
    code, _, err = run_cli("tag", "--bogus", "a")
    assert code == 125
    assert err.startswith("unknown flag: --bogus\n\nUsage:  dockyard tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n")


def test_global_flag_error_uses_root_usage() -> None:
    code, _, err = run_cli("--bogus", "images")
    assert code == 125
    assert err == (
        "unknown flag: --bogus\n\n"
        "Usage:  dockyard [OPTIONS] COMMAND [ARG...]\n\n"
        "Run 'dockyard --help' for more information\n"
    )


# -- argument counts: exit 1 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "first_line", "usage", "hint"),
    [
        (["tag", "a"], "'dockyard tag' requires 2 arguments", "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Run"),
        (["rmi"], "'dockyard rmi' requires at least 1 argument", "rmi [OPTIONS] IMAGE [IMAGE...]", "See"),
        (["image", "remove", "-f"], "'dockyard image rm' requires at least 1 argument",
         "image rm [OPTIONS] IMAGE [IMAGE...]", "See"),
        (["image", "prune", "x"], "'dockyard image prune' accepts no arguments", "image prune [OPTIONS]", "Run"),
        (["images", "a", "b"], "'dockyard images' requires at most 1 argument",
         "images [OPTIONS] [REPOSITORY[:TAG]]", "Run"),
        (["history"], "'dockyard history' requires 1 argument", "history [OPTIONS] IMAGE", "Run"),
        (["commit", "a", "b", "c"], "'dockyard commit' requires at least 1 and at most 2 arguments",
         "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Run"),
        (["logout", "a", "b"], "'dockyard logout' requires at most 1 argument", "logout [SERVER]", "Run"),
        (["system", "df", "x"], "'dockyard system df' accepts no arguments", "system df [OPTIONS]", "Run"),
    ],
)  # fmt: skip
def test_argument_count_errors(argv: list[str], first_line: str, usage: str, hint: str) -> None:
    code, out, err = run_cli(*argv)
    path = first_line.split("'")[1]
    assert code == 1
    assert out == ""
    assert err == f"dockyard: {first_line}\n\nUsage:  dockyard {usage}\n\n{hint} '{path} --help' for more information\n"


def test_commit_flags_after_an_operand_are_operands(handlers: dict[str, object]) -> None:
    seen: list[object] = []
    handlers["commit"] = lambda ctx, opts, args: seen.append((opts.pause, args)) or 0
    code, _, err = run_cli("commit", "-p=false", "ctr", "-x")
    assert (code, err) == (0, "")
    assert seen == [(False, ["ctr", "-x"])]


# -- help: stdout, exit 0 -----------------------------------------------------------------------------------


def test_images_help_matches_docker_layout() -> None:
    code, out, err = run_cli("images", "--help")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:7] == [
        "Usage:  dockyard images [OPTIONS] [REPOSITORY[:TAG]]",
        "",
        "List images",
        "",
        "Aliases:",
        "  dockyard image ls, dockyard image list, dockyard images",
        "",
    ]
    assert lines[7] == "Options:"
    assert "  -a, --all             Show all images (default hides intermediate images)" in lines
    assert "  -q, --quiet           Only show image IDs" in lines
    assert "      --format string   Format output using a custom template:" in lines
    assert out.endswith("\n") and not out.endswith("\n\n")


def test_help_without_flags_or_aliases() -> None:
    code, out, _ = run_cli("logout", "--help")
    assert code == 0
    assert out == (
        "Usage:  dockyard logout [SERVER]\n\n"
        "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.\n"
    )


def test_help_wins_over_argument_count_and_runs_nothing(handlers: dict[str, object]) -> None:
    handlers["images"] = lambda ctx, opts, args: pytest.fail("handler ran")
    code, out, _ = run_cli("images", "a", "b", "--help")
    assert code == 0 and out.startswith("Usage:  dockyard images ")


def test_short_help_prints_docker_deprecation_notice() -> None:
    code, out, _ = run_cli("rmi", "-h")
    assert code == 0
    assert out.startswith("Flag shorthand -h has been deprecated, use --help\nUsage:  dockyard rmi ")


def test_group_without_subcommand_lists_commands() -> None:
    code, out, _ = run_cli("image")
    assert code == 0
    assert out.startswith("Usage:  dockyard image COMMAND\n\nManage images\n\nCommands:\n  build       ")
    assert "  ls          List images\n" in out
    assert out.endswith("Run 'dockyard image COMMAND --help' for more information on a command.\n")


def test_root_help_and_no_arguments() -> None:
    code, out, _ = run_cli()
    assert code == 0 and out.startswith("Usage:  dockyard [OPTIONS] COMMAND\n")
    assert "  images      List images\n" in out
    code, help_out, _ = run_cli("--help")
    assert code == 0 and help_out == out


def test_unknown_commands() -> None:
    code, _, err = run_cli("bogus")
    assert code == 1
    assert err == "dockyard: unknown command: dockyard bogus\n\nRun 'dockyard --help' for more information\n"
    code, _, err = run_cli("image", "bogus")
    assert code == 1
    assert err == (
        "dockyard: unknown command: dockyard image bogus\n\n"
        "Usage:  dockyard image\n\nRun 'dockyard image --help' for more information\n"
    )
    code, _, err = run_cli("image", "-q")
    assert code == 125
    assert err.startswith("unknown shorthand flag: 'q' in -q\n\nUsage:  dockyard image\n\n")


def test_version() -> None:
    for argv in (["version"], ["--version"], ["-v"]):
        assert run_cli(*argv) == (0, f"dockyard version {__version__}\n", "")


def test_bad_log_level() -> None:
    assert run_cli("-l", "bogus", "images") == (1, "", "Unable to parse logging level: bogus\n")


# -- running handlers and rendering their errors --------------------------------------------------------


def test_handler_receives_context_options_and_args(handlers: dict[str, object], tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    def images(ctx: Context, opts: object, args: list[str]) -> int:
        seen.update(ctx=ctx, opts=opts, args=args)
        ctx.stdout.write("listed\n")
        return 3

    handlers["images"] = images
    code, out, _ = run_cli(
        "--root", str(tmp_path / "r"), "--config", str(tmp_path / "c"), "-D",
        "images", "-qf", "dangling=true", "busybox", "--no-trunc", prog="docker",
    )  # fmt: skip
    assert (code, out) == (3, "listed\n")
    ctx, opts = seen["ctx"], seen["opts"]
    assert isinstance(ctx, Context)
    assert (ctx.prog, ctx.root, ctx.docker_config_dir, ctx.debug) == ("docker", tmp_path / "r", tmp_path / "c", True)
    assert (opts.quiet, opts.filter, opts.no_trunc, opts.format) == (True, ["dangling=true"], True, "")  # type: ignore[attr-defined]
    assert opts.is_set("filter") and not opts.is_set("format")  # type: ignore[attr-defined]
    assert seen["args"] == ["busybox"]


@pytest.mark.parametrize(
    ("error", "stderr", "code"),
    [
        (NotFound("No such image: x:latest"), "Error response from daemon: No such image: x:latest\n", 1),
        (Unavailable("registry down"), "Error response from daemon: registry down\n", 1),
        (InvalidReference("invalid reference format"), "invalid reference format\n", 1),
        (Cancelled("declined"), "", 0),
    ],
)
def test_handler_errors(handlers: dict[str, object], error: Exception, stderr: str, code: int) -> None:
    def images(ctx: Context, opts: object, args: list[str]) -> int:
        raise error

    handlers["images"] = images
    assert run_cli("images") == (code, "", stderr)


def test_usage_error_from_handler_gets_usage_layout(handlers: dict[str, object]) -> None:
    def images(ctx: Context, opts: object, args: list[str]) -> int:
        raise UsageError("conflicting options: --quiet and --tree")

    handlers["images"] = images
    code, _, err = run_cli("images")
    assert code == 125
    assert err.startswith("conflicting options: --quiet and --tree\n\nUsage:  dockyard images ")


def test_template_parse_error_exits_64_only_for_inspect(handlers: dict[str, object]) -> None:
    def fail(ctx: Context, opts: object, args: list[str]) -> int:
        raise TemplateError("template parsing error: template: :1: unclosed action", parse=True)

    handlers["inspect"] = fail
    handlers["images"] = fail
    msg = "template parsing error: template: :1: unclosed action\n"
    assert run_cli("image", "inspect", "x") == (64, "", msg)
    assert run_cli("images") == (1, "", msg)


def test_unexpected_exception(handlers: dict[str, object]) -> None:
    def images(ctx: Context, opts: object, args: list[str]) -> int:
        raise RuntimeError("boom")

    handlers["images"] = images
    code, _, err = run_cli("images")
    assert code == 1 and err == "unexpected error: RuntimeError: boom\n"
    code, _, err = run_cli("-D", "images")
    assert code == 1 and "Traceback" in err and "RuntimeError: boom" in err


def test_keyboard_interrupt_exits_130(handlers: dict[str, object]) -> None:
    def images(ctx: Context, opts: object, args: list[str]) -> int:
        raise KeyboardInterrupt

    handlers["images"] = images
    assert run_cli("images")[0] == 130


def test_missing_handler_module(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = replace(cli_main.IMAGES, handler="dockyard.cli.no_such_module:run_images")
    monkeypatch.setitem(cli_main.TOP_LEVEL, "images", spec)
    assert run_cli("images") == (1, "", "'images' is not implemented yet\n")


# -- processes: lazy imports, program name, broken pipe ------------------------------------------------

PYTHON = sys.executable


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DOCKYARD_ROOT"] = str(tmp_path / "store")
    env["DOCKER_CONFIG"] = str(tmp_path / "docker")
    return env


def test_images_help_imports_no_heavy_modules(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from dockyard.cli.main import main\n"
        "rc = main(['images', '--help'])\n"
        "heavy = sorted(m for m in ('httpx', 'rich', 'isal', 'zstandard', 'sqlite3') if m in sys.modules)\n"
        "print('HEAVY', heavy, rc, file=sys.stderr)\n"
    )
    result = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=_env(tmp_path), check=True)
    assert "HEAVY [] 0" in result.stderr
    assert result.stdout.startswith("Usage:  dockyard images ")


def test_program_name_follows_argv0(tmp_path: Path) -> None:
    link = tmp_path / "docker"
    link.write_text(f"#!{PYTHON}\nfrom dockyard.cli.main import main\nraise SystemExit(main())\n")
    link.chmod(0o755)
    result = subprocess.run([str(link), "rmi"], capture_output=True, text=True, env=_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("docker: 'docker rmi' requires at least 1 argument\n\nUsage:  docker rmi ")
    result = subprocess.run([PYTHON, "-m", "dockyard", "tag"], capture_output=True, text=True, env=_env(tmp_path))
    assert result.stderr.startswith("dockyard: 'dockyard tag' requires 2 arguments")


def test_broken_pipe_on_stdout_exits_quietly(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as closed_pipe:
        result = subprocess.run(
            [PYTHON, "-m", "dockyard", "build", "--help"], stdout=closed_pipe, stderr=subprocess.PIPE,
            text=True, env=_env(tmp_path),
        )  # fmt: skip
    assert result.stderr == ""
    assert result.returncode == 141


# -- context and prompt -----------------------------------------------------------------------------------


def test_store_root_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_store_root({"DOCKYARD_ROOT": "/x/y"}) == Path("/x/y")
    expected_home = Path("/var/lib/dockyard") if os.geteuid() == 0 else tmp_path / "data" / "dockyard"
    assert default_store_root({"XDG_DATA_HOME": str(tmp_path / "data")}) == expected_home
    assert default_docker_config_dir({"DOCKER_CONFIG": "/cfg"}) == Path("/cfg")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_docker_config_dir({}) == tmp_path / ".docker"


def test_context_streams_follow_sys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ctx = Context(root=tmp_path, docker_config_dir=tmp_path)
    ctx.stdout.write("out")
    ctx.stderr.write("err")
    assert capsys.readouterr() == ("out", "err")
    assert ctx.stdout_isatty() is False


@pytest.mark.parametrize(
    ("answer", "confirmed"),
    [("y\n", True), ("Y\n", True), ("  y  \n", True), ("yes\n", False), ("n\n", False), ("\n", False), ("", False)],
)
def test_confirm(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: str, confirmed: bool) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    ctx = Context(root=Path("/nonexistent"), docker_config_dir=Path("/nonexistent"))
    assert confirm(ctx, "WARNING! This will remove all dangling images.\nAre you sure you want to continue?") is confirmed
    assert capsys.readouterr().out == (
        "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
    )
