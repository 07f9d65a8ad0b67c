"""The value coercions FluxOS applies to request values before they become RPC params.

Upstream names them `ensureNumber`, `ensureBoolean`, `ensureObject` and `ensureString`
(spec daemon.md §1: N, B, O, S). They are kept, with one change: where upstream lets a
value it cannot convert through as `null` (NaN, an unknown boolean word) or mangles it
(a bare word parsed as a query string), we refuse it with a message naming the
parameter, so a caller learns what was wrong instead of reading fluxd's type error.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fluxos.errors import BadParameter
from fluxos.wire.bodies import parse_qs
from fluxos.wire.jsvalues import string_to_number

_MAX_SAFE_INTEGER = 2**53 - 1
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def number(name: str, value: Any) -> int | float:
    """N(x): JavaScript `Number()` — `"12"`→12, `"1e3"`→1000, `"0x10"`→16, `""`→0.

    Integral results are ints (JSON `12`, not `12.0`, as JavaScript prints them).
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        result = value
    elif value is None:
        return 0
    elif isinstance(value, str):
        result = _parse_js_number(name, value)
    else:
        raise BadParameter(f"{name} must be a number, got {json.dumps(value)}")
    if not math.isfinite(result):
        raise BadParameter(f"{name} must be a finite number, got {value!r}")
    if result.is_integer() and abs(result) <= _MAX_SAFE_INTEGER:
        return int(result)
    return result


def _parse_js_number(name: str, text: str) -> float:
    result = float(string_to_number(text))
    if math.isnan(result):
        raise BadParameter(f"{name} must be a number, got {text!r}")
    return result


def boolean(name: str, value: Any) -> bool:
    """B(x): `true|"true"|1|"1"` → true, `false|"false"|0|"0"` → false (any letter case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise BadParameter(f"{name} must be true or false (or 1 or 0), got {value!r}")


def boolean_text(name: str, value: Any) -> str:
    """A boolean sent as the string `"true"`/`"false"`, for fluxd calls that read it with
    `get_str` (startdeterministicfluxnode's lockwallet) and throw on a JSON boolean."""
    return "true" if boolean(name, value) else "false"


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")  # as JSON.parse: no NaN, no Infinity


def json_object(name: str, value: Any) -> dict[str, Any] | list[Any]:
    """O(x): an object or array as is; text parsed as JSON, else as a query string (`a=1&b=2`).

    Upstream turns anything else into `{}` (a bare word `abc` became `{"abc": ""}`); we
    refuse it, naming the parameter.
    """
    if isinstance(value, dict | list):
        return value
    if value is None:
        return {}
    if not isinstance(value, str):
        raise BadParameter(f"{name} must be a JSON object or array, got {json.dumps(value)}")
    text = value.strip()
    if text == "":
        return {}
    try:
        parsed = json.loads(text, parse_constant=_not_json)
    except ValueError:
        if "=" in text:
            return parse_qs(text)
        raise BadParameter(
            f"{name} must be a JSON object or array (or a query string a=1&b=2), got {value!r}"
        ) from None
    if isinstance(parsed, dict | list):
        return parsed
    raise BadParameter(f"{name} must be a JSON object or array, got {value!r}")


def text(name: str, value: Any) -> str:
    """S(x): strings unchanged, anything else JSON-encoded."""
    del name
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def raw(name: str, value: Any) -> Any:
    """The value as the request carried it (a path or query value is a string)."""
    del name
    return value


def comma_list(name: str, value: Any) -> list[Any]:
    """A JSON array as is, else comma-separated text split into a list (`a,b` → `[a, b]`)."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            parsed = json_object(name, stripped)
            if isinstance(parsed, list):
                return parsed
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return [text(name, value)]


def one_or_many(name: str, value: Any) -> list[Any]:
    """A single value wrapped in a list; a list (or JSON array text) kept as a list."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.strip().startswith("["):
        return comma_list(name, value)
    return [value]
