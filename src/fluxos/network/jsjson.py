"""JavaScript's `JSON.stringify` and `Number.prototype.toString`, reproduced exactly.

Signed peer messages commit to the sender's `JSON.stringify(data)`, so a verifier must
rebuild that text byte for byte from the parsed object: JS property order (array-index
keys first), JS number formatting and JS string escaping (p2p.md §7.2).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_MAX_ARRAY_INDEX = 2**32 - 2
_MAX_SAFE_INTEGER = 2**53
# the C implementation behind json.dumps(ensure_ascii=False): escapes only '"', '\\' and
# U+0000-U+001F, exactly as JS does
_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]
_SURROGATE = re.compile("[\ud800-\udfff]")


def js_number(value: int | float) -> str:
    """`String(value)` for a JS number (ECMAScript Number::toString, radix 10)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return str(value)
        value = float(value)  # JS holds integers beyond 2**53 as doubles
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    digits, point = _shortest_digits(abs(value))
    return sign + _format_js(digits, point)


def _shortest_digits(value: float) -> tuple[str, int]:
    """(digits, n): value = 0.digits × 10**n with the shortest round-trip digits."""
    text = repr(value)  # Python's repr is the shortest round-trip form, as JS requires
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    if fraction == "0":
        fraction = ""
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0)
    if whole.strip("0") == "":  # 0.000123 → leading zeros of the fraction move the point
        stripped = fraction.lstrip("0")
        point = (int(exponent) if exponent else 0) - (len(fraction) - len(stripped))
        digits = stripped
    digits = digits.rstrip("0")
    return digits, point


def _format_js(digits: str, n: int) -> str:
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    exponent = n - 1
    sign = "+" if exponent >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(exponent)}"


def is_array_index(key: str) -> bool:
    """Whether JS treats `key` as an integer index (ordered first, ascending)."""
    if not key or not key.isdigit() or (key[0] == "0" and key != "0"):
        return False
    return int(key) <= _MAX_ARRAY_INDEX


def js_key_order(keys: list[str]) -> list[str]:
    """Keys in JS own-property order: array indices ascending, then insertion order."""
    indices = [key for key in keys if is_array_index(key)]
    if not indices:
        return keys
    indices.sort(key=int)
    return indices + [key for key in keys if not is_array_index(key)]


def js_string(value: str) -> str:
    """A JSON string literal as JS writes it (lone surrogates escaped, ES2019)."""
    encoded: str = _encode_string(value)
    if not value.isascii() and _SURROGATE.search(value):
        encoded = "".join(
            f"\\u{ord(ch):04x}" if "\ud800" <= ch <= "\udfff" else ch for ch in encoded
        )
    return encoded


def js_stringify(value: Any) -> str:
    """`JSON.stringify(value)` (compact) for values parsed from JSON."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(js_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(js_number(value))
    elif isinstance(value, float):
        out.append(js_number(value) if math.isfinite(value) else "null")
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key in js_key_order(list(value)):
            if not first:
                out.append(",")
            first = False
            out.append(js_string(str(key)))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot serialise {type(value).__name__} as JSON")
