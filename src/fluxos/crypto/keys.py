"""secp256k1 private keys, WIF import/export, and the ECDSA signing forms Flux needs."""

from __future__ import annotations

import coincurve

from fluxos.crypto.base58check import b58check_decode, b58check_encode

WIF_MAINNET = 0x80
WIF_TESTNET = 0xEF
_WIF_PREFIXES = frozenset({WIF_MAINNET, WIF_TESTNET})
_COMPRESSED_MARKER = 0x01
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_ORDER = SECP256K1_ORDER // 2


class PrivateKey:
    """A secp256k1 secret plus the public-key form (compressed or not) that goes with it.

    The form matters: addresses hash the serialised public key, so the same secret gives
    two different addresses, and signed messages record which one was used.
    """

    __slots__ = ("_key", "compressed", "secret")

    def __init__(self, key: coincurve.PrivateKey, compressed: bool) -> None:
        """Wrap a coincurve key; callers normally use generate/from_wif/from_secret."""
        self._key = key
        self.secret: bytes = key.secret
        self.compressed = compressed

    @classmethod
    def generate(cls, compressed: bool = True) -> PrivateKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(coincurve.PrivateKey(), compressed)

    @classmethod
    def from_secret(cls, secret: bytes, compressed: bool = True) -> PrivateKey:
        """The key with this 32-byte secret; ValueError if it is not in 1..n-1."""
        if len(secret) != 32:
            raise ValueError(f"private key secret must be 32 bytes, got {len(secret)}")
        try:
            return cls(coincurve.PrivateKey(secret), compressed)
        except ValueError as exc:  # zero or >= the curve order
            raise ValueError("private key secret is not a valid secp256k1 scalar") from exc

    @classmethod
    def from_wif(cls, wif: str) -> PrivateKey:
        """Decode a WIF key (mainnet 0x80 or testnet 0xEF); ValueError for anything else.

        Compression comes from the payload (a trailing 0x01), not from the first character:
        upstream's "starts with 5" test misreads testnet keys, which start with 9 or c.
        """
        try:
            payload = b58check_decode(wif)
        except ValueError as exc:
            raise ValueError(f"WIF is not valid base58check: {exc}") from exc
        if not payload or payload[0] not in _WIF_PREFIXES:
            raise ValueError("WIF version byte must be 0x80 (mainnet) or 0xef (testnet)")
        body = payload[1:]
        if len(body) == 32:
            return cls.from_secret(body, compressed=False)
        if len(body) == 33 and body[32] == _COMPRESSED_MARKER:
            return cls.from_secret(body[:32], compressed=True)
        raise ValueError("WIF payload must be 32 bytes, or 33 bytes ending in 0x01 (compressed)")

    def to_wif(self, prefix: int = WIF_MAINNET) -> str:
        """WIF text of this key under the given version byte."""
        if not 0 <= prefix <= 0xFF:
            raise ValueError(f"WIF prefix must be one byte, got {prefix}")
        suffix = bytes([_COMPRESSED_MARKER]) if self.compressed else b""
        return b58check_encode(bytes([prefix]) + self.secret + suffix)

    @property
    def public_key(self) -> bytes:
        """Serialised public key: 33 bytes (02/03…) if compressed, else 65 bytes (04…)."""
        return self._key.public_key.format(compressed=self.compressed)

    def sign_recoverable(self, digest32: bytes) -> bytes:
        """65 bytes r‖s‖recid over a 32-byte digest; RFC 6979 nonce, always low-S."""
        _require_digest(digest32)
        return self._key.sign_recoverable(digest32, hasher=None)

    def sign_der(self, digest32: bytes) -> bytes:
        """DER signature over a 32-byte digest (transaction scripts); RFC 6979, low-S."""
        _require_digest(digest32)
        return self._key.sign(digest32, hasher=None)

    def __repr__(self) -> str:
        # Never print the secret: keys end up in logs through reprs.
        return f"PrivateKey(compressed={self.compressed}, public_key={self.public_key.hex()})"


def verify_der(pubkey: bytes, signature_der: bytes, digest32: bytes) -> bool:
    """True iff the strict-DER signature by `pubkey` over `digest32` holds; never raises.

    High-S signatures are normalised first: libsecp256k1 rejects them, but they are valid
    by consensus (only relay policy asks for low-S), as in Bitcoin Core's CPubKey::Verify.
    """
    try:
        if len(digest32) != 32:
            return False
        key = coincurve.PublicKey(pubkey)
        low_s = _normalise_der(signature_der)
        return key.verify(low_s, digest32, hasher=None)
    except (ValueError, TypeError):
        return False


def _normalise_der(signature_der: bytes) -> bytes:
    """The same DER signature with s replaced by n - s when s is in the upper half.

    Malformed DER is returned unchanged: the verifier's own parser then rejects it.
    """
    # SEQUENCE { INTEGER r, INTEGER s } with short-form lengths (a secp256k1 signature is
    # at most 72 bytes).
    if len(signature_der) < 8 or signature_der[0] != 0x30 or signature_der[2] != 0x02:
        return signature_der
    r_len = signature_der[3]
    s_at = 4 + r_len
    if s_at + 2 > len(signature_der) or signature_der[s_at] != 0x02:
        return signature_der
    s_len = signature_der[s_at + 1]
    s_bytes = signature_der[s_at + 2 : s_at + 2 + s_len]
    s_value = int.from_bytes(s_bytes, "big")
    if s_value <= _HALF_ORDER:
        return signature_der
    low_s = _integer_der(SECP256K1_ORDER - s_value)
    r_part = signature_der[2:s_at]
    body = r_part + low_s + signature_der[s_at + 2 + s_len :]
    return bytes([0x30, len(body)]) + body


def _integer_der(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")  # keeps a 0x00 for a set top bit
    return bytes([0x02, len(raw)]) + raw


def _require_digest(digest32: bytes) -> None:
    if len(digest32) != 32:
        raise ValueError(f"digest to sign must be 32 bytes, got {len(digest32)}")
