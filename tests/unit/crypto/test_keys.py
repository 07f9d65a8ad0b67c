"""Private keys, WIF, and DER signing/verification."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxos.crypto import PrivateKey, b58check_decode, b58check_encode, sha256, verify_der
from fluxos.crypto.keys import SECP256K1_ORDER

# identity.md §13 / p2p.md §18.1
K1_WIF = "5JTeg79dTLzzHXoJPALMWuoGDM8QmLj4n5f6MeFjx8dzsirvjAh"
K1_PUB = (
    "0474eb4690689bb408139249eda7f361b7881c4254ccbe303d3b4d58c2b48897d0"
    "f070b44944941998551f9ea0e1befd96f13adf171c07c885e62d0c2af56d3dab"
)
K2_WIF = "KyL927pfsyZnJhFq5gQGy5eWq9tRYuAppRGiLjvBJGMvMwCqWYmv"
K2_PUB = "03a188275982a2fa48120410d28aa6856adc5c07e15fe6a8bd6ebffc3b11c7beae"


def test_uncompressed_mainnet_wif() -> None:
    key = PrivateKey.from_wif(K1_WIF)
    assert key.compressed is False
    assert key.public_key.hex() == K1_PUB
    assert key.to_wif() == K1_WIF


def test_compressed_mainnet_wif() -> None:
    key = PrivateKey.from_wif(K2_WIF)
    assert key.compressed is True
    assert key.public_key.hex() == K2_PUB
    assert key.to_wif() == K2_WIF


def test_same_secret_gives_both_forms() -> None:
    k1 = PrivateKey.from_wif(K1_WIF)
    as_compressed = PrivateKey.from_secret(k1.secret, compressed=True)
    assert len(as_compressed.public_key) == 33
    assert as_compressed.public_key[1:] == k1.public_key[1:33]
    assert as_compressed.public_key[0] == 2 + (k1.public_key[64] & 1)


@pytest.mark.parametrize("compressed", [True, False])
def test_testnet_wif_round_trip(compressed: bool) -> None:
    key = PrivateKey.generate(compressed=compressed)
    wif = key.to_wif(0xEF)
    # Testnet WIFs start with 'c' (compressed) or '9' (uncompressed); compression is read
    # from the payload, so the '9' form is not mistaken for compressed as upstream does.
    assert wif[0] == ("c" if compressed else "9")
    back = PrivateKey.from_wif(wif)
    assert (back.secret, back.compressed) == (key.secret, compressed)


@given(st.binary(min_size=32, max_size=32), st.booleans())
def test_wif_round_trip(secret: bytes, compressed: bool) -> None:
    value = int.from_bytes(secret, "big")
    if not 0 < value < SECP256K1_ORDER:
        with pytest.raises(ValueError):
            PrivateKey.from_secret(secret, compressed)
        return
    key = PrivateKey.from_secret(secret, compressed)
    back = PrivateKey.from_wif(key.to_wif())
    assert (back.secret, back.compressed, back.public_key) == (
        secret,
        compressed,
        key.public_key,
    )


@pytest.mark.parametrize(
    "wif",
    [
        "",
        K2_WIF[:-1] + "w",  # checksum broken
        b58check_encode(b"\x81" + bytes(31) + b"\x01"),  # unknown version byte
        b58check_encode(b"\x80" + bytes(range(1, 32))),  # 31-byte secret
        b58check_encode(b"\x80" + bytes(range(1, 33)) + b"\x02"),  # wrong compression marker
        b58check_encode(b"\x80" + bytes(32)),  # zero secret
        b58check_encode(b"\x80" + SECP256K1_ORDER.to_bytes(32, "big")),  # secret == n
        "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF",  # an address, not a key
    ],
)
def test_from_wif_rejects(wif: str) -> None:
    with pytest.raises(ValueError):
        PrivateKey.from_wif(wif)


def test_from_secret_rejects_wrong_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        PrivateKey.from_secret(bytes(30) + b"\x01")


def test_generate_gives_distinct_valid_keys() -> None:
    a, b = PrivateKey.generate(), PrivateKey.generate(compressed=False)
    assert a.secret != b.secret
    assert len(a.public_key) == 33 and a.public_key[0] in (2, 3)
    assert len(b.public_key) == 65 and b.public_key[0] == 4


def test_repr_hides_the_secret() -> None:
    key = PrivateKey.from_wif(K2_WIF)
    text = repr(key)
    assert key.secret.hex() not in text and K2_WIF not in text
    assert K2_PUB in text


def test_der_sign_and_verify() -> None:
    key = PrivateKey.from_wif(K2_WIF)
    digest = sha256(b"spend")
    signature = key.sign_der(digest)
    assert signature[0] == 0x30
    assert verify_der(key.public_key, signature, digest)
    assert not verify_der(key.public_key, signature, sha256(b"other"))
    assert not verify_der(PrivateKey.from_wif(K1_WIF).public_key, signature, digest)


@pytest.mark.parametrize(
    ("pubkey", "signature", "digest"),
    [
        (bytes.fromhex(K2_PUB), b"\x30\x00", bytes(32)),
        (bytes.fromhex(K2_PUB), b"", bytes(32)),
        (b"\x02" + bytes(32), b"\x30\x06\x02\x01\x01\x02\x01\x01", bytes(32)),
        (bytes.fromhex(K2_PUB), b"\x30\x06\x02\x01\x01\x02\x01\x01", b"short"),
    ],
)
def test_verify_der_is_false_on_malformed_input(
    pubkey: bytes, signature: bytes, digest: bytes
) -> None:
    assert verify_der(pubkey, signature, digest) is False


def _der_parts(signature: bytes) -> tuple[int, int]:
    r_len = signature[3]
    r = int.from_bytes(signature[4 : 4 + r_len], "big")
    s_len = signature[5 + r_len]
    s = int.from_bytes(signature[6 + r_len : 6 + r_len + s_len], "big")
    return r, s


def _der(r: int, s: int) -> bytes:
    def integer(v: int) -> bytes:
        raw = v.to_bytes((v.bit_length() + 8) // 8, "big")
        return b"\x02" + bytes([len(raw)]) + raw

    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


@settings(max_examples=50)
@given(st.binary(min_size=1, max_size=64))
def test_der_signatures_are_low_s_and_high_s_still_verifies(message: bytes) -> None:
    key = PrivateKey.from_wif(K1_WIF)
    digest = sha256(message)
    signature = key.sign_der(digest)
    r, s = _der_parts(signature)
    assert s <= SECP256K1_ORDER // 2
    high_s = _der(r, SECP256K1_ORDER - s)
    assert high_s != signature
    assert verify_der(key.public_key, high_s, digest)


def test_sign_rejects_a_digest_that_is_not_32_bytes() -> None:
    key = PrivateKey.generate()
    with pytest.raises(ValueError, match="32 bytes"):
        key.sign_der(b"x" * 31)
    with pytest.raises(ValueError, match="32 bytes"):
        key.sign_recoverable(b"x" * 33)


def test_wif_payload_decodes_to_version_secret_marker() -> None:
    payload = b58check_decode(K2_WIF)
    key = PrivateKey.from_wif(K2_WIF)
    assert payload == b"\x80" + key.secret + b"\x01"
