"""Dockerfile word processing: quotes, escapes and ``$VAR`` expansion as BuildKit's shell lexer does it.

Used for instruction arguments that Docker processes with the build environment (ENV, LABEL, EXPOSE,
USER, VOLUME, WORKDIR, STOPSIGNAL …); CMD, ENTRYPOINT and RUN keep their text as written.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import InvalidArgument

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    def words(self, split: bool) -> list[str]:
        words: list[str] = []
        current: list[str] = []
        in_word = False
        while self.peek():
            ch = self.peek()
            if split and ch in " \t\r\n":
                self.next()
                if in_word:
                    words.append("".join(current))
                    current, in_word = [], False
                continue
            in_word = True
            if ch == "'":
                self.next()
                current.append(self._single_quoted())
            elif ch == '"':
                self.next()
                current.append(self._double_quoted())
            elif ch == "$":
                current.append(self._dollar())
            elif ch == self.escape:
                self.next()
                if self.peek():
                    current.append(self.next())
            else:
                current.append(self.next())
        if in_word or not split:
            words.append("".join(current))
        return words

    def _single_quoted(self) -> str:
        out: list[str] = []
        while True:
            ch = self.next()
            if not ch:
                raise InvalidArgument("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def _double_quoted(self) -> str:
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise InvalidArgument("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
                continue
            ch = self.next()
            # Inside double quotes only ", $ and the escape character itself can be escaped.
            if ch == self.escape and self.peek() in ('"', "$", self.escape):
                ch = self.next()
            out.append(ch)

    def _name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.next()
        return self.text[start : self.pos]

    def _dollar(self) -> str:
        self.next()  # the '$'
        if self.peek() != "{":
            name = self._name()
            if not name:
                return "$"
            return self.env.get(name, "")
        self.next()  # the '{'
        name = self._name()
        if not name:
            raise InvalidArgument(f"missing ':' in substitution")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.next()
        if ch not in ("-", "+", "?"):
            raise InvalidArgument(f"unsupported modifier ({ch}) in substitution")
        word = self._until_brace()
        value = self.env.get(name)
        is_set = value is not None and (value != "" or not colon)
        if ch == "-":
            return value if is_set else word  # type: ignore[return-value]
        if ch == "+":
            return word if is_set else ""
        if not is_set:
            raise InvalidArgument(f"{name}: {word or 'is not allowed to be unset'}")
        return value  # type: ignore[return-value]

    def _until_brace(self) -> str:
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise InvalidArgument("syntax error: missing '}'")
            if ch == "}":
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
            elif ch == "'":
                self.next()
                out.append(self._single_quoted())
            elif ch == '"':
                self.next()
                out.append(self._double_quoted())
            elif ch == self.escape:
                self.next()
                if self.peek():
                    out.append(self.next())
            else:
                out.append(self.next())


def process_word(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word: quotes removed, escapes and variables applied, white space kept."""
    return _Lexer(text, env, escape).words(split=False)[0]


def process_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Several words split on unquoted white space (EXPOSE, VOLUME, …)."""
    return _Lexer(text, env, escape).words(split=True)


def env_mapping(env_list: list[str] | None) -> dict[str, str]:
    """A config's ``Env`` (``K=V`` strings) as a mapping; later entries win."""
    result: dict[str, str] = {}
    for item in env_list or []:
        key, _, value = item.partition("=")
        result[key] = value
    return result
