"""Lexer, parse tree and parser for Go's text/template, with Go's exact parse-error texts.

Positions are character offsets into the template text; error columns are converted to Go's byte offsets
by the executor. Errors are raised as ``TemplateError(..., parse=True)``.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field

from dockyard.errors import TemplateError
from dockyard.render.gofmt import go_quote
from dockyard.render.gotemplate_lex import Item, Lexer, T

# --- parse tree ------------------------------------------------------------------------------------


class Node:
    pos: int

    def __str__(self) -> str:
        raise NotImplementedError


@dataclass(eq=False)
class TextNode(Node):
    pos: int
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False)
class ListNode(Node):
    pos: int
    nodes: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


@dataclass(eq=False)
class DotNode(Node):
    pos: int

    def __str__(self) -> str:
        return "."


@dataclass(eq=False)
class NilNode(Node):
    pos: int

    def __str__(self) -> str:
        return "nil"


@dataclass(eq=False)
class BoolNode(Node):
    pos: int
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(eq=False)
class StringNode(Node):
    pos: int
    quoted: str
    text: str

    def __str__(self) -> str:
        return self.quoted


@dataclass(eq=False)
class NumberNode(Node):
    pos: int
    text: str
    is_int: bool = False
    is_uint: bool = False
    is_float: bool = False
    is_complex: bool = False
    int_value: int = 0
    float_value: float = 0.0

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False)
class IdentifierNode(Node):
    pos: int
    ident: str

    def __str__(self) -> str:
        return self.ident


@dataclass(eq=False)
class FieldNode(Node):
    pos: int
    ident: list[str]

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


@dataclass(eq=False)
class VariableNode(Node):
    pos: int
    ident: list[str]

    def __str__(self) -> str:
        return ".".join(self.ident)


@dataclass(eq=False)
class ChainNode(Node):
    pos: int
    node: Node
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return head + "".join("." + f for f in self.fields)


@dataclass(eq=False)
class CommandNode(Node):
    pos: int
    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


@dataclass(eq=False)
class PipeNode(Node):
    pos: int
    is_assign: bool = False
    decl: list[VariableNode] = field(default_factory=list)
    cmds: list[CommandNode] = field(default_factory=list)

    def __str__(self) -> str:
        head = ", ".join(str(v) for v in self.decl) + " := " if self.decl else ""
        return head + " | ".join(str(c) for c in self.cmds)


@dataclass(eq=False)
class ActionNode(Node):
    pos: int
    pipe: PipeNode

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass(eq=False)
class BranchNode(Node):
    pos: int
    pipe: PipeNode
    list: ListNode
    else_list: ListNode | None
    keyword = ""

    def __str__(self) -> str:
        text = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            text += "{{else}}" + str(self.else_list)
        return text + "{{end}}"


class IfNode(BranchNode):
    keyword = "if"


class RangeNode(BranchNode):
    keyword = "range"


class WithNode(BranchNode):
    keyword = "with"


@dataclass(eq=False)
class TemplateNode(Node):
    pos: int
    name: str
    pipe: PipeNode | None

    def __str__(self) -> str:
        text = "{{template " + go_quote(self.name)
        if self.pipe is not None:
            text += " " + str(self.pipe)
        return text + "}}"


@dataclass(eq=False)
class BreakNode(Node):
    pos: int

    def __str__(self) -> str:
        return "{{break}}"


@dataclass(eq=False)
class ContinueNode(Node):
    pos: int

    def __str__(self) -> str:
        return "{{continue}}"


@dataclass(eq=False)
class _EndNode(Node):
    pos: int

    def __str__(self) -> str:
        return "{{end}}"


@dataclass(eq=False)
class _ElseNode(Node):
    pos: int

    def __str__(self) -> str:
        return "{{else}}"


# --- literals ---------------------------------------------------------------------------------------

_SIMPLE_UNESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


class _SyntaxError(Exception):
    pass


def unquote_char(s: str, i: int, quote: str) -> tuple[str, int]:
    """Go's strconv.UnquoteChar: decode one (possibly escaped) character of a quoted literal at s[i]."""
    ch = s[i]
    if ch == quote and quote in "'\"":
        raise _SyntaxError
    if ch != "\\":
        return ch, i + 1
    if i + 1 >= len(s):
        raise _SyntaxError
    c = s[i + 1]
    if c in _SIMPLE_UNESCAPES:
        return _SIMPLE_UNESCAPES[c], i + 2
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        digits = s[i + 2 : i + 2 + n]
        if len(digits) != n or not re.fullmatch(r"[0-9a-fA-F]+", digits):
            raise _SyntaxError
        v = int(digits, 16)
        if c == "x":
            return chr(v), i + 2 + n  # a byte; Python strings hold it as the same code point
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise _SyntaxError
        return chr(v), i + 2 + n
    if "0" <= c <= "7":
        digits = s[i + 1 : i + 4]
        if len(digits) != 3 or not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
            raise _SyntaxError
        return chr(int(digits, 8)), i + 4
    if c in "'\"" and c == quote:
        return c, i + 2
    raise _SyntaxError


def unquote(text: str) -> str:
    """Go's strconv.Unquote for "..." and `...` literals."""
    if len(text) < 2 or text[0] != text[-1]:
        raise _SyntaxError
    quote = text[0]
    body = text[1:-1]
    if quote == "`":
        if "`" in body:
            raise _SyntaxError
        return body.replace("\r", "")
    if quote != '"' or "\n" in body:
        raise _SyntaxError
    out: list[str] = []
    i = 0
    while i < len(body):
        ch, i = unquote_char(body, i, quote)
        out.append(ch)
    return "".join(out)


_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


def _parse_go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, ...) without the range check; None when the syntax is wrong."""
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if text[:1] in "+-" and text[1:2] in "+-":
        return None
    lower = body.lower()
    try:
        if lower.startswith(("0x", "0b", "0o")):
            return sign * int(body, 0)
        if len(body) > 1 and body.startswith("0"):
            if "_" in body and not re.fullmatch(r"0(_?[0-7])+", body):
                return None
            return sign * int(body.replace("_", ""), 8)
        if "_" in body and not re.fullmatch(r"[0-9](_?[0-9])*", body):
            return None
        return sign * int(body, 10)
    except ValueError:
        return None


def _parse_go_float(text: str) -> float | None:
    body = text.replace("_", "")
    try:
        if re.match(r"[+-]?0[xX]", body):
            return float.fromhex(body)
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", body):
            return None
        return float(body)
    except (ValueError, OverflowError):
        return None


def new_number(pos: int, text: str, typ: T) -> NumberNode:
    """Parse a number literal the way text/template's NumberNode does (an ideal constant)."""
    n = NumberNode(pos, text)
    if typ == T.CHAR_CONSTANT:
        try:
            ch, end = unquote_char(text, 1, "'")
        except (_SyntaxError, IndexError):
            raise _NumberError("invalid syntax") from None
        if text[end:] != "'":
            raise _NumberError(f"malformed character constant: {text}")
        n.is_int = n.is_uint = n.is_float = True
        n.int_value = ord(ch)
        n.float_value = float(ord(ch))
        return n
    if typ == T.COMPLEX or text.endswith("i"):
        raise _NumberError(f"illegal number syntax: {go_quote(text)}")  # complex constants are not supported
    value = _parse_go_int(text)
    if value is not None:
        if 0 <= value <= _UINT64_MAX:
            n.is_uint = True
        if _INT64_MIN <= value <= _INT64_MAX:
            n.is_int = True
        if n.is_int or n.is_uint:
            n.int_value = value
            n.is_float = True
            n.float_value = float(value)
    if not (n.is_int or n.is_uint):
        f = _parse_go_float(text)
        if f is not None:
            if not any(c in text for c in ".eEpP"):
                raise _NumberError(f"integer overflow: {go_quote(text)}")
            n.is_float = True
            n.float_value = f
            if f.is_integer() and _INT64_MIN <= f <= _INT64_MAX:
                n.is_int = True
                n.int_value = int(f)
            if f.is_integer() and 0 <= f <= _UINT64_MAX:
                n.is_uint = True
                n.int_value = int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        raise _NumberError(f"illegal number syntax: {go_quote(text)}")
    return n


class _NumberError(Exception):
    pass


# --- parser ------------------------------------------------------------------------------------------


class Parser:
    """Go's text/template parser (parse.Tree), for one template text and the trees it defines."""

    def __init__(self, text: str, name: str, funcs: Container[str], tree_set: dict[str, ListNode]) -> None:
        self.text = text
        self.name = name
        self.parse_name = name
        self.funcs = funcs
        self.tree_set = tree_set
        self.lex = Lexer(text, break_ok="break" not in funcs, continue_ok="continue" not in funcs)
        self.token: list[Item] = [Item(T.EOF, 0, "", 1)] * 3
        self.peek_count = 0
        self.vars: list[str] = ["$"]
        self.action_line = 0
        self.range_depth = 0

    # token stream -------------------------------------------------------------------------------
    def next(self) -> Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.lex.next_item()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: Item) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: Item, t1: Item) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.lex.next_item()
        return self.token[0]

    def next_non_space(self) -> Item:
        while True:
            token = self.next()
            if token.typ != T.SPACE:
                return token

    def peek_non_space(self) -> Item:
        token = self.next_non_space()
        self.backup()
        return token

    # errors -------------------------------------------------------------------------------------
    def errorf(self, message: str) -> None:
        raise TemplateError(f"template: {self.parse_name}:{self.token[0].line}: {message}", parse=True)

    def expect(self, expected: T, context: str) -> Item:
        token = self.next_non_space()
        if token.typ != expected:
            self.unexpected(token, context)
        return token

    def expect_one_of(self, e1: T, e2: T, context: str) -> Item:
        token = self.next_non_space()
        if token.typ not in (e1, e2):
            self.unexpected(token, context)
        return token

    def unexpected(self, token: Item, context: str) -> None:
        if token.typ == T.ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != token.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(f"{token}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    # grammar ------------------------------------------------------------------------------------
    def parse(self) -> ListNode:
        root = ListNode(self.peek().pos)
        while self.peek().typ != T.EOF:
            if self.peek().typ == T.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().typ == T.DEFINE:
                    self.parse_definition()
                    continue
                self.backup2(delim)
            node = self.text_or_action()
            if isinstance(node, (_EndNode, _ElseNode)):
                self.errorf(f"unexpected {node}")
            root.nodes.append(node)
        self.add(self.name, root)
        return root

    def add(self, name: str, root: ListNode) -> None:
        existing = self.tree_set.get(name)
        if existing is None or is_empty_tree(existing):
            self.tree_set[name] = root
            return
        if not is_empty_tree(root):
            self.errorf(f"template: multiple definition of template {go_quote(name)}")

    def parse_definition(self) -> None:
        context = "define clause"
        name_token = self.expect_one_of(T.STRING, T.RAW_STRING, context)
        name = self.unquote_token(name_token)
        self.expect(T.RIGHT_DELIM, context)
        # A defined body is its own tree: it sees only $ and no enclosing range.
        saved = (self.vars, self.range_depth)
        self.vars, self.range_depth = ["$"], 0
        root, end = self.item_list()
        self.vars, self.range_depth = saved
        if not isinstance(end, _EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)

    def unquote_token(self, token: Item) -> str:
        try:
            return unquote(token.val)
        except _SyntaxError:
            self.errorf("invalid syntax")
            raise AssertionError("unreachable") from None

    def item_list(self) -> tuple[ListNode, Node]:
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != T.EOF:
            node = self.text_or_action()
            if isinstance(node, (_EndNode, _ElseNode)):
                return lst, node
            lst.nodes.append(node)
        self.errorf("unexpected EOF")
        raise AssertionError("unreachable")

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.typ == T.TEXT:
            return TextNode(token.pos, token.val)
        if token.typ == T.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(token, "input")
        raise AssertionError("unreachable")

    def action(self) -> Node:
        token = self.next_non_space()
        typ = token.typ
        if typ == T.BLOCK:
            return self.block_control()
        if typ == T.BREAK:
            return self.break_control(token.pos, "{{break}}", BreakNode)
        if typ == T.CONTINUE:
            return self.break_control(token.pos, "{{continue}}", ContinueNode)
        if typ == T.ELSE:
            return self.else_control()
        if typ == T.END:
            return _EndNode(self.expect(T.RIGHT_DELIM, "end").pos)
        if typ == T.IF:
            return self.branch(IfNode, "if")
        if typ == T.RANGE:
            return self.branch(RangeNode, "range")
        if typ == T.TEMPLATE:
            return self.template_control()
        if typ == T.WITH:
            return self.branch(WithNode, "with")
        self.backup()
        token = self.peek()
        return ActionNode(token.pos, self.pipeline("command", T.RIGHT_DELIM))

    def break_control(self, pos: int, word: str, cls: type[Node]) -> Node:
        token = self.next_non_space()
        if token.typ != T.RIGHT_DELIM:
            self.unexpected(token, word)
        if self.range_depth == 0:
            self.errorf(f"{word} outside {{{{range}}}}")
        return cls(pos)  # type: ignore[call-arg]

    def pipeline(self, context: str, end: T) -> PipeNode:
        token = self.peek_non_space()
        pipe = PipeNode(token.pos)
        while True:  # declarations
            v = self.peek_non_space()
            if v.typ != T.VARIABLE:
                break
            self.next()
            token_after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (T.ASSIGN, T.DECLARE):
                pipe.is_assign = nxt.typ == T.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self.vars.append(v.val)
            elif nxt.typ == T.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (T.VARIABLE, T.RIGHT_DELIM, T.RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif token_after.typ == T.SPACE:
                self.backup3(v, token_after)
            else:
                self.backup2(v)
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in (
                T.BOOL, T.CHAR_CONSTANT, T.COMPLEX, T.DOT, T.FIELD, T.IDENTIFIER,
                T.NUMBER, T.NIL, T.RAW_STRING, T.STRING, T.VARIABLE, T.LEFT_PAREN,
            ):  # fmt: skip
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def branch(self, cls: type[BranchNode], context: str) -> BranchNode:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, T.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: ListNode | None = None
            if isinstance(nxt, _ElseNode):
                # "else if" / "else with" chain: parse the inner control and treat its end as ours.
                if context == "if" and self.peek().typ == T.IF:
                    self.next()
                    else_list = ListNode(nxt.pos, [self.branch(IfNode, "if")])
                elif context == "with" and self.peek().typ == T.WITH:
                    self.next()
                    else_list = ListNode(nxt.pos, [self.branch(WithNode, "with")])
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, _EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return cls(pipe.pos, pipe, lst, else_list)
        finally:
            del self.vars[mark:]

    def else_control(self) -> Node:
        peek = self.peek_non_space()
        if peek.typ in (T.IF, T.WITH):
            return _ElseNode(peek.pos)
        token = self.expect(T.RIGHT_DELIM, "else")
        return _ElseNode(token.pos)

    def block_control(self) -> Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, T.RIGHT_DELIM)
        # A defined body is its own tree: it sees only $ and no enclosing range.
        saved = (self.vars, self.range_depth)
        self.vars, self.range_depth = ["$"], 0
        root, end = self.item_list()
        self.vars, self.range_depth = saved
        if not isinstance(end, _EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)
        return TemplateNode(token.pos, name, pipe)

    def template_control(self) -> Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = None
        if self.next_non_space().typ != T.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, T.RIGHT_DELIM)
        return TemplateNode(token.pos, name, pipe)

    def template_name(self, token: Item, context: str) -> str:
        if token.typ in (T.STRING, T.RAW_STRING):
            return self.unquote_token(token)
        self.unexpected(token, context)
        raise AssertionError("unreachable")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == T.SPACE:
                continue
            if token.typ in (T.RIGHT_DELIM, T.RIGHT_PAREN):
                self.backup()
            elif token.typ != T.PIPE:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == T.FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == T.FIELD:
                chain.fields.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(chain.pos, str(chain)[1:].split("."))
            if isinstance(node, VariableNode):
                return VariableNode(chain.pos, str(chain).split("."))
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                self.errorf(f"unexpected . after term {go_quote(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == T.IDENTIFIER:
            if token.val not in self.funcs:
                self.errorf(f"function {go_quote(token.val)} not defined")
            return IdentifierNode(token.pos, token.val)
        if typ == T.DOT:
            return DotNode(token.pos)
        if typ == T.NIL:
            return NilNode(token.pos)
        if typ == T.VARIABLE:
            node = VariableNode(token.pos, token.val.split("."))
            if node.ident[0] not in self.vars:
                self.errorf(f"undefined variable {go_quote(node.ident[0])}")
            return node
        if typ == T.FIELD:
            return FieldNode(token.pos, token.val[1:].split("."))
        if typ == T.BOOL:
            return BoolNode(token.pos, token.val == "true")
        if typ in (T.CHAR_CONSTANT, T.COMPLEX, T.NUMBER):
            try:
                return new_number(token.pos, token.val, typ)
            except _NumberError as exc:
                self.errorf(str(exc))
        if typ == T.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", T.RIGHT_PAREN)
        if typ in (T.STRING, T.RAW_STRING):
            return StringNode(token.pos, token.val, self.unquote_token(token))
        self.backup()
        return None


def is_empty_tree(node: Node | None) -> bool:
    """Whether a tree holds nothing but white space."""
    if node is None:
        return True
    if isinstance(node, ListNode):
        return all(is_empty_tree(n) for n in node.nodes)
    if isinstance(node, TextNode):
        return node.text.strip(" \t\n\r\v\f\x85\xa0") == ""
    return False


def parse_template(text: str, funcs: Container[str]) -> dict[str, ListNode]:
    """Parse a template text into its named trees; the main tree is named ""."""
    tree_set: dict[str, ListNode] = {}
    Parser(text, "", funcs, tree_set).parse()
    return tree_set

