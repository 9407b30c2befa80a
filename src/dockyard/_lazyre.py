"""Regular expressions compiled on first use.

``import re`` and compiling dockyard's grammars (references, digests) cost a few milliseconds at start-up
that a listing never needs. ``lazy_compile`` stands in for ``re.compile`` at module level: the pattern is
compiled, and ``re`` imported, the first time one of its methods is looked up.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

ASCII = 256  # re.ASCII, without importing re for it


class _LazyPattern:
    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, source: str, flags: int) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> object:
        # Only reached for the Pattern's own attributes (match, fullmatch, sub ...), never for the slots.
        compiled = self._compiled
        if compiled is None:
            import re

            compiled = self._compiled = re.compile(self._source, self._flags)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_compile({self._source!r}, {self._flags})"


def lazy_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, deferred until the pattern is used."""
    return _LazyPattern(pattern, flags)  # type: ignore[return-value]
