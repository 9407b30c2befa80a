"""``pull``, ``push``, ``login``, ``logout`` and ``search``: docker/cli's client side plus the daemon's output.

The client checks (reference parsing, ``-a`` with a tag, login flag conflicts, prompts) raise client
errors (no daemon prefix); everything the engine reports gets the daemon prefix from the dispatcher.
Progress goes to a renderer picked by whether stdout is a terminal (``transfer.progress``).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any, ClassVar

from dockyard.errors import DockyardError, InvalidArgument

if TYPE_CHECKING:
    from dockyard.cli.context import Context
    from dockyard.cli.flags import Options

HUB_SERVER = "https://index.docker.io/v1/"
HUB_NAMESPACE = "docker.io"
PASSWORD_FLAG_WARNING = "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
# docker/cli 28 on a non-terminal (observed): a blank line, the note, then two blank lines.
STORED_LOGIN_NOTE = "\n Info -> To login with a different account, run 'docker logout' followed by 'docker login'\n\n\n"
IS_AUTOMATED_WARNING = (
    'WARNING: the "is-automated" filter is deprecated, and searching for "is-automated=true" will not yield '
    "any results in future."
)
SEARCH_TABLE = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"
SEARCH_HEADER = {"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS", "IsOfficial": "OFFICIAL",
                 "IsAutomated": "AUTOMATED"}
DESCRIPTION_WIDTH = 45


class ClientError(DockyardError):
    """An error docker/cli itself prints (no daemon prefix)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, client=True)


def _renderer(ctx: Context, quiet: bool) -> Any:
    from dockyard.transfer.progress import renderer_for

    return _StreamStart(renderer_for(ctx.stdout, quiet=quiet, tty=ctx.stdout_isatty()))


class _StreamStart:
    """Remembers whether the progress stream has begun (even when -q shows none of it).

    Docker's engine answers pull and push with a progress stream: an error before the stream's first
    message is an HTTP error the CLI prefixes with "Error response from daemon: "; an error after it
    arrives inside the stream and is printed as it is.
    """

    def __init__(self, renderer: Any) -> None:
        self._renderer = renderer
        self.started = False

    def __call__(self, event: Any) -> None:
        self.started = True
        self._renderer(event)

    def close(self) -> None:
        self._renderer.close()

    def in_stream(self, error: DockyardError) -> DockyardError:
        if self.started:
            error.client = True
        return error


def _write(stream: Any, text: str) -> None:
    stream.write(text)
    stream.flush()


# -- pull -------------------------------------------------------------------------------------------------


def run_pull(ctx: Context, opts: Options, args: list[str]) -> int:
    from dockyard.reference import parse_normalized

    ref = parse_normalized(args[0])
    all_tags = bool(opts.all_tags)
    quiet = bool(opts.quiet)
    if all_tags and not ref.is_name_only:
        raise ClientError("tag can't be used with --all-tags/-a")
    if not all_tags and ref.is_name_only:
        ref = ref.with_default_tag()
        if not quiet:
            _write(ctx.stdout, f"Using default tag: {ref.tag}\n")
    platform = None
    if opts.platform:
        from dockyard.oci.platform import parse_platform

        platform = parse_platform(opts.platform)
    renderer = _renderer(ctx, quiet)
    try:
        results = ctx.engine.pull(ref, all_tags=all_tags, platform=platform, progress=renderer)
        updated = any(r.updated for r in results)
        status = "Downloaded newer image for" if updated else "Image is up to date for"
        from dockyard.transfer.progress import Event

        renderer(Event(f"Status: {status} {ref.familiar()}"))
    except DockyardError as error:
        raise renderer.in_stream(error) from None
    finally:
        renderer.close()
    _write(ctx.stdout, f"{ref}\n")
    return 0


# -- push -------------------------------------------------------------------------------------------------


def run_push(ctx: Context, opts: Options, args: list[str]) -> int:
    from dockyard.reference import parse_normalized

    ref = parse_normalized(args[0])
    all_tags = bool(opts.all_tags)
    quiet = bool(opts.quiet)
    if all_tags and not ref.is_name_only:
        raise ClientError("tag can't be used with --all-tags/-a")
    if ref.digest is not None:
        raise ClientError("cannot push a digest reference")
    if not all_tags and ref.is_name_only:
        ref = ref.with_default_tag()
        if not quiet:
            _write(ctx.stdout, f"Using default tag: {ref.tag}\n")
    if opts.platform:
        _write(ctx.stderr, "WARNING: --platform is ignored: the local store keeps one platform per image\n")
    renderer = _renderer(ctx, quiet)
    try:
        ctx.engine.push(ref, all_tags=all_tags, progress=renderer)
    except DockyardError as error:
        raise renderer.in_stream(error) from None
    finally:
        renderer.close()
    if quiet:
        _write(ctx.stdout, f"{ref}\n")
    return 0


# -- login / logout ---------------------------------------------------------------------------------------


def _read_line(ctx: Context, prompt: str, *, echo: bool = True) -> str:
    _write(ctx.stdout, prompt)
    if not echo and ctx.stdin_isatty():
        import getpass

        try:
            return getpass.getpass("", stream=ctx.stdout).strip()
        except EOFError:
            return ""
    line = ctx.stdin.readline()
    return line.strip()


def run_login(ctx: Context, opts: Options, args: list[str]) -> int:
    from dockyard.errors import Unauthorized

    if opts.is_set("password_stdin") and opts.password_stdin:
        if opts.is_set("password"):
            raise ClientError("conflicting options: cannot specify both --password and --password-stdin")
        if not opts.is_set("username"):
            raise ClientError("the --password-stdin option requires --username to be set")
    if opts.is_set("username") and not opts.username:
        raise ClientError("username is empty")
    if opts.is_set("password") and not opts.password:
        raise ClientError("password is empty")
    username: str = opts.username or ""
    password: str = opts.password or ""
    if password:
        _write(ctx.stderr, PASSWORD_FLAG_WARNING + "\n")
    if opts.password_stdin:
        contents = ctx.stdin.read()
        password = contents.removesuffix("\n").removesuffix("\r")

    given = args[0] if args else ""
    server = given if given and given != HUB_NAMESPACE else HUB_SERVER
    engine = ctx.engine

    if not username and not password:
        stored = engine.stored_credentials(server)
        if stored.username and stored.password:
            note = f" [Username: {stored.username}]" if stored.username else ""
            _write(ctx.stderr, f"Authenticating with existing credentials...{note}\n{STORED_LOGIN_NOTE}")
            try:
                result = engine.login(server, stored.username, stored.password)
            except Unauthorized:
                _write(ctx.stderr, "Stored credentials invalid or expired\n")
            except DockyardError as exc:
                _write(ctx.stderr, f"Login did not succeed, error: Error response from daemon: {exc}\n")
            else:
                _write(ctx.stderr, result.warning())
                _write(ctx.stdout, "Login Succeeded\n")
                return 0
            username = ""  # fall through to the prompt, offering the stored name
            default_user = stored.username
        else:
            default_user = stored.username
    else:
        default_user = ""

    if not password and not ctx.stdin_isatty():
        raise ClientError("Error: Cannot perform an interactive login from a non TTY device")
    username = username.strip()
    if not username:
        prompt = f"Username ({default_user}): " if default_user else "Username: "
        username = _read_line(ctx, prompt) or default_user
        if not username:
            raise ClientError("Error: Non-null Username Required")
    password = password.strip() if not opts.password_stdin else password
    if not password:
        password = _read_line(ctx, "Password: ", echo=False)
        _write(ctx.stdout, "\n")
        if not password:
            raise ClientError("Error: Password Required")
    result = engine.login(server, username, password)
    _write(ctx.stderr, result.warning())
    _write(ctx.stdout, "Login Succeeded\n")
    return 0


def run_logout(ctx: Context, opts: Options, args: list[str]) -> int:
    from dockyard.registry.credentials import convert_to_hostname, logout_keys

    if args and args[0]:
        server = args[0]
        host = convert_to_hostname(server)
        keys = logout_keys(server)
    else:
        server = host = HUB_SERVER
        keys = [server]
    _write(ctx.stdout, f"Removing login credentials for {host}\n")
    failures = ctx.engine.logout(keys)
    if len(failures) == len(keys):
        _write(ctx.stderr, "WARNING: could not erase credentials:\n")
        for key, error in failures:
            _write(ctx.stderr, f"{key}: {error}\n")
    return 0


# -- search -----------------------------------------------------------------------------------------------


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def ellipsis(text: str, width: int) -> str:
    """docker/cli's formatter.Ellipsis: cut to ``width`` display cells, the last one an ellipsis."""
    if _display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "\u2026"


def _search_row_type() -> type:
    from dockyard.render.formatter import RowContext, go_json_dumps

    class SearchRow(RowContext):
        __go_type__: ClassVar[str] = "*formatter.searchContext"

        def __init__(self, result: Any, trunc: bool) -> None:
            self._r = result
            self._trunc = trunc

        def Name(self) -> str:  # noqa: N802 - Go placeholder names
            return str(self._r.name)

        def Description(self) -> str:  # noqa: N802
            desc = self._r.description.replace("\n", " ").replace("\r", " ")
            return ellipsis(desc, DESCRIPTION_WIDTH) if self._trunc else desc

        def StarCount(self) -> str:  # noqa: N802
            return str(self._r.star_count)

        def IsOfficial(self) -> str:  # noqa: N802
            return "[OK]" if self._r.is_official else ""

        def __go_json__(self) -> str:
            values = self.go_accessors()
            values["IsOfficial"] = "true" if self._r.is_official else "false"
            return go_json_dumps(values, escape_html=True)

    return SearchRow


def _search_filters(ctx: Context, values: list[str]) -> tuple[bool | None, int, bool]:
    """(is-official wanted, minimum stars, is-automated=true asked) from ``--filter`` values."""
    from dockyard.cli.flags import _ValueError, parse_go_bool
    from dockyard.filters import Filters, invalid_filter

    filters = Filters.from_flags(values)
    for key in filters.keys():
        if key not in ("is-automated", "is-official", "stars"):
            raise invalid_filter(key)
    automated = False
    if filters.contains("is-automated"):
        _write(ctx.stderr, IS_AUTOMATED_WARNING + "\n")
        for value in filters.get("is-automated"):
            try:
                automated = automated or parse_go_bool(value)
            except _ValueError:
                raise InvalidArgument(f"invalid filter 'is-automated={value}'") from None
    official: bool | None = None
    for value in filters.get("is-official"):
        try:
            official = parse_go_bool(value)
        except _ValueError:
            raise InvalidArgument(f"invalid filter 'is-official={value}'") from None
    stars = 0
    for value in filters.get("stars"):
        try:
            stars = max(stars, int(value))
        except ValueError:
            raise InvalidArgument(f"invalid filter 'stars={value}'") from None
    return official, stars, automated


def run_search(ctx: Context, opts: Options, args: list[str]) -> int:
    from dockyard.render.formatter import FormatSpec, render_rows

    term = args[0]
    if opts.list_tags:
        from dockyard.reference import parse_normalized

        for tag in ctx.engine.list_tags(parse_normalized(term)):
            _write(ctx.stdout, tag + "\n")
        return 0
    spec = FormatSpec.parse(opts.format or "")
    official, stars, automated = _search_filters(ctx, list(opts.filter or []))
    limit = opts.limit if opts.limit and opts.limit > 0 else None
    results = ctx.engine.search(term, limit=limit)
    chosen = [
        r for r in results
        if not automated
        and (official is None or r.is_official == official)
        and r.star_count >= stars
    ]
    row = _search_row_type()
    text = render_rows(spec, [row(r, not opts.no_trunc) for r in chosen], SEARCH_HEADER, SEARCH_TABLE)
    _write(ctx.stdout, text)
    return 0
