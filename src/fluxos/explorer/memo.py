"""The text carried by an OP_RETURN output, decoded exactly as upstream FluxOS does.

Every node must derive the same app hashes and chain messages from the same chain, so
the decoding keeps JavaScript's semantics (`split`, `parseInt(pair, 16)`,
`String.fromCharCode`) rather than doing the "obvious" hex decode.
"""

from __future__ import annotations

import math

_JS_WHITESPACE = frozenset(
    " \t\n\v\f\r\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
_HEX_DIGITS = "0123456789abcdefABCDEF"


def decode_message(asm: str) -> str:
    """The message of a scriptPubKey asm: hex pairs after "OP_RETURN " up to a "00" pair.

    JS `asm.split('OP_RETURN ', 2)[1]` is the text between the first and a second
    "OP_RETURN ", not everything after the first; a pair that is not hex becomes U+0000.
    """
    parts = asm.split("OP_RETURN ")
    if len(parts) < 2 or not parts[1]:
        return ""
    text = parts[1]
    chars: list[str] = []
    for k in range(0, len(text), 2):
        pair = text[k : k + 2]
        if pair == "00":
            break
        chars.append(_from_char_code(js_parse_int_hex(pair)))
    return "".join(chars)


def js_parse_int_hex(text: str) -> float:
    """JavaScript's `parseInt(text, 16)`: NaN when no leading hex digit."""
    i, n = 0, len(text)
    while i < n and text[i] in _JS_WHITESPACE:
        i += 1
    sign = 1
    if i < n and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    if text[i : i + 2] in ("0x", "0X"):
        i += 2
    start = i
    while i < n and text[i] in _HEX_DIGITS:
        i += 1
    if i == start:
        return math.nan
    return float(sign * int(text[start:i], 16))


def _from_char_code(value: float) -> str:
    """`String.fromCharCode(value)`: ToUint16, so NaN → U+0000 and -1 → U+FFFF."""
    if math.isnan(value) or math.isinf(value):
        return "\x00"
    return chr(int(value) % 0x10000)
