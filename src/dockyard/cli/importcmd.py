"""``docker import`` / ``image import``: docker/cli's ``runImport`` plus the daemon's ``ImportImage``.

The client opens the source (``-`` is stdin, a local file is uploaded and named ``-``), checks the
reference (its parse errors carry no prefix), and the daemon fetches ``http(s)://`` sources itself.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO

from dockyard.errors import DockyardError, InvalidArgument, NotFound, Unavailable

if TYPE_CHECKING:
    from dockyard.cli.context import Context
    from dockyard.cli.flags import Options

URL_PREFIXES = ("http://", "https://")
MAX_HTTP_ERROR_BODY = 4096


class ClientError(DockyardError):
    """An error the docker client itself reports (no daemon prefix)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, client=True)


def go_os_error(op: str, path: str, err: OSError) -> str:
    """Go's ``*PathError`` text: ``open nosuchfile.tar: no such file or directory``."""
    reason = os.strerror(err.errno).lower() if err.errno else str(err)
    return f"{op} {path}: {reason}"


def open_source_file(path: str) -> BinaryIO:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the caller's context
    except OSError as err:
        if err.errno == errno.EISDIR:
            # Go opens a directory fine; the upload's first read then fails like this.
            raise ClientError(f"read {path}: is a directory") from None
        raise ClientError(go_os_error("open", path, err)) from None
    return f


@contextmanager
def fetch_url(url: str) -> Iterator[BinaryIO]:
    """The daemon's download of an ``http(s)://`` source, streamed; errors read as moby's."""
    import httpx

    class _Body:
        def __init__(self, chunks: Iterator[bytes]) -> None:
            self._chunks = chunks
            self._buf = b""

        def read(self, size: int = -1, /) -> bytes:
            while size < 0 or len(self._buf) < size:
                try:
                    self._buf += next(self._chunks)
                except StopIteration:
                    break
            if size < 0:
                data, self._buf = self._buf, b""
            else:
                data, self._buf = self._buf[:size], self._buf[size:]
            return data

    try:
        with httpx.Client(follow_redirects=True, timeout=httpx.Timeout(60.0, connect=30.0)) as client:
            with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    body = b""
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) >= MAX_HTTP_ERROR_BODY:
                            break
                    text = body[:MAX_HTTP_ERROR_BODY].decode("utf-8", "replace")
                    status = f"{response.status_code} {response.reason_phrase}"
                    error = NotFound if response.status_code == 404 else InvalidArgument
                    raise error(f"failed to GET {url} with status {status}: {text}")
                yield _Body(response.iter_bytes(1 << 20))  # type: ignore[misc]
    except httpx.HTTPError as err:
        raise Unavailable(f'Get "{url}": {err}') from None


def run_import(ctx: Context, opts: Options, args: list[str]) -> int:
    from dockyard.reference import parse_normalized

    source_arg = args[0]
    ref_text = args[1] if len(args) > 1 else ""
    if source_arg == "-":
        stream_cm = _stdin()
        source_name = "-"
    elif source_arg.startswith(URL_PREFIXES):
        stream_cm = None
        source_name = source_arg
    else:
        stream_cm = _closing(open_source_file(source_arg))
        source_name = "-"  # the client uploads the file; the daemon only sees a stream

    with stream_cm if stream_cm is not None else _nothing() as stream:
        reference = parse_normalized(ref_text) if ref_text else None  # client-side, no prefix
        platform = None
        if opts.platform:
            from dockyard.oci.platform import parse_platform

            platform = parse_platform(opts.platform)
        engine = ctx.engine
        kwargs = dict(
            source_name=source_name,
            reference=reference,
            changes=list(opts.change or ()),
            message=opts.message or "",
            platform=platform,
        )
        if stream is None:
            # Validate what the daemon checks before it downloads, then fetch.
            _precheck(reference, kwargs["changes"])
            with fetch_url(source_arg) as body:
                image_id = engine.import_image(body, **kwargs)  # type: ignore[arg-type]
        else:
            image_id = engine.import_image(stream, **kwargs)  # type: ignore[arg-type]
    ctx.stdout.write(f"{image_id}\n")
    return 0


def _precheck(reference: object, changes: list[str]) -> None:
    from dockyard.build.changes import apply_changes, empty_container_config

    if reference is not None and getattr(reference, "digest", None) is not None:
        raise InvalidArgument("cannot import digest reference")
    apply_changes(empty_container_config(), changes)


@contextmanager
def _stdin() -> Iterator[BinaryIO]:
    import sys

    yield sys.stdin.buffer


@contextmanager
def _closing(f: BinaryIO) -> Iterator[BinaryIO]:
    try:
        yield f
    finally:
        f.close()


@contextmanager
def _nothing() -> Iterator[None]:
    yield None
