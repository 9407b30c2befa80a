"""Go's ``strconv.Quote`` (what ``%q`` prints), for the messages docker shows with quoted text.

Pure and import-light: the flag parser, platform and registry errors, store removal and the template
engine all quote the same way.
"""

from __future__ import annotations

_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def is_go_printable(ch: str) -> bool:
    """Go's ``strconv.IsPrint``: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return ch == " " or (ch.isprintable() and not ch.isspace())


def go_quote(text: str, *, ascii_only: bool = False, quote: str = '"') -> str:
    """``strconv.Quote`` (``QuoteToASCII`` with ``ascii_only``; ``QuoteRune`` with ``quote="'"``).

    Text is Go bytes read with ``surrogateescape``: an undecodable byte prints as ``\\xNN`` as Go prints
    invalid UTF-8; any other lone surrogate is the replacement rune.
    """
    out = [quote]
    for ch in text:
        cp = ord(ch)
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif 0xDC80 <= cp <= 0xDCFF:
            out.append(f"\\x{cp - 0xDC00:02x}")
        elif (cp < 0x80 or not ascii_only) and is_go_printable(ch):
            out.append(ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02x}")
        elif 0xD800 <= cp <= 0xDFFF:
            out.append("\\ufffd")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append(quote)
    return "".join(out)
