"""The lexer of Go's text/template: items with positions (character offsets) and line numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from dockyard.render.gofmt import go_quote

class T(IntEnum):
    ERROR = 0
    BOOL = 1
    CHAR = 2
    CHAR_CONSTANT = 3
    COMPLEX = 4
    ASSIGN = 5
    DECLARE = 6
    EOF = 7
    FIELD = 8
    IDENTIFIER = 9
    LEFT_DELIM = 10
    LEFT_PAREN = 11
    NUMBER = 12
    PIPE = 13
    RAW_STRING = 14
    RIGHT_DELIM = 15
    RIGHT_PAREN = 16
    SPACE = 17
    STRING = 18
    TEXT = 19
    VARIABLE = 20
    KEYWORD = 21  # keywords sort after this
    BLOCK = 22
    BREAK = 23
    CONTINUE = 24
    DOT = 25
    DEFINE = 26
    ELSE = 27
    END = 28
    IF = 29
    NIL = 30
    RANGE = 31
    TEMPLATE = 32
    WITH = 33


_KEYWORDS = {
    ".": T.DOT,
    "block": T.BLOCK,
    "break": T.BREAK,
    "continue": T.CONTINUE,
    "define": T.DEFINE,
    "else": T.ELSE,
    "end": T.END,
    "if": T.IF,
    "range": T.RANGE,
    "nil": T.NIL,
    "template": T.TEMPLATE,
    "with": T.WITH,
}

_SPACE_CHARS = " \t\r\n"
LEFT_DELIM = "{{"
RIGHT_DELIM = "}}"


@dataclass(frozen=True)
class Item:
    typ: T
    pos: int
    val: str
    line: int

    def __str__(self) -> str:
        if self.typ == T.EOF:
            return "EOF"
        if self.typ == T.ERROR:
            return self.val
        if self.typ > T.KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def _is_space(ch: str) -> bool:
    return ch in _SPACE_CHARS and ch != ""


def _is_alnum(ch: str) -> bool:
    return ch == "_" or (ch != "" and (ch.isalpha() or ch.isdigit()))


def _describe_rune(ch: str) -> str:
    # Go's %#U: U+0041 'A'
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


class Lexer:
    """Go's template lexer, producing items on demand."""

    def __init__(self, text: str, *, break_ok: bool, continue_ok: bool) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.paren_depth = 0
        self.break_ok = break_ok
        self.continue_ok = continue_ok
        self.pending: list[Item] = []
        self.done = False
        self.state: Callable[[], None] | None = self.lex_text

    # line of a position: 1 + newlines before it
    def line_at(self, pos: int) -> int:
        return 1 + self.input.count("\n", 0, pos)

    def next_item(self) -> Item:
        while not self.pending:
            if self.state is None:
                return Item(T.EOF, self.pos, "", self.line_at(self.pos))
            self.state()
        return self.pending.pop(0)

    def emit(self, typ: T) -> None:
        self.pending.append(Item(typ, self.start, self.input[self.start : self.pos], self.line_at(self.start)))
        self.start = self.pos

    def ignore(self) -> None:
        self.start = self.pos

    def errorf(self, message: str) -> None:
        self.pending.append(Item(T.ERROR, self.start, message, self.line_at(self.start)))
        self.state = None

    def peek(self) -> str:
        return self.input[self.pos] if self.pos < len(self.input) else ""

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch

    def accept(self, valid: str) -> bool:
        ch = self.peek()
        if ch and ch in valid:
            self.pos += 1
            return True
        return False

    def accept_run(self, valid: str) -> None:
        while self.accept(valid):
            pass

    def has_left_trim(self, at: int) -> bool:
        s = self.input
        return at + 1 < len(s) and s[at] == "-" and _is_space(s[at + 1])

    def has_right_trim(self, at: int) -> bool:
        s = self.input
        return at + 1 < len(s) and _is_space(s[at]) and s[at + 1] == "-"

    def at_right_delim(self) -> tuple[bool, bool]:
        if self.has_right_trim(self.pos) and self.input.startswith(RIGHT_DELIM, self.pos + 2):
            return True, True
        if self.input.startswith(RIGHT_DELIM, self.pos):
            return True, False
        return False, False

    # states --------------------------------------------------------------------------------------
    def lex_text(self) -> None:
        x = self.input.find(LEFT_DELIM, self.pos)
        if x >= 0:
            self.pos = x
            trim = 0
            if self.has_left_trim(x + len(LEFT_DELIM)):
                chunk = self.input[self.start : x]
                trim = len(chunk) - len(chunk.rstrip(_SPACE_CHARS))
            self.pos -= trim
            if self.pos > self.start:
                self.emit(T.TEXT)
            self.pos += trim
            self.ignore()
            self.state = self.lex_left_delim
            return
        self.pos = len(self.input)
        if self.pos > self.start:
            self.emit(T.TEXT)
            return
        self.emit(T.EOF)
        self.state = None

    def lex_left_delim(self) -> None:
        self.pos += len(LEFT_DELIM)
        trim = self.has_left_trim(self.pos)
        after = 2 if trim else 0
        if self.input.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            self.state = self.lex_comment
            return
        self.emit(T.LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        self.state = self.lex_inside_action

    def lex_comment(self) -> None:
        self.pos += 2
        i = self.input.find("*/", self.pos)
        if i < 0:
            self.errorf("unclosed comment")
            return
        self.pos = i + 2
        delim, trim = self.at_right_delim()
        if not delim:
            self.errorf("comment ends before closing delimiter")
            return
        if trim:
            self.pos += 2
        self.pos += len(RIGHT_DELIM)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(_SPACE_CHARS))
        self.ignore()
        self.state = self.lex_text

    def lex_right_delim(self) -> None:
        trim = self.has_right_trim(self.pos)
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(RIGHT_DELIM)
        self.emit(T.RIGHT_DELIM)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(_SPACE_CHARS))
            self.ignore()
        self.state = self.lex_text

    def lex_inside_action(self) -> None:
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                self.state = self.lex_right_delim
                return
            self.errorf("unclosed left paren")
            return
        ch = self.next()
        if ch == "":
            self.errorf("unclosed action")
        elif _is_space(ch):
            self.pos -= 1
            self.state = self.lex_space
        elif ch == "=":
            self.emit(T.ASSIGN)
        elif ch == ":":
            if self.next() != "=":
                self.errorf("expected :=")
                return
            self.emit(T.DECLARE)
        elif ch == "|":
            self.emit(T.PIPE)
        elif ch == '"':
            self.state = self.lex_quote
        elif ch == "`":
            self.state = self.lex_raw_quote
        elif ch == "$":
            self.state = self.lex_variable
        elif ch == "'":
            self.state = self.lex_char
        elif ch == "." and not ("0" <= self.peek() <= "9" and self.peek() != ""):
            self.state = self.lex_field
        elif ch in "+-." or "0" <= ch <= "9":
            self.pos -= 1
            self.state = self.lex_number
        elif _is_alnum(ch):
            self.pos -= 1
            self.state = self.lex_identifier
        elif ch == "(":
            self.emit(T.LEFT_PAREN)
            self.paren_depth += 1
        elif ch == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.errorf("unexpected right paren")
                return
            self.emit(T.RIGHT_PAREN)
        elif ord(ch) < 0x80 and ch.isprintable():
            self.emit(T.CHAR)
        else:
            self.errorf("unrecognized character in action: " + _describe_rune(ch))

    def lex_space(self) -> None:
        num = 0
        while _is_space(self.peek()):
            self.pos += 1
            num += 1
        # A space may begin a trim-marked right delimiter " -}}".
        if self.has_right_trim(self.pos - 1) and self.input.startswith(RIGHT_DELIM, self.pos + 1):
            self.pos -= 1
            if num == 1:
                self.state = self.lex_right_delim
                return
        self.emit(T.SPACE)
        self.state = self.lex_inside_action

    def at_terminator(self) -> bool:
        ch = self.peek()
        return ch == "" or _is_space(ch) or ch in ".,|:)(" or self.input.startswith(RIGHT_DELIM, self.pos)

    def lex_identifier(self) -> None:
        while _is_alnum(self.peek()):
            self.pos += 1
        word = self.input[self.start : self.pos]
        if not self.at_terminator():
            self.errorf("bad character " + _describe_rune(self.peek()))
            return
        key = _KEYWORDS.get(word)
        if key is not None and key > T.KEYWORD:
            if (key == T.BREAK and not self.break_ok) or (key == T.CONTINUE and not self.continue_ok):
                self.emit(T.IDENTIFIER)
            else:
                self.emit(key)
        elif word in ("true", "false"):
            self.emit(T.BOOL)
        else:
            self.emit(T.IDENTIFIER)
        self.state = self.lex_inside_action

    def lex_field(self) -> None:
        self.lex_field_or_variable(T.FIELD)

    def lex_variable(self) -> None:
        if self.at_terminator():
            self.emit(T.VARIABLE)
            self.state = self.lex_inside_action
            return
        self.lex_field_or_variable(T.VARIABLE)

    def lex_field_or_variable(self, typ: T) -> None:
        if self.at_terminator():
            self.emit(T.VARIABLE if typ == T.VARIABLE else T.DOT)
            self.state = self.lex_inside_action
            return
        while _is_alnum(self.peek()):
            self.pos += 1
        if not self.at_terminator():
            self.errorf("bad character " + _describe_rune(self.peek()))
            return
        self.emit(typ)
        self.state = self.lex_inside_action

    def lex_char(self) -> None:
        self._lex_escaped_until("'", T.CHAR_CONSTANT, "unterminated character constant")

    def lex_number(self) -> None:
        if not self.scan_number():
            self.errorf("bad number syntax: " + go_quote(self.input[self.start : self.pos]))
            return
        if self.peek() in ("+", "-") and self.peek() != "":
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                self.errorf("bad number syntax: " + go_quote(self.input[self.start : self.pos]))
                return
            self.emit(T.COMPLEX)
        else:
            self.emit(T.NUMBER)
        self.state = self.lex_inside_action

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 10 + 1 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 16 + 6 + 1 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if _is_alnum(self.peek()):
            self.pos += 1
            return False
        return True

    def lex_quote(self) -> None:
        self._lex_escaped_until('"', T.STRING, "unterminated quoted string")

    def _lex_escaped_until(self, close: str, token: T, unterminated: str) -> None:
        """A '…' or "…" literal: backslash escapes, no newline, ends at ``close`` (Go's lexChar/lexQuote)."""
        while True:
            ch = self.next()
            if ch == "\\":
                ch = self.next()
                if ch not in ("", "\n"):
                    continue
            if ch in ("", "\n"):
                self.errorf(unterminated)
                return
            if ch == close:
                break
        self.emit(token)
        self.state = self.lex_inside_action

    def lex_raw_quote(self) -> None:
        end = self.input.find("`", self.pos)
        if end < 0:
            self.errorf("unterminated raw quoted string")
            return
        self.pos = end + 1
        self.emit(T.RAW_STRING)
        self.state = self.lex_inside_action
