"""The gossip key of a peer message: object-hash 3.0's default SHA-1 of `data` (p2p.md §8.1).

object-hash serialises a value into a typed text (`string:<utf16 length>:<s>`, `number:…`,
`object:<n>:…`) and hashes its UTF-8 bytes. For plain objects it also walks the
prototype (`__proto__`, `constructor`, `prototype`), which for JSON data always yields one
of two constant blocks: the full one for the first object met and back-references
(`[CIRCULAR:n]`) for every later object.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fluxos.wire.jsvalues import number_to_string

_FIRST_OBJECT_PROTOTYPE = (
    "string:9:prototype:Undefined,"
    "string:9:__proto__:object:3:"
    "string:9:prototype:Undefined,"
    "string:9:__proto__:Null,"
    "string:11:constructor:fn:string:8:[native]string:20:function-name:Object"
    "object:0:,,"
    "string:11:constructor:fn:string:8:[native]string:20:function-name:Object"
    "string:12:[CIRCULAR:2],"
)
_LATER_OBJECT_PROTOTYPE = (
    "string:9:prototype:Undefined,"
    "string:9:__proto__:string:12:[CIRCULAR:1],"
    "string:11:constructor:fn:string:8:[native]string:20:function-name:Object"
    "string:12:[CIRCULAR:2],"
)


def object_hash(data: Any) -> str:
    """40 lowercase hex characters: SHA-1 of object-hash's serialisation of `data`."""
    parts: list[str] = []
    _write(data, parts, [False])
    text = "".join(parts)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: Node's crypto writes U+FFFD for it
        raw = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode()
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def _utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _utf16_sort_key(key: str) -> bytes:
    # JS sorts strings by UTF-16 code units; big-endian UTF-16 bytes compare the same way
    return key.encode("utf-16-be", "surrogatepass")


def _write(value: Any, out: list[str], seen_object: list[bool]) -> None:
    if isinstance(value, str):
        out.append(f"string:{_utf16_length(value)}:{value}")
    elif value is None:
        out.append("Null")
    elif value is True:
        out.append("bool:true")
    elif value is False:
        out.append("bool:false")
    elif isinstance(value, int | float):
        out.append("number:" + number_to_string(value))
    elif isinstance(value, list | tuple):
        out.append(f"array:{len(value)}:")
        for item in value:
            _write(item, out, seen_object)
    elif isinstance(value, dict):
        keys = sorted((str(k) for k in value), key=_utf16_sort_key)
        out.append(f"object:{len(keys) + 3}:")
        out.append(_LATER_OBJECT_PROTOTYPE if seen_object[0] else _FIRST_OBJECT_PROTOTYPE)
        seen_object[0] = True
        for key in keys:
            out.append(f"string:{_utf16_length(key)}:{key}:")
            _write(value[key], out, seen_object)
            out.append(",")
    else:
        raise TypeError(f"cannot hash {type(value).__name__}")
