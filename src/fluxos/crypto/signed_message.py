"""Bitcoin-style signed messages: digest, compact recoverable signatures, and FluxOS's verifier.

`verify_message` is FluxOS's signatureVerifier (identity.md §7): it dispatches on the address
form and reproduces bitcoinjs-message 2.2 `verify`, quirks included. `verify_flux_message`
is fluxd's `verifymessage` (Zelcash magic, t1 addresses).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from functools import lru_cache

from fluxos.crypto.addresses import (
    BITCOIN_P2PKH,
    FLUX_P2PKH,
    address_from_hash,
    base58_payload_or_none,
    segwit_program_or_none,
)
from fluxos.crypto.ethereum import verify_eth_message
from fluxos.crypto.hashes import hash160, sha256d
from fluxos.crypto.keys import PrivateKey
from fluxos.crypto.recovery import recover_public_key

logger = logging.getLogger(__name__)

BITCOIN_MAGIC = "Bitcoin Signed Message:\n"
ZELCASH_MAGIC = "Zelcash Signed Message:\n"

_COMPACT_SIGNATURE_SIZE = 65
_HEADER_BASE = 27
# Header byte h = 27 + flag; flag bits: 0-1 recovery id, 2 compressed key, 3 segwit
# (with bit 2: 35-38 P2SH-wrapped P2WPKH, 39-42 native P2WPKH).
_FLAG_COMPRESSED = 4
_FLAG_SEGWIT = 8
_FLAG_NATIVE_SEGWIT = 12
# bitcoinjs-message serialises the recovered key compressed when either bit is set.
_COMPRESSED_FORMS = _FLAG_COMPRESSED | _FLAG_SEGWIT
_P2WPKH_REDEEM_PREFIX = b"\x00\x14"  # OP_0 PUSH20: the redeem script of P2SH-P2WPKH

_BASE64_URLSAFE_TO_STD = str.maketrans("-_", "+/")
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/]")
_HEX_PAIRS_PREFIX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def compact_size(n: int) -> bytes:
    """Bitcoin's CompactSize length prefix."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def message_bytes(message: str | bytes) -> bytes:
    """UTF-8 bytes of a message as JavaScript's Buffer.from(s, 'utf8') produces them.

    JS strings are UTF-16: a valid surrogate pair is one code point and a lone surrogate
    (a Python str from JSON can hold one) becomes U+FFFD rather than an error.
    """
    if isinstance(message, bytes):
        return message
    try:
        return message.encode("utf-8")
    except UnicodeEncodeError:
        as_js = message.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return as_js.encode("utf-8")


@lru_cache(maxsize=16)
def _magic_prefix(magic: str) -> bytes:
    raw = magic.encode("utf-8")
    return compact_size(len(raw)) + raw


def message_digest(message: str | bytes, magic: str = BITCOIN_MAGIC) -> bytes:
    """SHA256d(varint ‖ magic ‖ varint ‖ message): the digest a signed message commits to."""
    body = message_bytes(message)
    return sha256d(_magic_prefix(magic) + compact_size(len(body)) + body)


def sign_message(message: str | bytes, key: PrivateKey | str, magic: str = BITCOIN_MAGIC) -> str:
    """Base64 compact signature: header 27 + recid (+4 for a compressed key), then r ‖ s.

    `key` may be a WIF. Nonces are RFC 6979 (deterministic); upstream adds random entropy,
    which no verifier can tell apart.
    """
    if isinstance(key, str):
        key = PrivateKey.from_wif(key)
    recoverable = key.sign_recoverable(message_digest(message, magic))
    header = _HEADER_BASE + recoverable[64] + (_FLAG_COMPRESSED if key.compressed else 0)
    return base64.b64encode(bytes([header]) + recoverable[:64]).decode("ascii")


def decode_signature_base64(signature: str) -> bytes:
    """Bytes of a base64 signature, decoded as leniently as Node's Buffer.from(s, 'base64').

    Node accepts the URL-safe alphabet, skips characters outside the alphabet, stops at the
    first '=' and needs no padding. Strict base64 (every real wallet's output) takes the
    fast path.
    """
    try:
        return binascii.a2b_base64(signature, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    head = signature.split("=", 1)[0].translate(_BASE64_URLSAFE_TO_STD)
    chars = "".join(_BASE64_CHARS.findall(head))
    if len(chars) % 4 == 1:  # a lone trailing sextet carries no full byte
        chars = chars[:-1]
    return binascii.a2b_base64(chars + "=" * (-len(chars) % 4))


def _recover(raw_signature: bytes, recid: int, compressed: bool, digest: bytes) -> bytes:
    """Serialised public key recovered from r ‖ s (raw_signature[1:65]); ValueError if none."""
    return recover_public_key(raw_signature[1:], recid, digest, compressed)


def _parse_compact(signature: str) -> tuple[bytes, int]:
    raw = decode_signature_base64(signature)
    if len(raw) != _COMPACT_SIGNATURE_SIZE:
        raise ValueError(f"signature must decode to 65 bytes, got {len(raw)}")
    flag = raw[0] - _HEADER_BASE
    if not 0 <= flag <= 15:
        raise ValueError(f"signature header byte must be 27..42, got {raw[0]}")
    return raw, flag


def recover_message_key(
    message: str | bytes, signature_b64: str, magic: str = BITCOIN_MAGIC
) -> tuple[bytes, int]:
    """(public key serialised per the header's compression flag, header byte).

    ValueError if the signature is malformed or no key recovers.
    """
    raw, flag = _parse_compact(signature_b64)
    pubkey = _recover(raw, flag & 3, bool(flag & _COMPRESSED_FORMS), message_digest(message, magic))
    return pubkey, raw[0]


def verify_message(
    message: str | bytes, address: str, signature: str, magic: str = BITCOIN_MAGIC
) -> bool:
    """FluxOS signature check (identity.md §7.1).

    '0x…' → Ethereum personal_sign; longer than 36 chars → a hex public key, checked as
    its Bitcoin P2PKH address; otherwise a Bitcoin signed message against the address.
    False for the documented invalid cases: an empty or non-string part, a signature that
    does not decode or recover (ValueError below); anything else is a bug and raises.
    """
    if not _texts(message, address, signature):
        return False
    try:
        if address.startswith("0x"):
            return verify_eth_message(message, address, signature)
        if len(address) > 36:
            return _verify_bitcoin(message, _pubkey_hex_to_p2pkh(address), signature, magic)
        return _verify_bitcoin(message, address, signature, magic)
    except ValueError as exc:  # malformed or unrecoverable signature: a failed check
        logger.debug("signature check failed for %s: %s", address, exc)
        return False


def _texts(message: object, *parts: object) -> bool:
    """Whether a message (str or bytes) and its address and signature (str) are non-empty."""
    return (
        isinstance(message, str | bytes)
        and bool(message)
        and all(isinstance(part, str) and part for part in parts)
    )


@lru_cache(maxsize=4096)
def _pubkey_hex_to_p2pkh(pubkey_hex: str) -> str:
    # Node's Buffer.from(hex) keeps the longest run of valid hex pairs and drops the rest;
    # upstream hashes those bytes as given, without checking that they form a curve point.
    pairs = _HEX_PAIRS_PREFIX.match(pubkey_hex)
    key_bytes = bytes.fromhex(pairs.group() if pairs else "")
    return address_from_hash(BITCOIN_P2PKH, hash160(key_bytes))


def verify_bitcoin_message(
    message: str | bytes, address: str, signature: str, magic: str = BITCOIN_MAGIC
) -> bool:
    """bitcoinjs-message 2.2 `verify` (default options) without FluxOS's dispatch.

    Unlike `verify_message`, a bech32 address (always longer than 36 chars) reaches the
    P2WPKH check here instead of being read as a hex public key. False for a non-string
    part or a signature that does not decode or recover; anything else raises.
    """
    if not isinstance(message, str | bytes) or not _texts(b"-", address, signature):
        return False
    try:
        return _verify_bitcoin(message, address, signature, magic)
    except ValueError as exc:  # malformed or unrecoverable signature: a failed check
        logger.debug("Bitcoin message check failed for %s: %s", address, exc)
        return False


def _verify_bitcoin(message: str | bytes, address: str, signature: str, magic: str) -> bool:
    """bitcoinjs-message 2.2 `verify` with default options; raises on malformed input."""
    raw, flag = _parse_compact(signature)
    digest = message_digest(message, magic)
    pkh = hash160(_recover(raw, flag & 3, bool(flag & _COMPRESSED_FORMS), digest))
    if not flag & _FLAG_SEGWIT:
        # Only the first payload byte is dropped and the version is never checked: any
        # 1-byte-version address with this hash passes, 2-byte Flux t1 addresses cannot.
        payload = base58_payload_or_none(address)
        return payload is not None and payload[1:] == pkh
    if (flag & _FLAG_NATIVE_SEGWIT) == _FLAG_NATIVE_SEGWIT:
        return segwit_program_or_none(address) == pkh
    payload = base58_payload_or_none(address)
    return payload is not None and payload[1:] == hash160(_P2WPKH_REDEEM_PREFIX + pkh)


def verify_flux_message(
    message: str, address: str, signature: str, *, p2pkh_prefix: bytes = FLUX_P2PKH
) -> bool:
    """fluxd `verifymessage`: Zelcash magic, a t1 address; False on anything malformed.

    Like Bitcoin Core's RecoverCompact, the header byte is not range-checked: recid and
    compression are read from the low bits of (h - 27). Callers that must answer with
    fluxd's RPC errors validate the address with `decode_flux_address` first. False for a
    non-string part or a signature that does not decode or recover; anything else raises.
    """
    if not isinstance(message, str) or not _texts(b"-", address, signature):
        return False
    try:
        payload = base58_payload_or_none(address)
        if payload is None or len(payload) != 22 or payload[:2] != p2pkh_prefix:
            return False
        raw = binascii.a2b_base64(signature, strict_mode=True)
        if len(raw) != _COMPACT_SIGNATURE_SIZE:
            return False
        flag = raw[0] - _HEADER_BASE
        digest = message_digest(message, ZELCASH_MAGIC)
        pubkey = _recover(raw, flag & 3, bool(flag & _FLAG_COMPRESSED), digest)
        return hash160(pubkey) == payload[2:]
    except ValueError as exc:  # malformed or unrecoverable: fluxd answers false
        logger.debug("Flux message check failed for %s: %s", address, exc)
        return False
