"""A light stand-in for ``dataclasses.dataclass`` on the start-up path.

``import dataclasses`` pulls in ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``), and each
decorated class costs several ``exec`` calls; together that was about a quarter of ``dockyard images``.
This decorator builds the same classes for the subset dockyard uses — ``frozen``, ``eq``, ``order``,
``slots``, defaults and ``field(default=..., default_factory=...)`` — with one ``exec`` per class (for an
``__init__`` with a real signature) and shared methods for the rest.

The classes keep ``__dataclass_fields__`` (name, default, init) so ``dataclasses.replace`` still works
on them; ``dataclasses.fields``/``asdict`` do not (use ``record_fields``/``replace`` from here).
"""

from __future__ import annotations

import sys

# typing costs ~10 ms of start-up (it imports re, collections, contextlib ...); only type checkers need it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar, dataclass_transform, overload

    _T = TypeVar("_T")
else:
    def dataclass_transform(**_kwargs: object) -> object:
        return lambda f: f

    def overload(f: object) -> object:
        return f


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record (like ``dataclasses.FrozenInstanceError``)."""


class Field:
    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "compare", "hash",
                 "kw_only", "metadata", "_field_type")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, *, init: bool = True,
                 repr: bool = True, compare: bool = True) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.hash = None
        self.kw_only = False
        self.metadata: dict[str, Any] = {}
        # Not one of dataclasses' markers: dataclasses.replace treats the field as a plain one.
        self._field_type = None

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True, repr: bool = True,
          compare: bool = True) -> Any:
    return Field(default, default_factory, init=init, repr=repr, compare=compare)


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))
    return getattr(annotation, "__origin__", None) is getattr(sys.modules.get("typing"), "ClassVar", None)


def record_fields(cls_or_obj: Any) -> tuple[Field, ...]:
    return tuple(getattr(cls_or_obj, "__record_fields__"))


def replace(obj: _T, /, **changes: Any) -> _T:
    for f in obj.__record_fields__:  # type: ignore[attr-defined]
        if f.init and f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def _collect(cls: type) -> list[Field]:
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            fields[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(value)
        f.name = name
        f.type = annotation
        fields[name] = f
        if isinstance(value, Field):
            # Like dataclasses: a plain default stays a class attribute, a field() object does not.
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    return list(fields.values())


def _make_init(cls: type, fields: list[Field], frozen: bool) -> Callable[..., None]:
    args = ["self"]
    body = []
    ns: dict[str, Any] = {"MISSING": MISSING, "_set": object.__setattr__}
    seen_default = False
    for f in fields:
        if f.init:
            if f.default is not MISSING:
                ns[f"_d_{f.name}"] = f.default
                args.append(f"{f.name}=_d_{f.name}")
                seen_default = True
            elif f.default_factory is not MISSING:
                ns[f"_f_{f.name}"] = f.default_factory
                args.append(f"{f.name}=MISSING")
                seen_default = True
            elif seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            else:
                args.append(f.name)
        if f.default_factory is not MISSING:
            value = f"_f_{f.name}() if {f.name} is MISSING else {f.name}" if f.init else f"_f_{f.name}()"
        elif f.init:
            value = f.name
        elif f.default is not MISSING:
            value = f"_d_{f.name}"
        else:
            continue
        body.append(f"_set(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if "__post_init__" in {n for c in cls.__mro__ for n in c.__dict__}:
        body.append("self.__post_init__()")
    src = f"def __init__({', '.join(args)}):\n " + ("\n ".join(body) or "pass")

    # The exec (most of a record's cost) waits for the first instance: a module defines many records a
    # given command never makes (metadata's eight, for `images`).
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        exec(src, ns)
        init = ns["__init__"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = init  # type: ignore[misc]
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    if name in type(self).__record_names__:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    if name in type(self).__record_names__:
        raise FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)


def _repr(self: Any) -> str:
    parts = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in type(self).__record_fields__ if f.repr)
    return f"{type(self).__qualname__}({parts})"


def _key(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, n) for n in type(self).__record_compare__)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        return _key(self) == _key(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(_key(self))


def _order(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return op(_key(self), _key(other))
        return NotImplemented

    return method


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in type(self).__record_fields__]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(type(self).__record_fields__, state):
        object.__setattr__(self, f.name, value)


def _process(cls: type, *, frozen: bool, eq: bool, order: bool, slots: bool, repr: bool) -> type:
    fields = _collect(cls)
    names = frozenset(f.name for f in fields)
    if slots:
        ns = {k: v for k, v in cls.__dict__.items() if k not in names and k not in ("__dict__", "__weakref__")}
        inherited = {s for c in cls.__mro__[1:] for s in c.__dict__.get("__slots__", ())}
        ns["__slots__"] = tuple(f.name for f in fields if f.name not in inherited)
        cls = type(cls)(cls.__name__, cls.__bases__, ns)
        cls.__getstate__ = _getstate  # type: ignore[attr-defined]
        cls.__setstate__ = _setstate  # type: ignore[attr-defined]
    cls.__record_fields__ = tuple(fields)  # type: ignore[attr-defined]
    cls.__record_names__ = names  # type: ignore[attr-defined]
    cls.__record_compare__ = tuple(f.name for f in fields if f.compare)  # type: ignore[attr-defined]
    cls.__dataclass_fields__ = {f.name: f for f in fields}  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(f.name for f in fields if f.init)  # type: ignore[attr-defined]
    if "__init__" not in cls.__dict__:
        cls.__init__ = _make_init(cls, fields, frozen)  # type: ignore[misc]
    if repr and "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr  # type: ignore[assignment]
    if eq and "__eq__" not in cls.__dict__:
        cls.__eq__ = _eq  # type: ignore[assignment]
    if order:
        import operator

        for name, op in (("__lt__", operator.lt), ("__le__", operator.le), ("__gt__", operator.gt),
                         ("__ge__", operator.ge)):
            setattr(cls, name, _order(op))
    if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
        # dataclasses' rules: eq+frozen hashes the fields; eq alone is unhashable; no eq keeps object's.
        if eq and frozen:
            cls.__hash__ = _hash  # type: ignore[assignment]
        elif eq:
            cls.__hash__ = None  # type: ignore[assignment]
    if frozen:
        cls.__setattr__ = _frozen_setattr  # type: ignore[assignment]
        cls.__delattr__ = _frozen_delattr  # type: ignore[assignment]
    return cls


@overload
def dataclass(cls: type[_T], /) -> type[_T]: ...
@overload
def dataclass(*, frozen: bool = ..., eq: bool = ..., order: bool = ..., slots: bool = ...,
              repr: bool = ...) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: Any = None, /, *, frozen: bool = False, eq: bool = True, order: bool = False,
              slots: bool = False, repr: bool = True) -> Any:
    def wrap(c: type) -> type:
        return _process(c, frozen=frozen, eq=eq, order=order, slots=slots, repr=repr)

    return wrap if cls is None else wrap(cls)
