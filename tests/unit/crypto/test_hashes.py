"""Hashes against published test vectors."""

from __future__ import annotations

from Crypto.Hash import RIPEMD160
from hypothesis import given
from hypothesis import strategies as st

from fluxos.crypto import b58check_decode, hash160, keccak256, sha256, sha256d
from fluxos.crypto.hashes import ripemd160


def test_sha256_fips_vector() -> None:
    assert sha256(b"abc").hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_sha256d_is_sha256_twice_of_the_empty_string() -> None:
    # Bitcoin's hash256("") as printed in many test suites.
    assert sha256d(b"").hex() == (
        "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
    )


def test_ripemd160_reference_vectors() -> None:
    assert ripemd160(b"").hex() == "9c1185a5c5e9fc54612808977ee8f548b2258d31"
    assert ripemd160(b"abc").hex() == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"


@given(st.binary(max_size=200))
def test_ripemd160_matches_pycryptodome(data: bytes) -> None:
    # Whichever backend was picked at import, it agrees with the fallback.
    assert ripemd160(data) == RIPEMD160.new(data).digest()


def test_hash160_of_a_public_key_is_the_address_payload() -> None:
    # identity.md §13: this compressed key owns 1PQWN5vgV3P9KexYmhF133zDft34YhKB3L.
    pubkey = bytes.fromhex("03a188275982a2fa48120410d28aa6856adc5c07e15fe6a8bd6ebffc3b11c7beae")
    assert hash160(pubkey) == b58check_decode("1PQWN5vgV3P9KexYmhF133zDft34YhKB3L")[1:]


def test_keccak256_is_ethereum_keccak_not_sha3() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    # SHA3-256("") is a7ffc6f8…; the padding differs.
    assert not keccak256(b"").hex().startswith("a7ffc6f8")
