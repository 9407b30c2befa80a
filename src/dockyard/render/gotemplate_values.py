"""How Python values stand in for Go values in templates, fmt printing and json.

The mapping (shared by gotemplate, gofmt and the json function):
- ``dict``            a Go ``map[string]interface {}`` (keys sorted when printed or encoded)
- ``Struct``          a Go struct value; fields keep the order given
- an object with ``__go_type__``  a Go pointer to a struct; its accessors are its public zero-argument
  methods and its public attributes/properties
- ``list``/``tuple``  a slice; ``str``, ``bool``, ``int``, ``float`` as themselves; ``bytes`` a ``[]byte``
- ``None``            a nil interface value
- ``NIL_SLICE``/``NIL_MAP``/``NIL_PTR``  typed nils: print as ``[]``, ``map[]``, ``<nil>``; encode as null
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class Struct(Mapping[str, Any]):
    """A Go struct value: a named type with ordered fields."""

    __slots__ = ("type_name", "_fields")

    def __init__(self, type_name: str, fields: Mapping[str, Any]) -> None:
        self.type_name = type_name
        self._fields = dict(fields)

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Struct({self.type_name!r}, {self._fields!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Struct):
            return NotImplemented
        return self.type_name == other.type_name and self._fields == other._fields

    __hash__ = None  # type: ignore[assignment]


class GoNil:
    """A nil of a concrete Go kind (slice, map or pointer), as opposed to a nil interface (None)."""

    __slots__ = ("kind", "type_name")

    def __init__(self, kind: str, type_name: str) -> None:
        self.kind = kind
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"GoNil({self.kind!r}, {self.type_name!r})"

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False


NIL_SLICE = GoNil("slice", "[]string")
NIL_MAP = GoNil("map", "map[string]interface {}")
NIL_PTR = GoNil("ptr", "*struct {}")


def is_go_object(value: Any) -> bool:
    """An arbitrary Python object standing for a Go pointer to a struct."""
    return hasattr(type(value), "__go_type__") or hasattr(value, "__go_type__")


def go_object_fields(value: Any) -> list[tuple[str, Any]]:
    """The exported plain attributes of a Go-typed object, in definition order (for %v and json)."""
    attrs = getattr(value, "__dict__", {})
    return [(k, v) for k, v in attrs.items() if k[:1].isupper() and not callable(v)]


def go_type_name(value: Any) -> str:
    """The Go type name a value would have, as Go prints it in errors and %T."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "[]uint8"
    if isinstance(value, Struct):
        return value.type_name
    if isinstance(value, GoNil):
        return value.type_name
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        # Typed Go data carries []string; anything mixed came from decoded JSON.
        if all(isinstance(v, str) for v in value):
            return "[]string"
        return "[]interface {}"
    if is_go_object(value):
        return str(value.__go_type__)
    if callable(value):
        return "func(...interface {}) interface {}"
    return type(value).__name__
