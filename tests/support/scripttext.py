"""The script text of the daemon's test data (fluxd's ParseScript in core_read.cpp):
decimal numbers are pushed as numbers, `0x…` is inserted as raw bytes, `'text'` is pushed
as data, and opcode names are accepted with or without their OP_ prefix."""

from __future__ import annotations

from fluxos.chain.script import opcode_name, push_data, push_int

OP_RESERVED = 0x50
OP_NOP = 0x61
OP_NOP10 = 0xB9


def _opcode_names() -> dict[str, int]:
    names: dict[str, int] = {}
    for op in range(OP_NOP10 + 1):
        if op < OP_NOP and op != OP_RESERVED:
            continue
        name = opcode_name(op)
        if name == "OP_UNKNOWN":
            continue
        names[name] = op
        names[name.replace("OP_", "", 1)] = op
    return names


_NAMES = _opcode_names()


def _is_number(word: str) -> bool:
    digits = word[1:] if word.startswith("-") and len(word) > 1 else word
    return digits.isascii() and digits.isdigit()


def parse_script(text: str) -> bytes:
    """The script bytes of `text`; ValueError("script parse error") as fluxd throws."""
    out = bytearray()
    for word in text.replace("\t", " ").replace("\n", " ").split(" "):
        if not word:
            continue
        if _is_number(word):
            out += push_int(int(word))
        elif word.startswith("0x") and len(word) > 2 and _is_hex(word[2:]):
            out += bytes.fromhex(word[2:])
        elif len(word) >= 2 and word[0] == "'" and word[-1] == "'":
            out += push_data(word[1:-1].encode())
        elif word in _NAMES:
            out.append(_NAMES[word])
        else:
            raise ValueError(f"script parse error at {word!r}")
    return bytes(out)


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)
