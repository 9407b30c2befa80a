"""Docker's tabwriter: elastic tabstops exactly as the docker CLI aligns its tables.

docker/cli carries a fork of Go's ``text/tabwriter`` and always builds it with minwidth 10, tabwidth 1,
padding 3, space padding and no flags. The one change from Go is that a cell's width is its display width
(``go-runewidth``), so East-Asian wide characters take two columns.

Go's rules, reproduced here:
- Text is split into cells terminated by TAB (or VT); a line break (LF or FF) ends the line's last cell.
- Only TAB-terminated cells belong to a column; the last cell of a line never does and is never padded.
- A column *block* is a run of consecutive lines that all have a terminated cell in that column. Each block
  gets its own width, max(minwidth, widest cell + padding), so a line with fewer cells splits the columns
  to its right into separate blocks.
- FF acts as a newline that also ends every block.
"""

from __future__ import annotations

import unicodedata
from .._record import dataclass

MIN_WIDTH = 10
PADDING = 3
PAD_CHAR = " "

_CELL_TERMINATORS = frozenset("\t\v")
_LINE_BREAKS = frozenset("\n\f")


def _rune_width(ch: str) -> int:
    """Width of one code point as go-runewidth counts it outside an East-Asian locale."""
    cp = ord(ch)
    if cp < 0x20 or 0x7F <= cp <= 0x9F or cp == 0xAD:
        return 0
    if cp < 0x300:
        return 1
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def _extends_cluster(prev: str, ch: str) -> bool:
    """Whether ``ch`` continues the grapheme cluster that ``prev`` belongs to (a close approximation of
    the uniseg rules go-runewidth uses: combining marks, joiners, variation selectors, emoji modifiers)."""
    cp = ord(ch)
    if prev == "\u200d":  # a zero-width joiner glues the next symbol to its cluster
        return True
    if cp == 0x200D or 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return True
    return unicodedata.category(ch) in ("Mn", "Me", "Mc")


def display_width(text: str) -> int:
    """Terminal columns ``text`` occupies: per grapheme cluster, the width of its first non-zero-width
    code point (wide and full-width characters count 2, controls and combining marks 0)."""
    width = 0
    cluster_width = 0
    prev = ""
    regional_pending = False
    for ch in text:
        cp = ord(ch)
        is_regional = 0x1F1E6 <= cp <= 0x1F1FF
        if prev and (_extends_cluster(prev, ch) or (is_regional and regional_pending)):
            if cluster_width == 0:
                cluster_width = _rune_width(ch)
            regional_pending = False
        else:
            width += cluster_width
            cluster_width = _rune_width(ch)
            regional_pending = is_regional
        prev = ch
    return width + cluster_width


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    width: int


@dataclass(slots=True)
class _Line:
    cells: list[_Cell]
    ends_section: bool  # terminated by FF, which closes every column block
    newline: bool  # terminated by a line break (the final line of the input may not be)


def _split(text: str) -> list[_Line]:
    lines: list[_Line] = []
    cells: list[_Cell] = []
    start = 0
    for i, ch in enumerate(text):
        if ch in _CELL_TERMINATORS or ch in _LINE_BREAKS:
            segment = text[start:i]
            cells.append(_Cell(segment, display_width(segment)))
            start = i + 1
            if ch in _LINE_BREAKS:
                lines.append(_Line(cells, ends_section=ch == "\f", newline=True))
                cells = []
    rest = text[start:]
    if rest:
        cells.append(_Cell(rest, display_width(rest)))
    if cells:
        lines.append(_Line(cells, ends_section=True, newline=False))
    return lines


def _column_widths(lines: list[_Line]) -> list[list[int]]:
    """Width of every column cell of every line: the widest cell of its column block, plus padding."""
    widths: list[list[int]] = [[0] * (len(line.cells) - 1) if line.cells else [] for line in lines]
    max_columns = max((len(w) for w in widths), default=0)
    for column in range(max_columns):
        i = 0
        while i < len(lines):
            if len(widths[i]) <= column:
                i += 1
                continue
            block_start = i
            width = MIN_WIDTH
            while True:
                width = max(width, lines[i].cells[column].width + PADDING)
                ends_section = lines[i].ends_section
                i += 1
                if ends_section or i >= len(lines) or len(widths[i]) <= column:
                    break
            for j in range(block_start, i):
                widths[j][column] = width
    return widths


def tabulate(text: str) -> str:
    """Align TAB-terminated cells of ``text`` the way docker's table output does."""
    lines = _split(text)
    widths = _column_widths(lines)
    out: list[str] = []
    for line, line_widths in zip(lines, widths):
        for j, cell in enumerate(line.cells):
            out.append(cell.text)
            if j < len(line_widths):
                out.append(PAD_CHAR * (line_widths[j] - cell.width))
        if line.newline:
            out.append("\n")
    return "".join(out)


class TabWriter:
    """Buffering writer with Go's Write/Flush shape; output is produced on ``flush``."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> None:
        self._parts.append(text)

    def flush(self) -> str:
        text = "".join(self._parts)
        self._parts.clear()
        return tabulate(text)
