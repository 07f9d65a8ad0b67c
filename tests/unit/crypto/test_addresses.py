"""Address derivation (Bitcoin P2PKH, Flux t1/t3), decoding, and the ZelID format rule."""

from __future__ import annotations

import pytest

from fluxos.crypto import (
    FLUX_P2SH,
    FLUX_TESTNET_P2PKH,
    FLUX_TESTNET_P2SH,
    PrivateKey,
    address_from_hash,
    b58check_decode,
    bitcoin_address,
    decode_flux_address,
    flux_address,
    flux_p2sh_address,
    hash160,
    is_zelid,
)

K1_PUB = bytes.fromhex(
    "0474eb4690689bb408139249eda7f361b7881c4254ccbe303d3b4d58c2b48897d0"
    "f070b44944941998551f9ea0e1befd96f13adf171c07c885e62d0c2af56d3dab"
)
K2_PUB = bytes.fromhex("03a188275982a2fa48120410d28aa6856adc5c07e15fe6a8bd6ebffc3b11c7beae")

# Mainnet P2SH addresses that fluxd pays to (daemon.md §7.5).
FLUX_MAINNET_T3 = [
    "t3PMbbA5YBMrjSD3dD16SSdXKuKovwmj6tS",
    "t3XjYMBvwxnXVv9jqg4CgokZ3f7kAoXPQL8",
    "t3ThbWogDoAjGuS6DEnmN1GWJBRbVjSUK4T",
    "t3hPu1YDeGUCp8m7BQCnnNUmRMJBa5RadyA",
]


def test_bitcoin_addresses_of_the_spec_keys() -> None:
    assert bitcoin_address(K1_PUB) == "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF"
    assert bitcoin_address(K2_PUB) == "1PQWN5vgV3P9KexYmhF133zDft34YhKB3L"


@pytest.mark.parametrize(
    ("pubkey", "bitcoin"),
    [
        (K1_PUB, "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF"),
        (K2_PUB, "1PQWN5vgV3P9KexYmhF133zDft34YhKB3L"),
    ],
)
def test_flux_t1_carries_the_same_key_hash_as_the_bitcoin_address(
    pubkey: bytes, bitcoin: str
) -> None:
    address = flux_address(pubkey)
    assert address.startswith("t1") and len(address) == 35
    assert decode_flux_address(address) == ("p2pkh", b58check_decode(bitcoin)[1:])


def test_t3_from_a_redeem_script() -> None:
    # A 1-of-2 multisig redeem script: OP_1 <K2> <K1> OP_2 OP_CHECKMULTISIG.
    script = b"\x51" + b"\x21" + K2_PUB + b"\x41" + K1_PUB + b"\x52\xae"
    address = flux_p2sh_address(script)
    assert address.startswith("t3")
    assert decode_flux_address(address) == ("p2sh", hash160(script))


@pytest.mark.parametrize("address", FLUX_MAINNET_T3)
def test_decode_real_mainnet_t3(address: str) -> None:
    kind, h160 = decode_flux_address(address)
    assert kind == "p2sh"
    assert address_from_hash(FLUX_P2SH, h160) == address


def test_testnet_prefixes_give_tm_and_t2() -> None:
    h160 = hash160(K2_PUB)
    assert address_from_hash(FLUX_TESTNET_P2PKH, h160).startswith("tm")
    assert address_from_hash(FLUX_TESTNET_P2SH, h160).startswith("t2")


@pytest.mark.parametrize(
    "address",
    [
        "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF",  # Bitcoin, 1-byte version
        "t2GoxS2SRmLQDnTyWePHjKD3izvFsKUAjrH",  # regtest P2SH (daemon.md §7.5)
        address_from_hash(FLUX_TESTNET_P2PKH, bytes(20)),
        "t3PMbbA5YBMrjSD3dD16SSdXKuKovwmj6tT",  # checksum broken
        "",
        "not an address",
    ],
)
def test_decode_flux_address_rejects(address: str) -> None:
    with pytest.raises(ValueError):
        decode_flux_address(address)


def test_address_from_hash_needs_20_bytes() -> None:
    with pytest.raises(ValueError, match="20 bytes"):
        address_from_hash(FLUX_P2SH, bytes(19))


def test_generated_keys_round_trip_through_t1() -> None:
    for compressed in (True, False):
        key = PrivateKey.generate(compressed=compressed)
        assert decode_flux_address(flux_address(key.public_key)) == (
            "p2pkh",
            hash160(key.public_key),
        )


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        # identity.md §13, the idService address-format vectors
        ("2Z123434", False),
        ("1Z123434", False),  # too short
        ("1Z1234341Z1234341Z1234341Z1234341Z12", False),  # 36 chars
        ("1Z1234341Z1234341Z1234341Z1234341", True),  # 33 chars: format only, no checksum
        # the rule's edges
        ("1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF", True),
        ("1" + "A" * 24, True),  # 25 chars
        ("1" + "A" * 23, False),  # 24 chars
        ("1" + "A" * 33, True),  # 34 chars
        ("1" + "A" * 34, False),  # 35 chars
        ("1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJt0", False),  # '0' outside base58
        ("1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtl", False),  # 'l' outside base58
        ("0xfaA2cA6454F2815C0900da1d4BfbD53072C736eb", True),
        ("0xfaa2ca6454f2815c0900da1d4bfbd53072c736eb", True),
        ("0xfaA2cA6454F2815C0900da1d4BfbD53072C736e", False),  # 39 hex
        ("0xfaA2cA6454F2815C0900da1d4BfbD53072C736ebb", False),  # 41 hex
        ("0xfaA2cA6454F2815C0900da1d4BfbD53072C736eg", False),
        ("0xfaA2cA6454F2815C0900da1d4BfbD53072C736eb\n", False),
        ("0XfaA2cA6454F2815C0900da1d4BfbD53072C736eb", False),
        ("", False),
        ("3DnW8JGpPViEZdpqat8qky1zc26EKbXnmM", False),
        ("bc1qngw83fg8dz0k749cg7k3emc7v98wy0c74dlrkd", False),
        ("t1XvUB6WhsG7m5Rn1ZTwwQ54odhca3jRKPQ", False),
    ],
)
def test_is_zelid(address: str, valid: bool) -> None:
    assert is_zelid(address) is valid
