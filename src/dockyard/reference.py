"""Image references: parse, normalise and show them as distribution/reference v0.6 does.

A :class:`Reference` exists only if :func:`parse_normalized` (or one of its siblings) accepted the text, so
code that builds registry URLs or store keys from one never re-checks it.
"""

from __future__ import annotations

from ._lazyre import ASCII, lazy_compile
from ._record import dataclass, replace

from .digest import Digest
from .errors import InvalidDigest, InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

MSG_INVALID_FORMAT = "invalid reference format"
MSG_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
MSG_NAME_UPPERCASE = "repository name must be lowercase"
MSG_TAG_INVALID = "invalid tag format"
MSG_DIGEST_TAG_REFUSED = "refusing to create a tag with a digest reference"

# The grammar of distribution/reference, piece by piece, so each regex reads like the Go source.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_NAME_COMPONENT}(?:\.{_DOMAIN_NAME_COMPONENT})*"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

# ASCII: Go's \w is ASCII-only. Compiled on first use: the grammar is large and a listing never needs it.
_REFERENCE_RE = lazy_compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", ASCII)
_NAME_SPLIT_RE = lazy_compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})", ASCII)
_TAG_RE = lazy_compile(_TAG, ASCII)
_IDENTIFIER_RE = lazy_compile(r"[a-f0-9]{64}")
_IMAGE_ID_RE = lazy_compile(r"(?:sha256:)?[a-f0-9]{64}")
_ID_PREFIX_RE = lazy_compile(r"(?:sha256:)?[a-f0-9]{1,64}")


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               '"': '\\"', "\\": "\\\\"}


def _go_quote(text: str) -> str:
    """Go's %q of a string (strconv.Quote), as the client formats the rejected target."""
    out = []
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch == " " or (ch.isprintable() and not ch.isspace()):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


class InvalidTagTarget(InvalidReference):
    """``docker tag``'s target did not parse.

    ``str()`` is the client's wrapped message; ``cause`` is the bare parser message, ``target`` the text.
    """

    def __init__(self, target: str, cause: str) -> None:
        super().__init__(f"Error parsing reference: {_go_quote(target)} is not a valid repository/tag: {cause}")
        self.target = target
        self.cause = cause


class DigestTagRefused(InvalidReference):
    """``docker tag`` was given a target that carries a digest."""

    def __init__(self) -> None:
        super().__init__(MSG_DIGEST_TAG_REFUSED)


@dataclass(frozen=True)
class Reference:
    """A parsed, normalised image reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """The fully qualified repository name, e.g. ``docker.io/library/busybox``."""
        # A first segment with a "." that is no valid host (``a_b.c/x``) leaves the domain empty, as in
        # distribution/reference, whose Name() is then the bare path.
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def familiar_name(self) -> str:
        """The short name users type: ``busybox``, ``foo/bar``, ``localhost:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX):
            rest = self.path[len(OFFICIAL_REPO_PREFIX) :]
            # Only a single component below library/ is an official image.
            if "/" not in rest:
                return rest
        return self.path

    @property
    def is_docker_hub(self) -> bool:
        return self.domain == DEFAULT_DOMAIN

    @property
    def is_name_only(self) -> bool:
        return self.tag is None and self.digest is None

    def _suffix(self) -> str:
        suffix = f":{self.tag}" if self.tag is not None else ""
        if self.digest is not None:
            suffix += f"@{self.digest}"
        return suffix

    def familiar(self) -> str:
        """Familiar name plus ``:tag`` and/or ``@digest`` as present (FamiliarString)."""
        return self.familiar_name + self._suffix()

    def __str__(self) -> str:
        return self.name + self._suffix()

    def with_tag(self, tag: str) -> Reference:
        """The same repository (and digest, if any) with ``tag``."""
        if not _TAG_RE.fullmatch(tag):
            raise InvalidReference(MSG_TAG_INVALID)
        return replace(self, tag=tag)

    def with_digest(self, digest: Digest) -> Reference:
        return replace(self, digest=digest)

    def without_tag(self) -> Reference:
        return replace(self, tag=None)

    def without_digest(self) -> Reference:
        return replace(self, digest=None)

    def repository(self) -> Reference:
        """Just the name, neither tag nor digest."""
        return replace(self, tag=None, digest=None)

    def with_default_tag(self) -> Reference:
        """Adds ``latest`` when there is neither tag nor digest (TagNameOnly)."""
        return self.with_tag(DEFAULT_TAG) if self.is_name_only else self


def _split_docker_domain(text: str) -> tuple[str, str]:
    """Split off the domain the way splitDockerDomain does, adding ``library/`` for Hub one-segment names."""
    first, slash, rest = text.partition("/")
    is_domain = bool(slash) and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    )
    domain, remainder = (first, rest) if is_domain else (DEFAULT_DOMAIN, text)
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def _parse(text: str) -> Reference:
    """distribution/reference ``Parse`` for a text that already carries its domain."""
    match = _REFERENCE_RE.fullmatch(text)
    if match is None:
        if text and _REFERENCE_RE.fullmatch(text.lower()):
            raise InvalidReference(MSG_NAME_UPPERCASE)
        raise InvalidReference(MSG_INVALID_FORMAT)
    name, tag, digest_text = match.groups()
    split = _NAME_SPLIT_RE.fullmatch(name)
    assert split is not None  # the name already matched the same grammar
    domain, path = split.group(1) or "", split.group(2)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(MSG_NAME_TOO_LONG)
    digest = None
    if digest_text is not None:
        try:
            digest = Digest.parse(digest_text)
        except InvalidDigest as err:
            raise InvalidReference(err.message) from err
    return Reference(domain, path, tag, digest)


def parse_normalized(text: str) -> Reference:
    """ParseNormalizedNamed: accept what ``docker pull`` accepts and return the fully qualified reference."""
    if _IDENTIFIER_RE.fullmatch(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = _split_docker_domain(text)
    # As in the Go source: the name is what precedes the first ':' (so a digest's '@alg' is part of it).
    remote_name = remainder.split(":", 1)[0]
    if remote_name.lower() != remote_name:
        raise InvalidReference(f"{MSG_INVALID_FORMAT}: repository name ({remote_name}) must be lowercase")
    return _parse(f"{domain}/{remainder}")


def parse_any(text: str) -> Reference | Digest:
    """ParseAnyReference: a bare 64-hex ID or a ``alg:hex`` digest is a Digest, anything else a Reference."""
    if _IDENTIFIER_RE.fullmatch(text):
        return Digest("sha256", text)
    try:
        return Digest.parse(text)
    except InvalidDigest:
        return parse_normalized(text)


def reference_for_tagging(target: str) -> Reference:
    """The target of ``docker tag``: parsed, refused if it has a digest, defaulted to ``:latest``.

    Raises :class:`InvalidTagTarget` (wrapped message, ``.cause`` bare) or :class:`DigestTagRefused`.
    """
    try:
        ref = parse_normalized(target)
    except InvalidReference as err:
        raise InvalidTagTarget(target, err.message) from err
    if ref.digest is not None:
        raise DigestTagRefused()
    return ref.with_default_tag()


def is_valid_tag(tag: str) -> bool:
    return _TAG_RE.fullmatch(tag) is not None


def looks_like_image_id(text: str) -> bool:
    """A full image ID: 64 lowercase hex characters, bare or after ``sha256:``."""
    return _IMAGE_ID_RE.fullmatch(text) is not None


def is_id_prefix(text: str) -> bool:
    """Text that an image lookup may treat as a (possibly short) ID: lowercase hex, optionally ``sha256:``."""
    return _ID_PREFIX_RE.fullmatch(text) is not None
