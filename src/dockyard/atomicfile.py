"""Files replaced in one step: written under a temporary name beside the target, then renamed over it,
so a reader sees the old file or the whole new one, and a failure leaves no temporary file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress


@contextmanager
def removed_on_failure(tmp: str) -> Iterator[None]:
    """Delete ``tmp`` if the block fails (also on KeyboardInterrupt), then let the error through."""
    try:
        yield
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomically(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644, prefix: str = ".tmp-",
    owner: tuple[int, int] | None = None,
) -> None:
    """Write ``data`` durably (fsync before the rename) with ``mode`` and, when root, ``owner``."""
    target = os.fspath(path)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=os.path.dirname(target) or ".")
    with removed_on_failure(tmp):
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if owner is not None and os.geteuid() == 0:
            os.chown(tmp, *owner)
        os.replace(tmp, target)
