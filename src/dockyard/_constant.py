"""A light stand-in for ``enum.Enum`` on the start-up path.

``enum`` would be imported by nothing else on the ``images`` path, and it costs a couple of ms of start-up.
A subclass of ``Constant`` gets its members with ``define``; members have ``name`` and ``value`` as an
Enum member has them, are compared by identity, and stay the one member through copy and pickle.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


class Constant:
    __slots__ = ("name", "value")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {self.value!r}>"

    def __reduce__(self) -> tuple[object, ...]:
        return getattr, (type(self), self.name)

    @classmethod
    def define(cls, members: Iterable[tuple[str, str]]) -> None:
        for name, value in members:
            setattr(cls, name, cls(name, value))
