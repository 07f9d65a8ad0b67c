"""Ethereum personal_sign (EIP-191 0x45) as FluxOS verifies it, upstream's hex quirk included."""

from __future__ import annotations

import logging
import re

import coincurve

from fluxos.crypto.hashes import keccak256
from fluxos.crypto.keys import PrivateKey
from fluxos.crypto.recovery import recover_public_key

logger = logging.getLogger(__name__)

_PERSONAL_PREFIX = b"\x19Ethereum Signed Message:\n"
_HEX = re.compile(r"[0-9a-fA-F]*")


def personal_message_bytes(message: str) -> bytes:
    """The bytes upstream signs for `message` (identity.md §7.3).

    Upstream writes each UTF-16 code unit as unpadded hex and re-reads the text two digits
    at a time. For characters U+0010..U+00FF that is Latin-1; others (newline, tab,
    non-Latin-1) come out shifted or merged, and wallets that hash the same way agree.
    """
    try:
        latin1 = message.encode("latin-1")
    except UnicodeEncodeError:
        pass
    else:
        if not latin1 or min(latin1) >= 0x10:
            return latin1
    utf16 = message.encode("utf-16-be", "surrogatepass")
    digits = "".join(
        format(int.from_bytes(utf16[i : i + 2], "big"), "x") for i in range(0, len(utf16), 2)
    )
    # A trailing single digit is read as a byte of its own (parseInt('a', 16) == 10).
    return bytes(int(digits[i : i + 2], 16) for i in range(0, len(digits), 2))


def personal_message_hash(message: str | bytes) -> bytes:
    """Keccak-256 of '\\x19Ethereum Signed Message:\\n' ‖ decimal length ‖ message bytes.

    A str goes through upstream's hex conversion; bytes are taken as they are.
    """
    body = message if isinstance(message, bytes) else personal_message_bytes(message)
    return keccak256(_PERSONAL_PREFIX + str(len(body)).encode("ascii") + body)


def eth_address(pubkey: bytes) -> str:
    """EIP-55 checksummed address of a public key (any serialisation coincurve parses)."""
    uncompressed = coincurve.PublicKey(pubkey).format(compressed=False)
    return _checksummed(keccak256(uncompressed[1:])[-20:].hex())


def to_checksum_address(address: str) -> str:
    """EIP-55 form of a '0x' + 40-hex address given in any case; ValueError if not one."""
    body = address[2:] if address[:2] in ("0x", "0X") else ""
    if len(body) != 40 or _HEX.fullmatch(body) is None:
        raise ValueError("Ethereum address must be '0x' followed by 40 hex digits")
    return _checksummed(body.lower())


def _checksummed(lower_hex: str) -> str:
    nibbles = keccak256(lower_hex.encode("ascii")).hex()
    return "0x" + "".join(
        ch.upper() if int(nib, 16) > 7 else ch for ch, nib in zip(lower_hex, nibbles, strict=False)
    )


def _signature_parts(signature_hex: str) -> tuple[bytes, int]:
    """(r ‖ s, recovery id) of '0x' + r(32) s(32) v(rest); ValueError if malformed."""
    text = signature_hex[2:] if signature_hex[:2] in ("0x", "0X") else signature_hex
    if _HEX.fullmatch(text) is None or len(text) % 2:
        raise ValueError("Ethereum signature must be hex: '0x' + r, s and v")
    raw = bytes.fromhex(text)
    if len(raw) < 65:
        raise ValueError(f"Ethereum signature must be at least 65 bytes, got {len(raw)}")
    v = int.from_bytes(raw[64:], "big")
    # Upstream's rule: 0/1 are recovery ids, otherwise odd v (27, 37, …) means 0, even 1.
    recid = v if v < 2 else 1 - v % 2
    return raw[:64], recid


def _recover_address_hex(message: str | bytes, signature_hex: str) -> str:
    """Lower-case hex (no '0x') of the signer's address; ValueError if nothing recovers."""
    rs, recid = _signature_parts(signature_hex)
    pubkey = recover_public_key(rs, recid, personal_message_hash(message), compressed=False)
    return keccak256(pubkey[1:])[-20:].hex()


def recover_eth_address(message: str | bytes, signature_hex: str) -> str:
    """Checksummed address that produced `signature_hex` over `message`; ValueError if none."""
    return _checksummed(_recover_address_hex(message, signature_hex))


def verify_eth_message(message: str | bytes, address: str, signature_hex: str) -> bool:
    """True iff `address` (case-insensitive) signed `message` with personal_sign.

    False for a non-string address or signature and for a signature that is not hex or does
    not recover (ValueError); anything else is a bug and raises.
    """
    if not isinstance(address, str) or not isinstance(signature_hex, str):
        return False
    try:
        return "0x" + _recover_address_hex(message, signature_hex) == address.lower()
    except ValueError as exc:  # malformed or unrecoverable signature: a failed check
        logger.debug("Ethereum signature check failed for %s: %s", address, exc)
        return False


def sign_eth_message(message: str | bytes, key: PrivateKey) -> str:
    """personal_sign signature: '0x' + r ‖ s ‖ v with v = 27 + recovery id."""
    recoverable = key.sign_recoverable(personal_message_hash(message))
    return "0x" + recoverable[:64].hex() + format(27 + recoverable[64], "02x")
