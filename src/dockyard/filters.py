"""docker's ``--filter`` values: the CLI's ``FilterOpt`` parsing and moby's ``filters.Args`` semantics.

Errors the daemon reports (unknown key, bad boolean, bad glob) are ``InvalidArgument`` without
``client=True``, so the CLI prefixes them with ``Error response from daemon: ``. The one client-side error,
a flag value without ``=``, is also ``InvalidArgument``; the CLI framework turns it into a flag error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from dockyard.errors import InvalidArgument

BAD_FORMAT_MESSAGE = "bad format of filter (expected name=value)"
BAD_PATTERN_MESSAGE = "syntax error in pattern"

# Go's unicode.IsSpace, which strings.TrimSpace uses (Python's str.strip also drops \x1c-\x1f)
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def go_trim_space(text: str) -> str:
    return text.strip(_GO_SPACE)


def go_list(values: Iterable[str]) -> str:
    """How Go's ``%s`` prints a ``[]string``: ``[a b]``, ``[]`` when empty."""
    return "[" + " ".join(values) + "]"


def parse_filter_flag(value: str) -> tuple[str, str] | None:
    """One ``--filter`` flag value as ``(key, value)``; ``None`` for an empty value, which docker ignores.

    The text is split at the first ``=``; the key is trimmed and lowercased, the value trimmed."""
    if value == "":
        return None
    if "=" not in value:
        raise InvalidArgument(BAD_FORMAT_MESSAGE, client=True)
    key, _, val = value.partition("=")
    return go_trim_space(key).lower(), go_trim_space(val)


def invalid_filter(key: str, values: Iterable[str] | None = None) -> InvalidArgument:
    """moby's ``invalidFilter`` error: ``invalid filter 'KEY'`` or ``invalid filter 'KEY=[v1 v2]'``."""
    text = key if values is None else f"{key}={go_list(values)}"
    return InvalidArgument(f"invalid filter '{text}'")


class Filters:
    """A mapping of filter keys to ordered sets of values (moby's ``filters.Args``).

    Go keeps the values in a map, so the order it prints them in is random; here it is the order they
    were added, except in error messages, which list them sorted."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: dict[str, dict[str, None]] = {}
        for key, value in pairs:
            self.add(key, value)

    @classmethod
    def from_flags(cls, values: Iterable[str]) -> Filters:
        """Build from repeated ``--filter`` flag values (raising on one without ``=``)."""
        filters = cls()
        for value in values:
            filters.add_flag(value)
        return filters

    def add_flag(self, value: str) -> None:
        parsed = parse_filter_flag(value)
        if parsed is not None:
            self.add(*parsed)

    def add(self, key: str, value: str) -> None:
        self._fields.setdefault(key, {})[value] = None

    def delete(self, key: str, value: str) -> None:
        values = self._fields.get(key)
        if values is not None:
            values.pop(value, None)
            if not values:
                del self._fields[key]

    def get(self, key: str) -> list[str]:
        return list(self._fields.get(key, ()))

    def keys(self) -> list[str]:
        return list(self._fields)

    def contains(self, key: str) -> bool:
        return key in self._fields

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def __len__(self) -> int:
        return len(self._fields)

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Filters):
            return NotImplemented
        return {k: set(v) for k, v in self._fields.items()} == {
            k: set(v) for k, v in other._fields.items()
        }

    def __repr__(self) -> str:
        return f"Filters({ {k: list(v) for k, v in self._fields.items()} !r})"

    def copy(self) -> Filters:
        clone = Filters()
        clone._fields = {k: dict(v) for k, v in self._fields.items()}
        return clone

    def to_json_dict(self) -> dict[str, dict[str, bool]]:
        """The Engine API's encoding: ``{"key": {"value": true}}``."""
        return {k: {v: True for v in values} for k, values in self._fields.items()}

    def validate(self, accepted: Iterable[str]) -> None:
        """Reject the first key not in ``accepted``: ``invalid filter 'KEY'``."""
        allowed = set(accepted)
        for key in self._fields:
            if key not in allowed:
                raise invalid_filter(key)

    def get_bool(self, key: str, default: bool = False) -> bool:
        """moby's ``GetBoolOrDefault``: ``1``/``true`` or ``0``/``false`` (exact spelling); anything
        else, or both, is ``invalid filter 'KEY=[values]'``."""
        values = self._fields.get(key)
        if values is None:
            return default
        if not values:
            raise invalid_filter(key)
        is_false = "0" in values or "false" in values
        is_true = "1" in values or "true" in values
        if is_false == is_true:
            raise invalid_filter(key, sorted(values))
        return is_true

    def exact_match(self, key: str, source: str) -> bool:
        """True when no value is set for ``key`` or ``source`` is one of them."""
        values = self._fields.get(key)
        if not values:
            return True
        return source in values

    def unique_exact_match(self, key: str, source: str) -> bool:
        values = self._fields.get(key)
        if not values:
            return True
        return len(values) == 1 and source in values

    def fuzzy_match(self, key: str, source: str) -> bool:
        """Exact match, or ``source`` starts with one of the values."""
        if self.exact_match(key, source):
            return True
        return any(source.startswith(prefix) for prefix in self._fields.get(key, ()))

    def match_kv_list(self, key: str, labels: Mapping[str, str] | None) -> bool:
        """``label``-style filters: every value ``k`` or ``k=v`` must hold in ``labels`` (ANDed).
        No values means no filtering; with values, an image without labels never matches."""
        values = self._fields.get(key)
        if not values:
            return True
        if not labels:
            return False
        for value in values:
            label_key, has_value, label_value = value.partition("=")
            if label_key not in labels:
                return False
            if has_value and labels[label_key] != label_value:
                return False
        return True

    def match_labels(self, labels: Mapping[str, str] | None) -> bool:
        """``label`` and ``label!`` together, as prune applies them: all ``label`` values hold and,
        when ``label!`` is given, not all of its values hold."""
        if not self.match_kv_list("label", labels):
            return False
        if "label!" in self._fields and self.match_kv_list("label!", labels):
            return False
        return True


# ---------------------------------------------------------------------------------------------------------
# Go's path.Match


class _BadPattern(Exception):
    pass


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif ch == "[":
            in_range = True
        elif ch == "]":
            in_range = False
        elif ch == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _get_esc(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise _BadPattern
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise _BadPattern
    ch, rest = chunk[0], chunk[1:]
    if not rest:
        raise _BadPattern
    return ch, rest


def _match_chunk(chunk: str, s: str) -> str | None:
    """Match ``chunk`` at the start of ``s``; the rest of ``s`` or None. The whole chunk is always
    scanned so that a malformed pattern is reported even after the match has failed."""
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        head = chunk[0]
        if head == "[":
            ch = ""
            if not failed:
                ch, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = False
            if chunk.startswith("^"):
                negated = True
                chunk = chunk[1:]
            matched = False
            ranges = 0
            while True:
                if chunk.startswith("]") and ranges > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if not failed and lo <= ch <= hi:
                    matched = True
                ranges += 1
            if matched == negated:
                failed = True
        elif head == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if head == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise _BadPattern
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    return None if failed else s


def _glob_match(pattern: str, name: str) -> bool:
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return "/" not in name
        rest = _match_chunk(chunk, name)
        if rest is not None and (not rest or pattern):
            name = rest
            continue
        if star:
            advanced = False
            i = 0
            while i < len(name) and name[i] != "/":
                rest = _match_chunk(chunk, name[i + 1 :])
                if rest is not None and not (not pattern and rest):
                    name = rest
                    advanced = True
                    break
                i += 1
            if advanced:
                continue
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return not name


def glob_match(pattern: str, name: str) -> bool:
    """Go's ``path.Match``: ``*`` and ``?`` never match ``/``; ``[...]`` classes with ``^``, ranges and
    ``\\`` escapes. A malformed pattern raises ``InvalidArgument("syntax error in pattern")``."""
    try:
        return _glob_match(pattern, name)
    except _BadPattern:
        raise InvalidArgument(BAD_PATTERN_MESSAGE) from None
