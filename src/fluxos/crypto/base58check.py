"""Base58Check: base58 text carrying a payload and its 4-byte double-SHA-256 checksum."""

from __future__ import annotations

import base58

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ALPHABET_SET = frozenset(BASE58_ALPHABET)


def b58check_encode(payload: bytes) -> str:
    """Base58Check text of `payload` (version bytes included by the caller)."""
    return base58.b58encode_check(payload).decode("ascii")


def b58check_decode(text: str) -> bytes:
    """Payload of base58check `text`; ValueError for a non-base58 character or bad checksum."""
    # The base58 library strips trailing whitespace before decoding; addresses with stray
    # characters must not decode (bs58check, which upstream uses, rejects them too).
    if not _ALPHABET_SET.issuperset(text):
        raise ValueError("base58check text contains a character outside the base58 alphabet")
    if not text:
        raise ValueError("base58check text is empty")
    return base58.b58decode_check(text)
