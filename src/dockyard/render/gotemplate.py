"""A Go text/template engine for ``--format``: parse and execute, with Go's exact output and errors.

    tmpl = Template.parse("{{.Repository}}:{{.Tag}}", docker_funcs())
    tmpl.execute(row)                       # -> str, or raises TemplateError

How Python values act as Go values is described in ``gotemplate_values`` (``dict`` is a
``map[string]interface {}``, ``Struct`` a struct, objects with ``__go_type__`` pointers to structs, …).
Parse errors carry ``parse=True``; both kinds use Go's wording, e.g. ``template: :1: unclosed action`` and
``template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type *formatter.imageContext``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dockyard.errors import TemplateError
from dockyard.render import gotemplate_parse as p
from dockyard.render.gofmt import go_quote, go_sprint, sort_keys, sprint
from dockyard.render.gotemplate_funcs import (
    BUILTINS,
    FuncError,
    GoFunc,
    as_go_func,
    docker_funcs,
    header_funcs,
    is_true,
    truth,
)
from dockyard.render.gotemplate_values import (
    NIL_MAP,
    NIL_PTR,
    NIL_SLICE,
    GoNil,
    Struct,
    go_type_name,
    is_go_object,
)

__all__ = [
    "Template",
    "Struct",
    "GoFunc",
    "FuncError",
    "GoNil",
    "NIL_SLICE",
    "NIL_MAP",
    "NIL_PTR",
    "docker_funcs",
    "header_funcs",
    "go_sprint",
]

MAX_EXEC_DEPTH = 100000  # Go's limit on nested {{template}} calls, named in its error text
_PY_EXEC_DEPTH = 150  # what Python's stack affords; reported with Go's text


class _Missing:
    """Go's invalid reflect.Value: a missing map key or nil data. Prints as <no value>."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
_NO_FINAL: Any = object()  # no value piped in from a previous command


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _ExecError(Exception):
    pass


def _unwrap(value: Any) -> Any:
    """A value as a function argument sees it: the invalid value becomes nil."""
    return None if value is MISSING else value


class Template:
    """A parsed template set: the main template (named "") and those it defines."""

    def __init__(self, text: str, trees: dict[str, p.ListNode], funcs: dict[str, GoFunc]) -> None:
        self.text = text
        self.trees = trees
        self.funcs = funcs

    @classmethod
    def parse(cls, text: str, funcs: Mapping[str, Callable[..., Any] | GoFunc] | None = None) -> Template:
        """Parse ``text``; ``funcs`` add to (and override) Go's builtins. Raises TemplateError(parse=True)."""
        table: dict[str, GoFunc] = dict(BUILTINS)
        for name, fn in (funcs or {}).items():
            table[name] = as_go_func(fn)
        trees = p.parse_template(text, table)
        return cls(text, trees, table)

    def with_funcs(self, funcs: Mapping[str, Callable[..., Any] | GoFunc]) -> Template:
        """The same parsed template with some functions replaced (Go's Template.Funcs after Parse)."""
        table = dict(self.funcs)
        for name, fn in funcs.items():
            table[name] = as_go_func(fn)
        return Template(self.text, self.trees, table)

    def execute(self, data: Any, *, missingkey_error: bool = False) -> str:
        """Run the template on ``data``; raises TemplateError with Go's execution error text."""
        out, error = self.execute_partial(data, missingkey_error=missingkey_error)
        if error is not None:
            raise error
        return out

    def execute_partial(self, data: Any, *, missingkey_error: bool = False) -> tuple[str, TemplateError | None]:
        """Run the template and return what was written before any error, and the error (docker prints
        table headers that way: it ignores the header's error and keeps the partial output)."""
        state = _State(self, missingkey_error)
        dot = MISSING if data is None else data
        state.vars = [["$", dot]]
        try:
            state.walk(dot, self.trees[""])
        except _ExecError as exc:
            return "".join(state.out), TemplateError(str(exc))
        except RecursionError:
            state.node = None
            return "".join(state.out), TemplateError(
                f"template: : exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )
        return "".join(state.out), None


class _State:
    def __init__(self, tmpl: Template, missingkey_error: bool) -> None:
        self.tmpl = tmpl
        self.name = ""
        self.missingkey_error = missingkey_error
        self.out: list[str] = []
        self.vars: list[list[Any]] = []
        self.node: p.Node | None = None
        self.depth = 0
        # Whether dot was taken out of an interface{} slot (a map value or a []interface{} element):
        # Go then names its type "interface {}" in field errors.
        self.dot_iface = False

    # errors -------------------------------------------------------------------------------------
    def errorf(self, message: str) -> None:
        name = self.name
        if self.node is None:
            raise _ExecError(f"template: {name}: {message}")
        text = self.tmpl.text
        pos = self.node.pos
        before = text[:pos]
        line_start = before.rfind("\n") + 1
        line = 1 + before.count("\n")
        col = len(before[line_start:].encode("utf-8", "surrogateescape"))
        raise _ExecError(
            f"template: :{line}:{col}: executing {go_quote(name)} at <{self.node}>: {message}"
        )

    # variables ----------------------------------------------------------------------------------
    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: Any) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        self.errorf(f"undefined variable: {name}")

    def var_value(self, name: str) -> Any:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        self.errorf(f"undefined variable: {name}")

    # walking ------------------------------------------------------------------------------------
    def walk(self, dot: Any, node: p.Node) -> None:
        self.node = node
        if isinstance(node, p.ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, value)
        elif isinstance(node, p.ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, p.TextNode):
            self.out.append(node.text)
        elif isinstance(node, p.RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, (p.IfNode, p.WithNode)):
            self.walk_if_or_with(isinstance(node, p.WithNode), dot, node)
        elif isinstance(node, p.TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, p.BreakNode):
            raise _Break
        elif isinstance(node, p.ContinueNode):
            raise _Continue
        else:
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, is_with: bool, dot: Any, node: p.BranchNode) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            truth_value, ok = is_true(_unwrap(value))
            if not ok:
                self.errorf(f"if/with can't use {go_sprint(value)}")
            if truth_value and is_with:
                saved_iface, self.dot_iface = self.dot_iface, False
                try:
                    self.walk(value, node.list)
                finally:
                    self.dot_iface = saved_iface
            elif truth_value:
                self.walk(dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            self.pop(mark)

    def walk_range(self, dot: Any, node: p.RangeNode) -> None:
        self.node = node
        mark_outer = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            decl = node.pipe.decl
            mark = self.mark()

            def one_iteration(index: Any, elem: Any) -> None:
                if decl:
                    if node.pipe.is_assign:
                        self.set_var(decl[0].ident[0], index if len(decl) > 1 else elem)
                    else:
                        self.vars[-1][1] = elem
                if len(decl) > 1:
                    if node.pipe.is_assign:
                        self.set_var(decl[1].ident[0], elem)
                    else:
                        self.vars[-2][1] = index
                saved_iface, self.dot_iface = self.dot_iface, elems_iface
                try:
                    self.walk(elem, node.list)
                except _Continue:
                    pass
                finally:
                    self.dot_iface = saved_iface
                    self.pop(mark)

            items: list[tuple[Any, Any]] | None
            elems_iface = (isinstance(value, dict) and not isinstance(value, Struct)) or (
                isinstance(value, (list, tuple)) and go_type_name(value) == "[]interface {}"
            )
            if value is MISSING or value is None or (isinstance(value, GoNil) and value.kind != "ptr"):
                items = []
            elif isinstance(value, (list, tuple, bytes, bytearray)):
                items = list(enumerate(value))
            elif isinstance(value, dict) and not isinstance(value, Struct):
                items = [(k, value[k]) for k in sort_keys(value)]
            elif isinstance(value, int) and not isinstance(value, bool):
                if len(decl) > 1:
                    self.errorf(f"can't use {go_sprint(value)} to iterate over more than one variable")
                items = [(i, i) for i in range(max(value, 0))]
            else:
                self.errorf(f"range can't iterate over {go_sprint(value)}")
                items = None
            try:
                for index, elem in items or []:
                    one_iteration(index, elem)
            except _Break:
                return
            if not items and node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            self.pop(mark_outer)

    def walk_template(self, dot: Any, node: p.TemplateNode) -> None:
        self.node = node
        tree = self.tmpl.trees.get(node.name)
        if tree is None:
            self.errorf(f"template {go_quote(node.name)} not defined")
        if self.depth >= _PY_EXEC_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_EXEC_DEPTH})")
        value = self.eval_pipeline(dot, node.pipe)
        saved = (self.vars, self.name, self.dot_iface)
        self.vars = [["$", value]]
        self.name = node.name
        self.dot_iface = False
        self.depth += 1
        try:
            self.walk(value, tree)  # type: ignore[arg-type]
        finally:
            self.vars, self.name, self.dot_iface = saved
            self.depth -= 1

    # printing -----------------------------------------------------------------------------------
    def print_value(self, node: p.Node, value: Any) -> None:
        self.node = node
        if value is MISSING:
            self.out.append("<no value>")
            return
        if callable(value) and not is_go_object(value) and not isinstance(value, (Struct, dict, GoNil)):
            self.errorf(f"can't print {node} of type {go_type_name(value)}")
        self.out.append(sprint(value))

    # evaluation ---------------------------------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: p.PipeNode | None) -> Any:
        if pipe is None:
            return dot
        self.node = pipe
        value = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:
                value = MISSING  # a nil interface{} result digs down to the invalid value
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.vars.append([var.ident[0], value])
        return value

    def not_a_function(self, args: list[p.Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: p.CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, p.FieldNode):
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final, self.dot_iface)
        if isinstance(first, p.ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, p.IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, p.PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, p.VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, p.BoolNode):
            return first.value
        if isinstance(first, p.DotNode):
            return dot
        if isinstance(first, p.NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, p.NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, p.StringNode):
            return first.text
        self.errorf(f"can't evaluate command {go_quote(str(first))}")

    def ideal_constant(self, node: p.NumberNode) -> Any:
        self.node = node
        text = node.text
        is_hex = len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(c in text for c in "pP")
        if node.is_float and not is_hex and not text.startswith("'") and any(c in text for c in ".eEpP"):
            return node.float_value
        if node.is_int:
            return node.int_value
        if node.is_uint:
            self.errorf(f"{text} overflows int")
        return MISSING

    def eval_chain(self, dot: Any, chain: p.ChainNode, args: list[p.Node], final: Any) -> Any:
        self.node = chain
        if isinstance(chain.node, p.NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, "any", chain.node, raw=True)
        return self.eval_field_chain(dot, receiver, chain, chain.fields, args, final)

    def eval_variable(self, dot: Any, var: p.VariableNode, args: list[p.Node], final: Any) -> Any:
        self.node = var
        value = self.var_value(var.ident[0])
        if len(var.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, var, var.ident[1:], args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: p.Node,
        idents: list[str],
        args: list[p.Node],
        final: Any,
        iface: bool = False,
    ) -> Any:
        for name in idents[:-1]:
            from_map = isinstance(receiver, dict) and not isinstance(receiver, Struct)
            receiver = self.eval_field(dot, name, node, [], _NO_FINAL, receiver, iface)
            iface = from_map
        return self.eval_field(dot, idents[-1], node, args, final, receiver, iface)

    def eval_field(
        self,
        dot: Any,
        name: str,
        node: p.Node,
        args: list[p.Node],
        final: Any,
        receiver: Any,
        iface: bool = False,
    ) -> Any:
        if receiver is MISSING:
            if self.missingkey_error:
                self.errorf(f"nil data; no entry for key {go_quote(name)}")
            return MISSING
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        has_args = len(args) > 1 or final is not _NO_FINAL
        if is_go_object(receiver) and not isinstance(receiver, (Struct, dict)):
            if name[:1].isupper() and hasattr(receiver, name):
                attr = getattr(receiver, name)
                if callable(attr):
                    return self.eval_call(dot, GoFunc(attr, _method_params(attr)), node, name, args, final)
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return attr
        elif isinstance(receiver, Struct):
            if name in receiver:
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return receiver[name]
        elif isinstance(receiver, dict):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if self.missingkey_error:
                self.errorf(f"map has no entry for key {go_quote(name)}")
            return MISSING
        elif isinstance(receiver, GoNil):
            if receiver.kind == "map":
                if has_args:
                    self.errorf(f"{name} is not a method but has arguments")
                if self.missingkey_error:
                    self.errorf(f"map has no entry for key {go_quote(name)}")
                return MISSING
            if receiver.kind == "ptr":
                self.errorf(f"nil pointer evaluating {receiver.type_name}.{name}")
        type_name = "interface {}" if iface else go_type_name(receiver)
        self.errorf(f"can't evaluate field {name} in type {type_name}")

    def eval_function(
        self, dot: Any, node: p.IdentifierNode, cmd: p.Node, args: list[p.Node], final: Any
    ) -> Any:
        self.node = node
        fn = self.tmpl.funcs.get(node.ident)
        if fn is None:
            self.errorf(f"{go_quote(node.ident)} is not a defined function")
        return self.eval_call(dot, fn, cmd, node.ident, args, final)  # type: ignore[arg-type]

    def eval_call(
        self, dot: Any, fn: GoFunc, node: p.Node, name: str, args: list[p.Node], final: Any
    ) -> Any:
        args = args[1:] if args else []
        num_in = len(args) + (0 if final is _NO_FINAL else 1)
        num_params = len(fn.params)
        if fn.variadic is not None:
            if num_in < num_params:
                self.errorf(f"wrong number of args for {name}: want at least {num_params} got {len(args)}")
        elif num_in != num_params:
            self.errorf(f"wrong number of args for {name}: want {num_params} got {num_in}")

        def param_type(i: int) -> str:
            return fn.params[i] if i < num_params else fn.variadic  # type: ignore[return-value]

        if fn.builtin in ("and", "or"):
            result: Any = MISSING
            for arg in args:
                result = self.eval_arg(dot, "value", arg, raw=True)
                if truth(_unwrap(result)) == (fn.builtin == "or"):
                    return result
            if final is not _NO_FINAL:
                result = final
            return result
        argv = [self.eval_arg(dot, param_type(i), arg) for i, arg in enumerate(args)]
        if final is not _NO_FINAL:
            argv.append(self.validate_type(final, param_type(num_in - 1)))
        if fn.builtin == "call":
            return self.call_value(node, args[0] if args else None, argv)
        try:
            result = fn.fn(*argv)
        except (_ExecError, _Break, _Continue, RecursionError):
            raise
        except Exception as exc:  # a Go function's returned error
            self.node = node
            self.errorf(f"error calling {name}: {exc}")
        return result

    def call_value(self, node: p.Node, callee: p.Node | None, argv: list[Any]) -> Any:
        fn, rest = argv[0], argv[1:]
        try:
            if fn is None:
                raise FuncError("call of nil")
            if not callable(fn) or is_go_object(fn):
                raise FuncError(f"non-function {callee} of type {go_type_name(fn)}")
            return fn(*rest)
        except (_ExecError, RecursionError):
            raise
        except Exception as exc:
            self.node = node
            self.errorf(f"error calling call: {exc}")

    def validate_type(self, value: Any, typ: str) -> Any:
        if value is MISSING:
            if typ in ("any", "value"):
                return None
            if typ == "[]string":
                return NIL_SLICE
            self.errorf(f"invalid value; expected {typ}")
        if typ in ("any", "value"):
            return value
        if typ == "string" and isinstance(value, str):
            return value
        if typ == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if typ == "bool" and isinstance(value, bool):
            return value
        if typ == "float64" and isinstance(value, float):
            return value
        if typ == "[]string" and (
            (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value))
            or (isinstance(value, GoNil) and value.kind == "slice")
        ):
            return [] if isinstance(value, GoNil) else list(value)
        got = "interface {}" if value is None else go_type_name(value)
        self.errorf(f"wrong type for value; expected {typ}; got {got}")

    def eval_arg(self, dot: Any, typ: str, node: p.Node, *, raw: bool = False) -> Any:
        """Evaluate one argument for a parameter of Go type ``typ`` (``raw`` keeps the invalid value)."""
        self.node = node
        value: Any
        if isinstance(node, p.DotNode):
            value = dot
        elif isinstance(node, p.NilNode):
            if typ in ("any", "value"):
                return MISSING if raw else None
            if typ == "[]string":
                return NIL_SLICE
            self.errorf(f"cannot assign nil to {typ}")
        elif isinstance(node, p.FieldNode):
            value = self.eval_field_chain(dot, dot, node, node.ident, [node], _NO_FINAL, self.dot_iface)
        elif isinstance(node, p.VariableNode):
            value = self.eval_variable(dot, node, [], _NO_FINAL)
        elif isinstance(node, p.PipeNode):
            value = self.eval_pipeline(dot, node)
        elif isinstance(node, p.IdentifierNode):
            value = self.eval_function(dot, node, node, [], _NO_FINAL)
        elif isinstance(node, p.ChainNode):
            value = self.eval_chain(dot, node, [], _NO_FINAL)
        else:
            return self.eval_literal(typ, node)
        return value if raw else self.validate_type(value, typ)

    def eval_literal(self, typ: str, node: p.Node) -> Any:
        self.node = node
        if typ in ("any", "value"):
            if isinstance(node, p.BoolNode):
                return node.value
            if isinstance(node, p.NumberNode):
                return self.ideal_constant(node)
            if isinstance(node, p.StringNode):
                return node.text
            self.errorf(f"can't handle assignment of {node} to empty interface argument")
        if typ == "bool":
            if isinstance(node, p.BoolNode):
                return node.value
            self.errorf(f"expected bool; found {node}")
        if typ == "string":
            if isinstance(node, p.StringNode):
                return node.text
            self.errorf(f"expected string; found {node}")
        if typ == "int":
            if isinstance(node, p.NumberNode) and node.is_int:
                return node.int_value
            self.errorf(f"expected integer; found {node}")
        if typ == "float64":
            if isinstance(node, p.NumberNode) and node.is_float:
                return node.float_value
            self.errorf(f"expected float; found {node}")
        self.errorf(f"can't handle {node} for arg of type {typ}")


def _method_params(method: Callable[..., Any]) -> tuple[str, ...]:
    """Parameter types of a Go-object method: one interface{} per required positional parameter."""
    import inspect  # only when a template calls a method

    try:
        sig = inspect.signature(method)
    except (TypeError, ValueError):
        return ()
    required = [
        prm
        for prm in sig.parameters.values()
        if prm.kind in (prm.POSITIONAL_ONLY, prm.POSITIONAL_OR_KEYWORD) and prm.default is prm.empty
    ]
    return tuple("any" for _ in required)
