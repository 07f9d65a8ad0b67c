"""JavaScript's values as FluxOS computes with them: the one `JSON.stringify` and JS
number formatting of this code base, and the `Number()`/`String()`/truthiness rules.

What upstream signs and hashes is built with `JSON.stringify`: a gossip envelope commits
to `"1" + JSON.stringify(data) + String(timestamp)` (p2p.md §7.2), an app message to
`type + version + JSON.stringify(spec) + timestamp`. A verifier must rebuild that text
byte for byte from the parsed object (JS property order with array-index keys first,
JS number formatting, JS string escaping): a node that renders `5000.0` or orders keys
differently computes another hash. Specs are also coerced with `Number()`/`String()` and
tested by truthiness. All of it runs on Python JSON values (dict, list, str, int, float,
bool, None), with `UNDEFINED` for JS `undefined`.
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final


class _Undefined:
    """JS `undefined`: a missing property. Dropped from objects by `stringify`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()

# Doubles hold every integer below 2**53 exactly; past it JS numbers are floats.
_MAX_SAFE = 2**53
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL_LITERAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_RADIX_LITERAL = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")
_MAX_ARRAY_INDEX = 2**32 - 2
_SURROGATE = re.compile("[\ud800-\udfff]")
_encode_json_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def is_number(value: Any) -> bool:
    """`typeof value === 'number'` (Python's bool is an int, JS's is not)."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    """`Number.isInteger(value)`."""
    if not is_number(value):
        return False
    value = normalize_number(value)
    return isinstance(value, int) or (math.isfinite(value) and value.is_integer())


def normalize_number(value: int | float) -> int | float:
    """The JS double for a Python number: integral values below 2**53 as int, others float."""
    if isinstance(value, int):
        if -_MAX_SAFE < value < _MAX_SAFE:
            return value
        try:
            value = float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if math.isfinite(value) and value.is_integer() and abs(value) < _MAX_SAFE:
        return int(value)
    return value


def truthy(value: Any) -> bool:
    """JS truthiness: empty arrays and objects are true, NaN is false."""
    if value is None or value is UNDEFINED or value is False:
        return False
    if is_number(value):
        return value == value and value != 0  # NaN != NaN
    if isinstance(value, str):
        return value != ""
    return True


def number_to_string(value: int | float) -> str:
    """`String(value)` of a JS number: `Number.prototype.toString()` in base 10 (shortest
    round-trip digits, JS layout). A bool is not a number: TypeError."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    value = normalize_number(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value < 0:
        return "-" + number_to_string(-value)
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)  # decimal point after `point` digits
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    sign = "+" if n - 1 >= 0 else "-"
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{head}e{sign}{abs(n - 1)}"


def string_to_number(text: str) -> int | float:
    """`Number(string)`: whitespace-trimmed decimal, 0x/0o/0b literal or Infinity, else NaN."""
    text = text.strip(_JS_WHITESPACE)
    if not text:
        return 0
    if _RADIX_LITERAL.fullmatch(text):
        return normalize_number(int(text[2:], {"x": 16, "o": 8, "b": 2}[text[1].lower()]))
    if _DECIMAL_LITERAL.fullmatch(text):
        return normalize_number(float(text.replace("Infinity", "inf")))
    return math.nan


def to_number(value: Any) -> int | float:
    """`Number(value)`."""
    if type(value) is int and -_MAX_SAFE < value < _MAX_SAFE:
        return value  # the common case, already a JS-exact number
    if is_number(value):
        return normalize_number(value)
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return string_to_number(value)
    if isinstance(value, list):
        return string_to_number(to_string(value))
    return math.nan  # undefined, plain objects


def to_string(value: Any) -> str:
    """`String(value)`, as template literals render values in upstream's messages."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return number_to_string(value)
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, list):
        return ",".join(
            "" if item is None or item is UNDEFINED else to_string(item) for item in value
        )
    return "[object Object]"


def js_length(value: Any) -> int | None:
    """`value.length` for strings (UTF-16 code units) and arrays; None (undefined) otherwise."""
    if isinstance(value, str):
        if value.isascii():
            return len(value)
        return len(value.encode("utf-16-le", "surrogatepass")) // 2
    if isinstance(value, list):
        return len(value)
    return None


def is_array_index(key: str) -> bool:
    """Whether JS treats property `key` as an array index (0 … 2**32-2, no leading zero)."""
    return (
        isinstance(key, str)
        and _ARRAY_INDEX.fullmatch(key) is not None
        and int(key) <= _MAX_ARRAY_INDEX
    )


def own_keys(obj: dict[str, Any]) -> list[str]:
    """Property order of a JS object: array-index keys ascending, then insertion order."""
    keys = list(obj)
    for key in keys:
        if not isinstance(key, str) or key[:1].isdigit():
            break
    else:
        return keys  # the common case: no key can be an index
    indices = sorted((key for key in keys if is_array_index(key)), key=int)
    index_set = set(indices)
    return indices + [key for key in keys if key not in index_set]


def js_string(text: str) -> str:
    """A JSON string literal as `JSON.stringify` writes it: only `"`, `\\` and U+0000–U+001F
    escaped, lone surrogates as `\\uXXXX` (well-formed stringify, ES2019)."""
    quoted: str = _encode_json_string(text)
    if not text.isascii() and _SURROGATE.search(quoted):
        quoted = _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)
    return quoted


def stringify(value: Any) -> str:
    """`JSON.stringify(value)` with no indentation.

    Object members that are UNDEFINED are left out and array items become `null`, as JS
    does; non-finite numbers become `null`. A top-level UNDEFINED (JS answers undefined)
    or a value that is not JSON (a set, an object, a non-string key) raises TypeError.
    """
    if value is UNDEFINED:
        raise TypeError("JSON.stringify(undefined) is undefined, not text")
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def _write(value: Any, out: list[str]) -> None:
    kind = type(value)  # exact types first: this runs for every value that is signed
    if kind is str:
        out.append(js_string(value))
    elif kind is int and -_MAX_SAFE < value < _MAX_SAFE:
        out.append(str(value))
    elif kind is dict:
        _write_object(value, out)
    elif kind is list or kind is tuple:
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            if item is UNDEFINED:
                out.append("null")
            else:
                _write(item, out)
        out.append("]")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif is_number(value):
        finite = not isinstance(value, float) or math.isfinite(value)
        out.append(number_to_string(value) if finite else "null")
    elif isinstance(value, str):  # subclasses of the JSON types
        out.append(js_string(str(value)))
    elif isinstance(value, dict):
        _write_object(dict(value), out)
    elif isinstance(value, list | tuple):
        _write(list(value), out)
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON value")


def _write_object(value: dict[Any, Any], out: list[str]) -> None:
    out.append("{")
    first = True
    for key in own_keys(value):
        item = value[key]
        if item is UNDEFINED:
            continue
        if not isinstance(key, str):
            raise TypeError(f"object key {key!r} is not a string")
        if first:
            first = False
        else:
            out.append(",")
        out.append(js_string(key))
        out.append(":")
        _write(item, out)
    out.append("}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_int(text: str) -> int | float:
    return normalize_number(int(text))


def _parse_float(text: str) -> int | float:
    return normalize_number(float(text))


def parse_json(text: str | bytes) -> Any:
    """`JSON.parse(text)`: numbers become JS doubles, NaN/Infinity literals are rejected.

    Raises ValueError when the text is not JSON.
    """
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def as_parsed_json(value: Any) -> Any:
    """A Python JSON value with its numbers as `JSON.parse` would give them (5000.0 -> 5000).

    For bodies another parser has already decoded; raises ValueError past ~1000 levels.
    """
    try:
        return _as_parsed(value)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def _as_parsed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_parsed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_parsed(item) for item in value]
    if is_number(value):
        return normalize_number(value)
    return value


def ensure_string(value: Any) -> Any:
    """Upstream `ensureString`: strings unchanged, anything else through JSON.stringify
    (undefined stays undefined)."""
    if isinstance(value, str) or value is UNDEFINED:
        return value
    return stringify(value)


def ensure_boolean(value: Any) -> bool | _Undefined:
    """Upstream `ensureBoolean`: true/1/'1'/'true' and false/0/'0'/'false', else undefined."""
    if value is False or value in ("false", "0") or (is_number(value) and value == 0):
        return False
    if value is True or value in ("true", "1") or (is_number(value) and value == 1):
        return True
    return UNDEFINED


def ensure_array(value: Any) -> list[Any] | None:
    """Upstream `ensureObject` followed by `Array.isArray`: the array, or None if there is none.

    Strings are parsed as JSON (upstream falls back to querystring parsing, which
    never yields an array); other non-objects become `{}`.
    """
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = parse_json(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def is_decimal_limit(value: Any, decimals: int = 8) -> bool:
    """Upstream `isDecimalLimit`: a number whose rendered text has at most `decimals` decimals."""
    if type(value) is int and -_MAX_SAFE < value < _MAX_SAFE:
        return True  # rendered without a decimal point
    number = to_number(value)
    if isinstance(number, float) and math.isnan(number):
        return False
    text = ensure_string(value)
    if not isinstance(text, str):
        return False
    parts = text.split(".")
    return len(parts[1] if len(parts) > 1 else "") <= decimals


def js_mod(dividend: float, divisor: float) -> float:
    """The `%` operator: remainder with the dividend's sign, NaN for infinite dividends."""
    dividend, divisor = float(normalize_number(dividend)), float(normalize_number(divisor))
    if not math.isfinite(dividend) or divisor == 0 or math.isnan(divisor):
        return math.nan
    if math.isinf(divisor):
        return dividend
    return math.fmod(dividend, divisor)


def js_ceil(value: float) -> float:
    """`Math.ceil` without Python's OverflowError on infinities."""
    return float(math.ceil(value)) if math.isfinite(value) else value


def to_fixed(value: float, digits: int) -> str:
    """`Number.prototype.toFixed`: exact decimal value rounded half away from zero."""
    if math.isnan(value):
        return "NaN"
    if abs(value) >= 1e21 or math.isinf(value):
        return number_to_string(value)
    if value == 0:
        value = 0.0  # (-0).toFixed() has no sign
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
