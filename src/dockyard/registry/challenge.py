"""``WWW-Authenticate`` challenges (RFC 7235 §2.1, §4.1).

A header may hold several challenges separated by commas, a response may have several such headers, the
scheme is case-insensitive, and parameter values are tokens or quoted strings with backslash escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_SPACE = " \t"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case
    params: dict[str, str] = field(default_factory=dict)  # names lower case
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def scopes(self) -> tuple[str, ...]:
        """The ``scope`` parameter is a space-separated list."""
        return tuple(self.params.get("scope", "").split())


class _Cursor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1

    def skip_list_separators(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE + ",":
            self.pos += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def token(self) -> str | None:
        m = _TOKEN.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group()

    def quoted(self) -> str:
        """Read a quoted-string starting at the opening quote; an unterminated one runs to the end."""
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif ch == '"':
                break
            else:
                out.append(ch)
        return "".join(out)

    def is_param_ahead(self) -> bool:
        """True if ``token BWS "="`` follows (a parameter), not a new challenge's scheme."""
        m = _TOKEN.match(self.text, self.pos)
        if not m:
            return False
        rest = m.end()
        while rest < len(self.text) and self.text[rest] in _SPACE:
            rest += 1
        return rest < len(self.text) and self.text[rest] == "="


def _parse_header(text: str) -> list[Challenge]:
    cur = _Cursor(text)
    challenges: list[Challenge] = []
    while True:
        cur.skip_list_separators()
        if cur.at_end():
            return challenges
        scheme = cur.token()
        if scheme is None:
            # Garbage: skip to the next comma and try again, as lenient clients do.
            nxt = text.find(",", cur.pos)
            if nxt < 0:
                return challenges
            cur.pos = nxt + 1
            continue
        params: dict[str, str] = {}
        token68 = None
        cur.skip_space()
        m = _TOKEN68.match(text, cur.pos)
        if m and _ends_item(text, m.end()):
            token68 = m.group()
            cur.pos = m.end()
        else:
            while not cur.at_end():
                cur.skip_list_separators()
                if not cur.is_param_ahead():
                    break
                name = (cur.token() or "").lower()
                cur.skip_space()
                cur.pos += 1  # the "="
                cur.skip_space()
                if cur.peek() == '"':
                    value = cur.quoted()
                else:
                    value = cur.token() or ""
                params.setdefault(name, value)
                cur.skip_space()
        challenges.append(Challenge(scheme.lower(), params, token68))


def _ends_item(text: str, pos: int) -> bool:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos >= len(text) or text[pos] == ","


def parse_challenges(headers: Iterable[str]) -> list[Challenge]:
    """All challenges of all ``WWW-Authenticate`` header values, in order."""
    out: list[Challenge] = []
    for value in headers:
        out.extend(_parse_header(value))
    return out


def find_challenge(challenges: Iterable[Challenge], scheme: str) -> Challenge | None:
    scheme = scheme.lower()
    return next((c for c in challenges if c.scheme == scheme), None)
