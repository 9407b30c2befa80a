"""Go's fmt printing for Python values: ``go_sprint`` (%v), ``sprint``, ``sprintln`` and ``sprintf``.

Values map to Go values as described in ``gotemplate_values``. The output follows Go's fmt package:
flags ``+ - # 0 space``, width and precision (also ``*`` and ``[n]`` argument indexes), the verbs
``v s q x X d b o O c U t f F e E g G T %``, and its in-band error forms (``%!d(string=a)``,
``%!s(MISSING)``, ``%!(EXTRA int=1)``, ``%!(NOVERB)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from dockyard.goquote import go_quote, is_go_printable
from dockyard.render.gotemplate_values import (
    GoNil,
    Struct,
    go_object_fields,
    go_type_name,
    is_go_object,
)

__all__ = ["go_sprint", "sprint", "sprintln", "sprintf", "go_quote", "format_float_shortest"]


# --- strconv-like helpers -------------------------------------------------------------------------


def _can_backquote(s: str) -> bool:
    return all(ch != "`" and ch != "\ufeff" and (ch == "\t" or ord(ch) >= 0x20) and ch != "\x7f" for ch in s)


def _shortest_digits(v: float) -> tuple[str, int]:
    """The shortest decimal digits that round-trip ``abs(v)``, and the decimal point position."""
    text = repr(abs(v))
    mantissa, _, exp = text.partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    dp = len(int_part) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:
        return "0", 1
    return digits, dp


def _fmt_e(digits: str, dp: int, prec: int, e: str = "e") -> str:
    first = digits[0]
    rest = digits[1 : prec + 1].ljust(prec, "0")
    exp = dp - 1 if digits != "0" else 0
    sign = "-" if exp < 0 else "+"
    return f"{first}{'.' + rest if prec > 0 else ''}{e}{sign}{abs(exp):02d}"


def _fmt_f(digits: str, dp: int, prec: int) -> str:
    if digits == "0":
        whole = "0"
    elif dp > 0:
        whole = digits[:dp].ljust(dp, "0")
    else:
        whole = "0"
    if prec <= 0:
        return whole
    frac = []
    for i in range(prec):
        idx = dp + i
        frac.append(digits[idx] if 0 <= idx < len(digits) and digits != "0" else "0")
    return whole + "." + "".join(frac)


def format_float_shortest(v: float, fmt: str = "g") -> str:
    """strconv.FormatFloat(v, fmt, -1, 64) for fmt in 'g', 'e', 'f' (without the sign handling of fmt)."""
    neg = math.copysign(1.0, v) < 0
    if math.isinf(v):
        return "-Inf" if neg else "+Inf"
    if math.isnan(v):
        return "NaN"
    sign = "-" if neg else ""
    if v == 0:
        digits, dp = "0", 1
    else:
        digits, dp = _shortest_digits(v)
    if fmt in "eE":
        return sign + _fmt_e(digits, dp, len(digits) - 1, fmt)
    if fmt == "f":
        return sign + _fmt_f(digits, dp, max(len(digits) - dp, 0))
    exp = dp - 1
    if v != 0 and (exp < -4 or exp >= 6):  # shortest %g decides with precision 6, as Go does
        return sign + _fmt_e(digits, dp, len(digits) - 1, "E" if fmt == "G" else "e")
    if v == 0:
        return sign + "0"
    return sign + _fmt_f(digits, dp, max(len(digits) - dp, 0))


# --- the printer ------------------------------------------------------------------------------------


class _Flags:
    __slots__ = ("plus", "minus", "sharp", "space", "zero", "plus_v", "sharp_v", "wid", "prec")

    def __init__(self) -> None:
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid: int | None = None
        self.prec: int | None = None


class _Printer:
    def __init__(self) -> None:
        self.buf: list[str] = []
        self.f = _Flags()
        self.reordered = False
        self.good_arg_num = True

    # padding -----------------------------------------------------------------------------------
    def pad(self, s: str) -> None:
        f = self.f
        if f.wid is None or f.wid == 0:
            self.buf.append(s)
            return
        width = f.wid - len(s)
        if width <= 0:
            self.buf.append(s)
        elif f.minus:
            self.buf.append(s + " " * width)
        else:
            self.buf.append(("0" if f.zero else " ") * width + s)

    # primitives --------------------------------------------------------------------------------
    def fmt_bool(self, v: bool, verb: str, arg: Any) -> None:
        if verb in "tv":
            self.pad("true" if v else "false")
        else:
            self.bad_verb(verb, arg)

    def fmt_integer(self, v: int, verb: str, arg: Any) -> None:
        f = self.f
        if verb in "vd":
            self.fmt_int_base(v, 10, verb)
        elif verb == "b":
            self.fmt_int_base(v, 2, verb)
        elif verb in "oO":
            self.fmt_int_base(v, 8, verb)
        elif verb in "xX":
            self.fmt_int_base(v, 16, verb)
        elif verb == "c":
            self.pad(_rune(v))
        elif verb == "q":
            r = _rune(v)
            if f.sharp and _can_backquote(r) and r != "`":
                self.pad("`" + r + "`")
            else:
                self.pad(go_quote(r, ascii_only=f.plus, quote="'"))
        elif verb == "U":
            text = f"U+{v:04X}" if v >= 0 else f"U+{v & 0xFFFFFFFFFFFFFFFF:04X}"
            if f.sharp and 0 <= v <= 0x10FFFF and is_go_printable(chr(v)):
                text += " '" + chr(v) + "'"
            old_zero, f.zero = f.zero, False
            self.pad(text)
            f.zero = old_zero
        else:
            self.bad_verb(verb, arg)

    def fmt_int_base(self, v: int, base: int, verb: str) -> None:
        f = self.f
        negative = v < 0
        u = -v if negative else v
        if base == 10:
            digits = str(u)
        elif base == 16:
            digits = format(u, "X" if verb == "X" else "x")
        elif base == 8:
            digits = format(u, "o")
        else:
            digits = format(u, "b")
        prec = 0
        if f.prec is not None:
            prec = f.prec
            if prec == 0 and v == 0:
                old_zero, f.zero = f.zero, False
                self.pad("")
                f.zero = old_zero
                return
        elif f.zero and f.wid is not None and not f.minus:
            prec = f.wid
            if negative or f.plus or f.space:
                prec -= 1
        if len(digits) < prec:
            digits = "0" * (prec - len(digits)) + digits
        if base == 8 and verb == "O":
            digits = "0o" + digits
        elif f.sharp:
            if base == 8 and not digits.startswith("0"):
                digits = "0" + digits
            elif base == 16:
                digits = ("0X" if verb == "X" else "0x") + digits
            elif base == 2:
                digits = "0b" + digits
        if negative:
            digits = "-" + digits
        elif f.plus:
            digits = "+" + digits
        elif f.space:
            digits = " " + digits
        old_zero, f.zero = f.zero, False
        self.pad(digits)
        f.zero = old_zero

    def fmt_float(self, v: float, verb: str, arg: Any) -> None:
        f = self.f
        if verb in "vgG":
            gverb = "g" if verb == "v" else verb
            num = format_float_shortest(v, gverb) if f.prec is None else _c_float(v, f.prec or 1, gverb)
            if f.sharp:
                num = _sharp_g(num, 6 if f.prec is None else f.prec)
        elif verb in "eEfF":
            prec = 6 if f.prec is None else f.prec
            num = _c_float(v, prec, "f" if verb == "F" else verb)
        elif verb in "xX":
            num = _hex_float(v, f.prec, verb)
        else:
            self.bad_verb(verb, arg)
            return
        if num[0] not in "+-":
            num = "+" + num
        if f.space and num[0] == "+" and not f.plus:
            num = " " + num[1:]
        if num[1:2] in ("I", "N"):
            old_zero, f.zero = f.zero, False
            if num[1] == "N" and not f.space and not f.plus:
                num = num[1:]
            self.pad(num)
            f.zero = old_zero
            return
        if f.plus or num[0] != "+":
            if f.zero and not f.minus and f.wid is not None and f.wid > len(num):
                self.buf.append(num[0] + "0" * (f.wid - len(num)) + num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    def fmt_string(self, s: str, verb: str, arg: Any) -> None:
        f = self.f
        if verb == "v":
            if f.sharp_v:
                self.pad(go_quote(s))
            else:
                self.pad(self.truncate(s))
        elif verb == "s":
            self.pad(self.truncate(s))
        elif verb in "xX":
            self.fmt_hex_bytes(s.encode("utf-8", "surrogateescape"), verb)
        elif verb == "q":
            s = self.truncate(s)
            if f.sharp and _can_backquote(s):
                self.pad("`" + s + "`")
            else:
                self.pad(go_quote(s, ascii_only=f.plus))
        else:
            self.bad_verb(verb, arg)

    def truncate(self, s: str) -> str:
        if self.f.prec is not None and len(s) > self.f.prec:
            return s[: self.f.prec]
        return s

    def fmt_hex_bytes(self, b: bytes, verb: str) -> None:
        f = self.f
        if f.prec is not None and f.prec < len(b):
            b = b[: f.prec]
        digits = "0123456789ABCDEF" if verb == "X" else "0123456789abcdef"
        prefix = ("0X" if verb == "X" else "0x") if f.sharp else ""
        parts: list[str] = []
        for i, byte in enumerate(b):
            if f.space and i > 0:
                parts.append(" ")
            if f.sharp and (f.space or i == 0):
                parts.append(prefix)
            parts.append(digits[byte >> 4] + digits[byte & 0xF])
        text = "".join(parts)
        if not b and f.wid is None:
            return
        self.pad(text)

    def print_elements(self, items: Iterable[Any], print_one: Callable[[Any], None]) -> None:
        """A slice as %v prints it: ``[a b c]``."""
        self.buf.append("[")
        for i, item in enumerate(items):
            if i:
                self.buf.append(" ")
            print_one(item)
        self.buf.append("]")

    def fmt_bytes(self, b: bytes, verb: str, arg: Any, depth: int) -> None:
        if verb in "vd":
            self.print_elements(b, lambda byte: self.fmt_int_base(byte, 10, "d"))
        elif verb == "s":
            self.pad(self.truncate(b.decode("utf-8", "replace")))
        elif verb in "xX":
            self.fmt_hex_bytes(b, verb)
        elif verb == "q":
            self.fmt_string(b.decode("utf-8", "replace"), "q", arg)
        else:
            self.print_elements(b, lambda byte: self.print_value(byte, verb, depth + 1))

    def bad_verb(self, verb: str, arg: Any) -> None:
        self.buf.append("%!" + verb + "(")
        self._print_typed(arg)
        self.buf.append(")")

    def _print_typed(self, arg: Any) -> None:
        """``TYPE=value`` (or ``<nil>``), as Go's fmt reports a bad or extra argument."""
        if arg is None:
            self.buf.append("<nil>")
        else:
            self.buf.append(go_type_name(arg) + "=")
            self.print_arg(arg, "v")

    # dispatch ----------------------------------------------------------------------------------
    def handle_methods(self, arg: Any, verb: str) -> bool:
        if verb not in "vsxXq" or self.f.sharp_v or not is_go_object(arg):
            return False
        stringer = getattr(arg, "String", None)
        if not callable(stringer):
            return False
        self.fmt_string(str(stringer()), verb, arg)
        return True

    def print_arg(self, arg: Any, verb: str) -> None:
        if arg is None:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb, None)
            return
        if verb == "T":
            self.fmt_string(go_type_name(arg), "s", arg)
            return
        self.print_value(arg, verb, 0)

    def print_value(self, value: Any, verb: str, depth: int) -> None:
        if depth > 0 and value is None:
            if verb == "v":
                self.buf.append("<nil>")
            else:
                self.bad_verb(verb, None)
            return
        if isinstance(value, bool):
            self.fmt_bool(value, verb, value)
        elif isinstance(value, int):
            self.fmt_integer(value, verb, value)
        elif isinstance(value, float):
            self.fmt_float(value, verb, value)
        elif isinstance(value, str):
            self.fmt_string(value, verb, value)
        elif isinstance(value, (bytes, bytearray)):
            self.fmt_bytes(bytes(value), verb, value, depth)
        elif isinstance(value, GoNil):
            if value.kind == "slice":
                self.buf.append("[]")
            elif value.kind == "map":
                self.buf.append("map[]")
            elif verb == "v":
                self.pad("<nil>")
            else:
                self.bad_verb(verb, value)
        elif isinstance(value, Struct):
            self.print_struct(list(value.items()), verb, depth)
        elif isinstance(value, dict):
            self.buf.append("map[")
            for i, key in enumerate(sort_keys(value)):
                if i:
                    self.buf.append(" ")
                self.print_value(key, verb, depth + 1)
                self.buf.append(":")
                self.print_value(value[key], verb, depth + 1)
            self.buf.append("]")
        elif isinstance(value, (list, tuple)):
            self.print_elements(value, lambda item: self.print_value(item, verb, depth + 1))
        elif is_go_object(value):
            if self.handle_methods(value, verb):
                return
            self.buf.append("&")
            self.print_struct(go_object_fields(value), verb, depth)
        elif callable(value):
            self.pad("0x0")  # Go prints a func's address; there is none to give
        else:
            self.fmt_string(str(value), verb, value)

    def print_struct(self, fields: list[tuple[str, Any]], verb: str, depth: int) -> None:
        self.buf.append("{")
        for i, (name, item) in enumerate(fields):
            if i:
                self.buf.append(" ")
            if self.f.plus_v:
                self.buf.append(name + ":")
            self.print_value(item, verb, depth + 1)
        self.buf.append("}")

    # Printf -------------------------------------------------------------------------------------
    def do_printf(self, fmt: str, args: tuple[Any, ...]) -> None:
        end = len(fmt)
        arg_num = 0
        self.reordered = False
        i = 0
        while i < end:
            self.good_arg_num = True
            last = i
            while i < end and fmt[i] != "%":
                i += 1
            if i > last:
                self.buf.append(fmt[last:i])
            if i >= end:
                break
            i += 1
            self.f = f = _Flags()
            while i < end:
                c = fmt[i]
                if c == "#":
                    f.sharp = True
                elif c == "0":
                    f.zero = not f.minus  # zero padding only ever goes on the left
                elif c == "+":
                    f.plus = True
                elif c == "-":
                    f.minus = True
                    f.zero = False
                elif c == " ":
                    f.space = True
                else:
                    break
                i += 1
            arg_num, i, after_index = self.arg_number(arg_num, fmt, i, len(args))
            if i < end and fmt[i] == "*":
                i += 1
                f.wid, arg_num = _int_from_arg(args, arg_num)
                if f.wid is None:
                    self.buf.append("%!(BADWIDTH)")
                elif f.wid < 0:
                    f.wid = -f.wid
                    f.minus = True
                    f.zero = False
                after_index = False
            else:
                f.wid, i = _parse_num(fmt, i, end)
                if after_index and f.wid is not None:
                    self.good_arg_num = False
            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    self.good_arg_num = False
                arg_num, i, after_index = self.arg_number(arg_num, fmt, i, len(args))
                if i < end and fmt[i] == "*":
                    i += 1
                    f.prec, arg_num = _int_from_arg(args, arg_num)
                    if f.prec is not None and f.prec < 0:
                        f.prec = None
                    if f.prec is None:
                        self.buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    f.prec, i = _parse_num(fmt, i, end)
                    if f.prec is None:
                        f.prec = 0
            if not after_index:
                arg_num, i, after_index = self.arg_number(arg_num, fmt, i, len(args))
            if i >= end:
                self.buf.append("%!(NOVERB)")
                break
            verb = fmt[i]
            i += 1
            if verb == "%":
                self.buf.append("%")
            elif not self.good_arg_num:
                self.buf.append("%!" + verb + "(BADINDEX)")
            elif arg_num >= len(args):
                self.buf.append("%!" + verb + "(MISSING)")
            else:
                if verb == "v":
                    f.sharp_v, f.sharp = f.sharp, False
                    f.plus_v, f.plus = f.plus, False
                self.print_arg(args[arg_num], verb)
                arg_num += 1
        if not self.reordered and arg_num < len(args):
            self.f = _Flags()
            self.buf.append("%!(EXTRA ")
            for n, arg in enumerate(args[arg_num:]):
                if n:
                    self.buf.append(", ")
                self._print_typed(arg)
            self.buf.append(")")

    def arg_number(self, arg_num: int, fmt: str, i: int, num_args: int) -> tuple[int, int, bool]:
        """Parse an explicit ``[n]`` argument index at ``i``: (arg number, new position, found)."""
        if i >= len(fmt) or fmt[i] != "[":
            return arg_num, i, False
        self.reordered = True
        close = fmt.find("]", i + 1)
        if len(fmt) - i < 3 or close < 0:
            self.good_arg_num = False
            return arg_num, i + 1, False
        text = fmt[i + 1 : close]
        ok = text.isascii() and text.isdigit()
        index = int(text) - 1 if ok else -1
        if ok and 0 <= index < num_args:
            return index, close + 1, True
        self.good_arg_num = False
        return arg_num, close + 1, ok


def _rune(v: int) -> str:
    if 0 <= v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF:
        return chr(v)
    return "\ufffd"


def _c_float(v: float, prec: int, verb: str) -> str:
    if math.isinf(v):
        return "-Inf" if v < 0 else "+Inf"
    if math.isnan(v):
        return "NaN"
    return format(v, f".{prec}{verb}")


def _sharp_g(num: str, digits: int) -> str:
    """%#g: keep a decimal point and pad with zeros to the precision's count of significant digits."""
    if num[-1:] not in "0123456789" or num.lstrip("+-")[:1] in ("I", "N"):
        return num
    mantissa, sep, exp = num.partition("e") if "e" in num else num.partition("E")
    significant = len(mantissa.lstrip("+-").replace(".", "").lstrip("0")) or 1
    if "." not in mantissa:
        mantissa += "."
    if digits > significant:
        mantissa += "0" * (digits - significant)
    return mantissa + sep + exp


def _hex_float(v: float, prec: int | None, verb: str) -> str:
    """strconv's 'x' format: 0x1.cp+01 (shortest mantissa unless a precision is given)."""
    if math.isinf(v) or math.isnan(v):
        return _c_float(v, 0, "f")
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    if v == 0:
        bits, exp = 0, 0
    else:
        m, e = math.frexp(abs(v))  # abs(v) = m * 2**e, 0.5 <= m < 1
        bits, exp = int(m * (1 << 53)), e - 1  # 53 bits with the leading 1 on top
    lead = bits >> 52
    frac = format(bits & ((1 << 52) - 1), "013x").rstrip("0") if bits else ""
    if prec is not None and len(frac) > prec:
        drop = 4 * (len(frac) - prec)
        whole = (lead << (4 * len(frac))) | int(frac, 16)
        q, r = divmod(whole, 1 << drop)
        half = 1 << (drop - 1)
        if r > half or (r == half and q & 1):
            q += 1
        if q >> (4 * prec) >= 2:  # rounding carried: 2.0 becomes 1.0 with a larger exponent
            q >>= 1
            exp += 1
        lead = q >> (4 * prec)
        frac = format(q & ((1 << (4 * prec)) - 1), f"0{prec}x") if prec else ""
    elif prec is not None:
        frac = frac.ljust(prec, "0")
    out = f"{sign}0x{lead}{'.' + frac if frac else ''}p{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    return out.upper() if verb == "X" else out


def _parse_num(fmt: str, i: int, end: int) -> tuple[int | None, int]:
    start = i
    while i < end and fmt[i].isdigit() and fmt[i] < "\x80":
        i += 1
    if i == start:
        return None, i
    num = int(fmt[start:i])
    if num > 1_000_000:
        return None, i
    return num, i


def _int_from_arg(args: tuple[Any, ...], arg_num: int) -> tuple[int | None, int]:
    if arg_num >= len(args):
        return None, arg_num
    value = args[arg_num]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 1_000_000:
        return value, arg_num + 1
    return None, arg_num + 1


def sort_keys(mapping: dict[Any, Any]) -> list[Any]:
    """Map keys in Go's fmtsort order: numbers numerically, strings by bytes, mixed kinds by kind."""

    def key(k: Any) -> tuple[int, Any]:
        if isinstance(k, bool):
            return (0, k)
        if isinstance(k, (int, float)):
            return (1, k)
        if isinstance(k, str):
            return (2, k.encode("utf-8", "surrogateescape"))
        return (3, str(k))

    return sorted(mapping, key=key)


# --- public entry points --------------------------------------------------------------------------


def go_sprint(value: Any) -> str:
    """Go's ``fmt.Sprint(value)`` of one value: its %v form."""
    p = _Printer()
    p.print_arg(value, "v")
    return "".join(p.buf)


def sprint(*args: Any) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    p = _Printer()
    prev_string = False
    for n, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if n > 0 and not is_string and not prev_string:
            p.buf.append(" ")
        p.f = _Flags()
        p.print_arg(arg, "v")
        prev_string = is_string
    return "".join(p.buf)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: operands separated by spaces, then a newline."""
    p = _Printer()
    for n, arg in enumerate(args):
        if n:
            p.buf.append(" ")
        p.f = _Flags()
        p.print_arg(arg, "v")
    p.buf.append("\n")
    return "".join(p.buf)


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf."""
    p = _Printer()
    p.do_printf(fmt, args)
    return "".join(p.buf)
