"""dockyard's closed set of error categories.

Every failure dockyard reports is an instance of one of the classes below. Front ends decide how to show an
error (exit code, HTTP status, prefix) from its *category*, never from its text. The one table that maps a
category to an exit code and an HTTP status is ``CATEGORIES``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar

from ._constant import Constant
from ._record import dataclass


class Category(Constant):
    """One error category: ``name`` and ``value`` as an Enum member has them, compared by identity."""

    __slots__ = ()

    NOT_FOUND: ClassVar[Category]
    INVALID_ARGUMENT: ClassVar[Category]
    CONFLICT: ClassVar[Category]
    ALREADY_EXISTS: ClassVar[Category]
    UNAUTHORIZED: ClassVar[Category]
    FORBIDDEN: ClassVar[Category]
    UNAVAILABLE: ClassVar[Category]
    DATA_CORRUPT: ClassVar[Category]
    LOCKED: ClassVar[Category]
    FAILED_PRECONDITION: ClassVar[Category]
    CANCELLED: ClassVar[Category]
    UNSUPPORTED: ClassVar[Category]
    INTERNAL: ClassVar[Category]
    USAGE: ClassVar[Category]


Category.define((name, name.lower()) for name in (
    "NOT_FOUND",
    "INVALID_ARGUMENT",
    "CONFLICT",
    "ALREADY_EXISTS",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "UNAVAILABLE",
    "DATA_CORRUPT",
    "LOCKED",
    "FAILED_PRECONDITION",
    "CANCELLED",
    "UNSUPPORTED",
    "INTERNAL",
    "USAGE",
))


@dataclass(frozen=True)
class CategoryInfo:
    exit_code: int
    http_status: int


# Docker exits 1 on every engine or client error and 125 on a flag error; the HTTP statuses are the ones
# the Engine API uses for the same situations.
CATEGORIES: dict[Category, CategoryInfo] = {
    Category.NOT_FOUND: CategoryInfo(1, 404),
    Category.INVALID_ARGUMENT: CategoryInfo(1, 400),
    Category.CONFLICT: CategoryInfo(1, 409),
    Category.ALREADY_EXISTS: CategoryInfo(1, 409),
    Category.UNAUTHORIZED: CategoryInfo(1, 401),
    Category.FORBIDDEN: CategoryInfo(1, 403),
    Category.UNAVAILABLE: CategoryInfo(1, 503),
    Category.DATA_CORRUPT: CategoryInfo(1, 500),
    Category.LOCKED: CategoryInfo(1, 409),
    Category.FAILED_PRECONDITION: CategoryInfo(1, 412),
    Category.CANCELLED: CategoryInfo(0, 499),
    Category.UNSUPPORTED: CategoryInfo(1, 501),
    Category.INTERNAL: CategoryInfo(1, 500),
    Category.USAGE: CategoryInfo(125, 400),
}


class DockyardError(Exception):
    """Base of every error dockyard raises on purpose.

    ``client`` marks errors Docker reports from the CLI itself (reference parsing, flag conflicts,
    templates); all others are what Docker's daemon would say, and the CLI prefixes them with
    ``Error response from daemon: ``.
    """

    category: Category = Category.INTERNAL

    def __init__(self, message: str, *, client: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.client = client

    @property
    def exit_code(self) -> int:
        return CATEGORIES[self.category].exit_code

    @property
    def http_status(self) -> int:
        return CATEGORIES[self.category].http_status

    def __str__(self) -> str:
        return self.message


class NotFound(DockyardError):
    category = Category.NOT_FOUND


class InvalidArgument(DockyardError):
    category = Category.INVALID_ARGUMENT


class Conflict(DockyardError):
    category = Category.CONFLICT


class AlreadyExists(DockyardError):
    category = Category.ALREADY_EXISTS


class Unauthorized(DockyardError):
    category = Category.UNAUTHORIZED


class Forbidden(DockyardError):
    category = Category.FORBIDDEN


class Unavailable(DockyardError):
    category = Category.UNAVAILABLE


class DataCorrupt(DockyardError):
    category = Category.DATA_CORRUPT


class Locked(DockyardError):
    """Another process holds the lock on a resource (an ingest key, a prune)."""

    category = Category.LOCKED


class FailedPrecondition(DockyardError):
    category = Category.FAILED_PRECONDITION


class Cancelled(DockyardError):
    """The user declined a prompt or interrupted; Docker prints nothing and exits 0."""

    category = Category.CANCELLED


class Unsupported(DockyardError):
    category = Category.UNSUPPORTED


class Internal(DockyardError):
    category = Category.INTERNAL


class UsageError(DockyardError):
    """A flag-parse error: Docker prints it with the usage line and exits 125."""

    category = Category.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message, client=True)


class InvalidReference(InvalidArgument):
    """A reference that does not parse (``invalid reference format`` and its kin)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, client=True)


class InvalidDigest(InvalidArgument):
    def __init__(self, message: str) -> None:
        super().__init__(message, client=True)


class TemplateError(InvalidArgument):
    """A --format template that fails to parse or execute."""

    def __init__(self, message: str, *, parse: bool = False) -> None:
        super().__init__(message, client=True)
        self.parse = parse


class DigestMismatch(DataCorrupt):
    def __init__(self, expected: str, actual: str, size: int, *, what: str = "content") -> None:
        super().__init__(
            f"{what} digest mismatch: expected {expected}, got {actual} after {size} bytes"
        )
        self.expected = expected
        self.actual = actual
        self.size = size


class SizeMismatch(DataCorrupt):
    def __init__(self, digest: str, expected: int, actual: int) -> None:
        super().__init__(f"size mismatch for {digest}: expected {expected} bytes, got {actual}")
        self.digest = digest
        self.expected = expected
        self.actual = actual


class TooLarge(DataCorrupt):
    """A document, token, error body or decompressed stream beyond its hard cap."""

    def __init__(self, what: str, limit: int, unit: str = "bytes") -> None:
        super().__init__(f"{what} exceeds the limit of {limit} {unit}")
        self.what = what
        self.limit = limit


class BreakoutError(DataCorrupt):
    """A tar entry or link that would land outside the directory it is applied to."""
