"""dockyard._record: the dataclass stand-in behaves like dataclasses for the features dockyard uses."""

from __future__ import annotations

import dataclasses
import pickle
from typing import ClassVar

import pytest

from dockyard._record import FrozenInstanceError, dataclass, field, record_fields, replace


@dataclass(frozen=True, order=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default=())
    KIND: ClassVar[str] = "point"


@dataclass
class Bag:
    name: str
    items: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Slim:
    a: int
    b: str = "b"


@dataclass(eq=False)
class Ident:
    v: int


@dataclass
class Post:
    a: int
    b: int = 0

    def __post_init__(self) -> None:
        self.b = self.a * 2


def test_init_defaults_repr_eq_hash() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags) == (1, 0, ())
    assert repr(p) == "Point(x=1, y=0, tags=())"
    assert p == Point(1, 0) and p != Point(2)
    assert hash(p) == hash(Point(1)) and {p, Point(1)} == {p}
    assert Point.KIND == "point" and Point.y == 0
    assert Point(x=3, tags=("a",)).tags == ("a",)
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


def test_order_like_dataclasses() -> None:
    assert sorted([Point(2), Point(1, 5), Point(1, 2)]) == [Point(1, 2), Point(1, 5), Point(2)]
    assert Point(1) < Point(1, 1) <= Point(1, 1)
    with pytest.raises(TypeError):
        Point(1) < 3  # type: ignore[operator]


def test_frozen() -> None:
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x  # type: ignore[misc]


def test_mutable_default_factory_and_unhashable() -> None:
    a, b = Bag("a"), Bag("b")
    a.items.append(1)
    assert b.items == [] and a.items == [1]
    assert a == Bag("a", [1])
    with pytest.raises(TypeError):
        hash(a)


def test_slots() -> None:
    s = Slim(1)
    assert not hasattr(s, "__dict__") and Slim.__slots__ == ("a", "b")
    assert s == Slim(1, "b") and hash(s) == hash(Slim(1))
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(FrozenInstanceError):
        s.a = 3  # type: ignore[misc]


def test_eq_false_keeps_identity() -> None:
    assert Ident(1) != Ident(1)
    i = Ident(1)
    assert {i: 1}[i] == 1


def test_post_init() -> None:
    assert Post(2).b == 4


def test_replace_both_ways() -> None:
    p = Point(1, 2, ("t",))
    assert replace(p, y=5) == Point(1, 5, ("t",))
    assert dataclasses.replace(p, x=9) == Point(9, 2, ("t",))
    assert [f.name for f in record_fields(p)] == ["x", "y", "tags"]


def test_field_order_rule() -> None:
    with pytest.raises(TypeError):

        @dataclass
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]
