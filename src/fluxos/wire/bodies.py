"""Request bodies and query strings the way FluxOS clients send them.

Upstream reads every POST body raw and turns it into an object (`ensureObject`): JSON first,
then a `qs`-style query string (bracket notation builds nested objects), and anything that
is not an object becomes `{}`. The official UI sends `qs.stringify(...)` bodies, docs and
CLIs send JSON as text/plain; we accept both whatever the Content-Type header says.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote_plus

MAX_QS_PARAMS = 1000  # qs's parameterLimit
MAX_QS_DEPTH = 5  # qs's depth: deeper brackets stay part of the key
QS_ARRAY_LIMIT = 20
"""qs's arrayLimit as upstream's `qs ~6.14.0` resolves today (6.14.3): an array holds at most
20 items and indices below 20; past that it stays an object keyed by index."""
_BRACKET = re.compile(r"\[([^\[\]]*)\]")


class NestedTooDeep(ValueError):
    """JSON nested deeper than the parser goes; the API edge answers a parameter error."""


def ensure_object(raw: bytes | str | None, what: str = "request body") -> Any:
    """Parse a body as JSON, else as a query string; a non-object result becomes `{}`.

    JSON `null` is kept as `None` (upstream lets it through); callers that need an
    object check for that and answer with an error naming the body. JSON nested deeper
    than the parser's limit raises `NestedTooDeep` naming `what` (a body, a header).
    """
    if raw is None:
        return {}
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if not text.strip():
        return {}
    try:
        value = json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise NestedTooDeep(
            f"{what} is JSON nested too deeply (the limit is about 1,000 levels)"
        ) from None
    except ValueError:
        value = parse_qs(text)
    if value is None or isinstance(value, dict | list):
        return value
    return {}


def _not_json(name: str) -> Any:
    # Python's json reads NaN, Infinity and -Infinity; JSON.parse refuses them, and
    # upstream then reads the body as a query string (a spec becomes one odd key).
    raise ValueError(f"{name} is not JSON")


def parse_qs(text: str) -> dict[str, Any]:
    """Parse a query string with qs's defaults: `+` is a space, brackets nest, repeats collect.

    Like qs, only the first 1,000 pieces count, and the split itself stops there: a body of
    millions of `a&a&…` never becomes a list of millions of strings.
    """
    result: dict[str, Any] = {}
    pieces = text[1:] if text.startswith("?") else text
    for pair in pieces.split("&", MAX_QS_PARAMS)[:MAX_QS_PARAMS]:
        if not pair:
            continue
        key_raw, sep, value_raw = pair.partition("=")
        key = unquote_plus(key_raw)
        value = unquote_plus(value_raw) if sep else ""
        if not key:
            continue
        _assign(result, _split_key(key), value)
    return {k: _compact_arrays(v) for k, v in result.items()}


def _split_key(key: str) -> list[str]:
    head, bracket, _ = key.partition("[")
    if not bracket or not head:
        return [key]
    parts = [head]
    rest = key[len(head) :]
    pos = 0
    for match in _BRACKET.finditer(rest):
        if match.start() != pos or len(parts) > MAX_QS_DEPTH:
            break
        parts.append(match.group(1))
        pos = match.end()
    if pos < len(rest):
        parts.append(rest[pos:])  # qs keeps the unparsed remainder as one literal segment
    return parts


def _assign(target: dict[str, Any], path: list[str], value: str) -> None:
    node = target
    for index, part in enumerate(path):
        key = part if part != "" else str(_next_index(node))
        if index == len(path) - 1:
            existing = node.get(key)
            if existing is None:
                node[key] = value
            elif isinstance(existing, list):
                if len(existing) < QS_ARRAY_LIMIT:
                    existing.append(value)
                else:  # the 21st repeat turns the list into an object
                    node[key] = {str(i): item for i, item in enumerate([*existing, value])}
            elif isinstance(existing, dict):
                existing[str(_next_index(existing))] = value
            else:
                node[key] = [existing, value]
            return
        child = node.get(key)
        if not isinstance(child, dict):
            if child is None:
                child = {}
            elif isinstance(child, list):
                child = {str(i): v for i, v in enumerate(child)}
            else:
                child = {"0": child}
            node[key] = child
        node = child


def _next_index(node: dict[str, Any]) -> int:
    indices = [int(k) for k in node if k.isdigit()]
    return max(indices) + 1 if indices else 0


def _compact_arrays(value: Any) -> Any:
    """qs turns objects keyed by indices below 20 into arrays, compacting gaps."""
    if not isinstance(value, dict):
        return value
    converted = {k: _compact_arrays(v) for k, v in value.items()}
    if converted and all(k.isdigit() and int(k) < QS_ARRAY_LIMIT for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def stringify_qs(value: dict[str, Any]) -> str:
    """Encode like `qs.stringify` with defaults: brackets percent-encoded, RFC 3986 values,
    dates as ISO strings, `None` keys dropped."""
    pairs: list[str] = []
    _flatten(value, "", pairs)
    return "&".join(pairs)


def _flatten(value: Any, prefix: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}[{key}]" if prefix else str(key), out)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}[{index}]", out)
    elif value is None:
        return
    else:
        out.append(f"{quote(prefix, safe='-_.~')}={quote(_scalar(value), safe='-_.~')}")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
