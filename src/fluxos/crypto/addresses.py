"""Transparent addresses: Bitcoin P2PKH, Flux t1/t3, segwit programs, and the ZelID login format."""

from __future__ import annotations

import re
from functools import lru_cache

import bech32

from fluxos.crypto.base58check import b58check_decode, b58check_encode
from fluxos.crypto.hashes import hash160

FLUX_P2PKH = b"\x1c\xb8"  # t1…
FLUX_P2SH = b"\x1c\xbd"  # t3…
FLUX_TESTNET_P2PKH = b"\x1d\x25"  # tm…
FLUX_TESTNET_P2SH = b"\x1c\xba"  # t2…
BITCOIN_P2PKH = b"\x00"  # 1…

_ZELID_BASE58 = re.compile(r"[1-9a-km-zA-HJ-NP-Z]+")
_ZELID_ETHEREUM = re.compile(r"0x[a-fA-F0-9]{40}")


def address_from_hash(prefix: bytes, h160: bytes) -> str:
    """Base58check address of a 20-byte hash under the given version prefix."""
    if len(h160) != 20:
        raise ValueError(f"address hash must be 20 bytes, got {len(h160)}")
    return b58check_encode(prefix + h160)


def bitcoin_address(pubkey: bytes) -> str:
    """Bitcoin P2PKH address ('1…') of a serialised public key, hashed exactly as given."""
    return address_from_hash(BITCOIN_P2PKH, hash160(pubkey))


def flux_address(pubkey: bytes) -> str:
    """Flux mainnet P2PKH address ('t1…') of a serialised public key."""
    return address_from_hash(FLUX_P2PKH, hash160(pubkey))


def flux_p2sh_address(script: bytes) -> str:
    """Flux mainnet P2SH address ('t3…') of a redeem script."""
    return address_from_hash(FLUX_P2SH, hash160(script))


def decode_flux_address(address: str) -> tuple[str, bytes]:
    """("p2pkh" | "p2sh", hash160) of a Flux mainnet t1/t3 address; ValueError otherwise."""
    payload = b58check_decode(address)
    if len(payload) != 22:
        raise ValueError(f"Flux address payload must be 22 bytes, got {len(payload)}")
    prefix, h160 = payload[:2], payload[2:]
    if prefix == FLUX_P2PKH:
        return "p2pkh", h160
    if prefix == FLUX_P2SH:
        return "p2sh", h160
    raise ValueError(f"address prefix {prefix.hex()} is not a Flux mainnet t1 or t3 prefix")


def is_zelid(address: str) -> bool:
    """The login format rule for a ZelID: a '1…' base58 string of 25–34 chars or '0x' + 40 hex.

    Only the format is checked (no checksum), exactly as the login endpoint does.
    """
    if address.startswith("1"):
        return 25 <= len(address) <= 34 and _ZELID_BASE58.fullmatch(address) is not None
    if address.startswith("0"):
        return _ZELID_ETHEREUM.fullmatch(address) is not None
    return False


@lru_cache(maxsize=4096)
def base58_payload_or_none(address: str) -> bytes | None:
    """base58check payload of `address`, or None if it does not decode; memoised.

    Signature checks decode the same few thousand addresses (ZelIDs, node keys) over and
    over; base58 decoding is big-integer work, a cache hit is a dict lookup.
    """
    try:
        return b58check_decode(address)
    except ValueError:
        return None


def segwit_program_or_none(address: str) -> bytes | None:
    """Witness program of a bech32 address of any HRP (witness version dropped), or None.

    Mirrors bitcoinjs-message: bech32 (not bech32m) checksum, the first 5-bit word is the
    version and is not checked, the rest must regroup into bytes without excess padding.
    """
    _hrp, words = bech32.bech32_decode(address)
    if words is None:
        return None
    program = bech32.convertbits(words[1:], 5, 8, False)
    return None if program is None else bytes(program)
