"""Hashes of the Bitcoin/Flux/Ethereum world: SHA-256, double SHA-256, HASH160, Keccak-256."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from Crypto.Hash import RIPEMD160, keccak


def _pick_ripemd160() -> Callable[[bytes], bytes]:
    # hashlib's RIPEMD-160 comes from OpenSSL, whose 3.x releases may leave it out (legacy
    # provider); pycryptodome always has it. hashlib's is ~4x faster per call, and HASH160
    # sits on the signature-verification hot path, so prefer it when it is there.
    try:
        prototype = hashlib.new("ripemd160")
    except ValueError:
        return lambda data: RIPEMD160.new(data).digest()

    def openssl_ripemd160(data: bytes) -> bytes:
        # Copying a ready object skips hashlib.new's by-name algorithm lookup.
        h = prototype.copy()
        h.update(data)
        return h.digest()

    return openssl_ripemd160


ripemd160: Callable[[bytes], bytes] = _pick_ripemd160()
"""RIPEMD-160 digest (20 bytes) of `data`."""

_sha256 = hashlib.sha256


def sha256(data: bytes) -> bytes:
    """SHA-256 digest (32 bytes) of `data`."""
    return _sha256(data).digest()


def sha256d(data: bytes) -> bytes:
    """SHA-256 applied twice (Bitcoin's hash256): block, transaction and message hashes."""
    return _sha256(_sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256 (20 bytes): the key hash inside P2PKH/P2SH addresses."""
    return ripemd160(_sha256(data).digest())


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum uses it (the pre-standard padding, not SHA3-256)."""
    return keccak.new(digest_bits=256, data=data).digest()
