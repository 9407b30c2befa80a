"""Registry error responses as typed dockyard errors.

A registry answers failures with ``{"errors":[{"code","message","detail"}]}`` (sometimes plain text). Each
becomes one exception whose *class* carries the category (NotFound, Unauthorized …) and whose fields keep
what the server said. ``str()`` is Docker's wording (distribution's ``errcode`` and ``client/errors.go``),
because the CLI prints it after ``Error response from daemon: ``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..goquote import go_quote

# How distribution's client renders its error codes: lower case, underscores as spaces.
_STATUS_REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 413: "Request Entity Too Large",
    416: "Requested Range Not Satisfiable", 429: "Too Many Requests", 499: "Client Closed Request",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 522: "Connection Timed Out",
}


@dataclass(frozen=True)
class ErrorEntry:
    """One ``errors[]`` item, exactly as the registry sent it."""

    code: str
    message: str
    detail: Any = None

    def __str__(self) -> str:
        return f"{self.code.lower().replace('_', ' ')}: {self.message}"


class RegistryError(errors.DockyardError):
    """Mixin base for every error built from a registry response.

    ``entries`` is empty when the body was not the JSON error form; ``retry_after`` is the server's wait
    hint in seconds, when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        entries: tuple[ErrorEntry, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.entries = entries
        self.retry_after = retry_after

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.entries)

    def has_code(self, code: str) -> bool:
        return code in self.codes


class RegistryNotFound(RegistryError, errors.NotFound):
    pass


class RegistryUnauthorized(RegistryError, errors.Unauthorized):
    pass


class RegistryForbidden(RegistryError, errors.Forbidden):
    pass


class RegistryUnavailable(RegistryError, errors.Unavailable):
    pass


class RegistryDataCorrupt(RegistryError, errors.DataCorrupt):
    pass


class RegistryInvalidArgument(RegistryError, errors.InvalidArgument):
    pass


class RegistryUnsupported(RegistryError, errors.Unsupported):
    pass


class RegistryConflict(RegistryError, errors.Conflict):
    pass


class StreamInterrupted(errors.Unavailable):
    """A blob body broke off; ``received`` bytes of it arrived first, so a resume can start there."""

    def __init__(self, message: str, *, received: int) -> None:
        super().__init__(message)
        self.received = received


class RealmRefused(errors.Forbidden):
    """A token realm dockyard will not send credentials to (hazard 19)."""


class ConnectionFailed(errors.Unavailable):
    """No HTTP answer at all (refused, reset, TLS failure, timeout) after the retries.

    ``retryable`` says whether the transport's policy would try again (a reset or a timeout, not a
    refused connection or a TLS failure), for callers that do their own retrying (uploads)."""

    def __init__(self, message: str, *, tls: bool = False, retryable: bool = False) -> None:
        super().__init__(message)
        self.tls = tls
        self.retryable = retryable


class UploadFailed(errors.Unavailable):
    """A blob upload given up after its bounded attempts; the last failure is ``__cause__``."""

    def __init__(self, message: str, *, digest: str, registry: str, attempts: int) -> None:
        super().__init__(message)
        self.digest = digest
        self.registry = registry
        self.attempts = attempts


_CODE_CLASSES: dict[str, type[RegistryError]] = {
    "UNAUTHORIZED": RegistryUnauthorized,
    "DENIED": RegistryForbidden,
    "MANIFEST_UNKNOWN": RegistryNotFound,
    "NAME_UNKNOWN": RegistryNotFound,
    "BLOB_UNKNOWN": RegistryNotFound,
    "BLOB_UPLOAD_UNKNOWN": RegistryNotFound,
    "MANIFEST_BLOB_UNKNOWN": RegistryNotFound,
    "DIGEST_INVALID": RegistryDataCorrupt,
    "SIZE_INVALID": RegistryDataCorrupt,
    "MANIFEST_INVALID": RegistryInvalidArgument,
    "MANIFEST_UNVERIFIED": RegistryInvalidArgument,
    "NAME_INVALID": RegistryInvalidArgument,
    "TAG_INVALID": RegistryInvalidArgument,
    "BLOB_UPLOAD_INVALID": RegistryInvalidArgument,
    "RANGE_INVALID": RegistryInvalidArgument,
    "PAGINATION_NUMBER_INVALID": RegistryInvalidArgument,
    "UNSUPPORTED": RegistryUnsupported,
    "TOOMANYREQUESTS": RegistryUnavailable,
    "UNAVAILABLE": RegistryUnavailable,
}


def _class_for_status(status: int) -> type[RegistryError]:
    if status == 401:
        return RegistryUnauthorized
    if status == 403:
        return RegistryForbidden
    if status == 404:
        return RegistryNotFound
    if status in (405, 501):
        return RegistryUnsupported
    if status == 409:
        return RegistryConflict
    if status == 429 or status >= 500 or status == 499:
        return RegistryUnavailable
    return RegistryInvalidArgument


def status_text(status: int) -> str:
    """Go's ``resp.Status`` form: ``404 Not Found``."""
    reason = _STATUS_REASONS.get(status)
    return f"{status} {reason}" if reason else str(status)


def _go_json_error(body: bytes, exc: json.JSONDecodeError | None) -> str:
    """Go's encoding/json wording for the common ways a non-JSON body fails to parse."""
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        return "unexpected end of JSON input"
    if exc is None:
        return "json: cannot unmarshal into errcode.Errors"
    pos = exc.pos
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    if pos >= len(text):
        return "unexpected end of JSON input"
    ch = text[pos]
    if exc.msg.startswith("Extra data"):
        return f"invalid character {ch!r} after top-level value"
    return f"invalid character {ch!r} looking for beginning of value"


def parse_error_body(body: bytes, status: int = 0) -> tuple[ErrorEntry, ...] | None:
    """The ``errors[]`` entries of a registry error body, or None when it is not that form."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    # Old registries (and Hub's token service) say {"details": "..."}.
    if isinstance(doc.get("details"), str) and doc["details"]:
        code = {401: "UNAUTHORIZED", 429: "TOOMANYREQUESTS"}.get(status, "UNKNOWN")
        return (ErrorEntry(code, doc["details"]),)
    raw = doc.get("errors")
    if not isinstance(raw, list):
        return None
    entries = []
    for item in raw:
        if isinstance(item, dict):
            entries.append(
                ErrorEntry(str(item.get("code", "UNKNOWN")), str(item.get("message", "")), item.get("detail"))
            )
    return tuple(entries) or None


def _bearer_error_entry(challenges: list[Any]) -> ErrorEntry | None:
    """RFC 6750 errors carried in ``WWW-Authenticate`` (distribution checks these first)."""
    for challenge in challenges:
        if challenge.scheme != "bearer":
            continue
        kind = challenge.params.get("error")
        if kind == "invalid_token":
            code, default = "UNAUTHORIZED", "authentication required"
        elif kind == "insufficient_scope":
            code, default = "DENIED", "requested access to the resource is denied"
        else:
            continue
        return ErrorEntry(code, challenge.params.get("error_description") or default)
    return None


def error_from_response(
    status: int,
    body: bytes,
    *,
    www_authenticate: list[str] | None = None,
    retry_after: float | None = None,
) -> RegistryError:
    """Build the typed error for a failed registry response (``body`` already read with a cap)."""
    from .challenge import parse_challenges

    entries = parse_error_body(body, status)
    if 400 <= status < 500 and www_authenticate:
        bearer = _bearer_error_entry(parse_challenges(www_authenticate))
        if bearer is not None:
            entries = (bearer, *(entries or ()))
    if entries:
        cls = _CODE_CLASSES.get(entries[0].code, _class_for_status(status))
        if len(entries) == 1:
            message = str(entries[0])
        else:
            message = "errors:\n" + "".join(f"{e}\n" for e in entries)
        return cls(message, status=status, entries=entries, retry_after=retry_after)
    cls = _class_for_status(status)
    if status == 401:
        detail = body.decode("utf-8", errors="replace")
        entry = ErrorEntry("UNAUTHORIZED", "authentication required", detail)
        return cls(str(entry), status=status, entries=(entry,), retry_after=retry_after)
    if 400 <= status < 500:
        try:
            json.loads(body)
            exc = None
        except json.JSONDecodeError as e:
            exc = e
        except UnicodeDecodeError:
            exc = None
        reason = _go_json_error(body, exc) if exc is not None or not body.strip() else "no error details found in HTTP response body"
        quoted = go_quote(body.decode("utf-8", "surrogateescape"))  # Go's %q of the raw bytes
        message = f"error parsing HTTP {status} response body: {reason}: {quoted}"
        return cls(message, status=status, retry_after=retry_after)
    message = f"received unexpected HTTP status: {status_text(status)}"
    return cls(message, status=status, retry_after=retry_after)
