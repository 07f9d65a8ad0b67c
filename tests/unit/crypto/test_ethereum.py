"""Ethereum personal_sign as FluxOS verifies it (identity.md §7.3, §13 E1–E5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxos.crypto import (
    PrivateKey,
    eth_address,
    keccak256,
    personal_message_bytes,
    personal_message_hash,
    recover_eth_address,
    sign_eth_message,
    to_checksum_address,
    verify_eth_message,
    verify_message,
)

SIGNER = "0xfaA2cA6454F2815C0900da1d4BfbD53072C736eb"
E1 = (
    "testmessage123",
    "0xaaa09d14433ec40513a4ad70d6945ec8459cad37b7fe3102e443d91210fc5d38"
    "47fe0e262043a8b8bbeb33698970ab69dd759ddd52d0f2985b6d80f2e1c119ec1b",
)
E2 = (
    "01231asodimaiosd(**(@#ndasd>??asd!2",
    "0xe244f84b5cff70e11bd23bb3132103dc72d3e77658155b459978c4287ced7303"
    "6e20efe70c3166a74c7b847bd260d9af848a9a68dae1a7d1881250bb6a4593941b",
)


@pytest.mark.parametrize(("message", "signature"), [E1, E2], ids=["E1", "E2"])
def test_identity_vectors_recover_the_signer(message: str, signature: str) -> None:
    assert recover_eth_address(message, signature) == SIGNER
    assert verify_eth_message(message, SIGNER, signature)
    assert verify_eth_message(message, SIGNER.lower(), signature)  # case-insensitive
    assert verify_message(message, SIGNER, signature)  # '0x' dispatches here
    assert not verify_eth_message(message + " ", SIGNER, signature)
    assert not verify_eth_message(message, "0x" + "00" * 20, signature)


@pytest.mark.parametrize(
    ("message", "digest"),
    [
        ("testmessage123", "518ae699da3f6dfe9b2109ec808b3054055e599e20594fd5370b2b018332bd6c"),
        (
            "01231asodimaiosd(**(@#ndasd>??asd!2",
            "63a42e64f2bd5c4747478bdc029fc0326befecd301233b311dbda8f50de94d77",
        ),
    ],
    ids=["E3", "E4"],
)
def test_identity_hash_vectors(message: str, digest: str) -> None:
    assert personal_message_hash(message).hex() == digest


def test_e5_hex_helper() -> None:
    assert personal_message_bytes("somestring").hex() == "736f6d65737472696e67"
    assert personal_message_bytes("12345").hex() == "3132333435"


# Hashes produced by upstream's own code path (ethereumHelper.hashMessage's conversion
# with nano-ethereum-signer 0.1.2's keccak, run under Node 20) for characters outside
# U+0010..U+00FF, where the unpadded-hex quirk shows.
@pytest.mark.parametrize(
    ("message", "digest"),
    [
        ("line one\nline two", "86a0ebf002496016ff067fb04f0d1aca8e174f3da87c167b971080201f85721e"),
        ("tab\there", "b4d7b64211a798e2f669d620f2f29e47fb6deab279ea314ef571dce1e16d1dd5"),
        ("héllo wörld", "bdf8b0b921c807ec20842522c2dff32051d6169a24ab4edd0eeeeb9b902436fe"),
        ("Ωmega", "eb46b4e001eb2a083352e86500fddf5c29e0d6f52c7987153f0841c055a45ed6"),
        ("emoji 😀 end", "2b5a7b577835a8c308fb11636e9c6e6b6aecf5f1246c013282a13b380a068117"),
        ("\x01", "38fac6360805275eb58f90a0925a9c55477f73ceb68657f04a14ff9d16f9ea56"),
        ("a\u0100b", "3444feee761fb79ec63e59cc849fc3ff316e446c66319816eeb2b51c98593adf"),
        ("end\n", "cff62f74909f8c237d14a15ea606ce69d037bf4bbdbd0b89184cee2c84429702"),
    ],
)
def test_hex_quirk_matches_upstream(message: str, digest: str) -> None:
    assert personal_message_hash(message).hex() == digest


def test_quirk_shapes() -> None:
    assert personal_message_bytes("é") == b"\xe9"  # Latin-1, not UTF-8
    assert personal_message_bytes("\n") == b"\x0a"  # 'a' alone, read as one byte
    assert personal_message_bytes("a\nb") == bytes([0x61, 0xA6, 0x02])  # "61"+"a"+"62"
    assert personal_message_bytes("") == b""


def test_bytes_are_hashed_as_standard_eip191() -> None:
    assert personal_message_hash(b"\x00\xff") == keccak256(
        b"\x19Ethereum Signed Message:\n2\x00\xff"
    )


def test_signing_matches_nano_ethereum_signer() -> None:
    # nano-ethereum-signer 0.1.2 signMessage(hashMessage(m), 0x11…11) under Node 20.
    key = PrivateKey.from_secret(bytes([0x11]) * 32, compressed=False)
    assert eth_address(key.public_key) == "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
    assert sign_eth_message("line one\nline two", key) == (
        "0x4c7a601a1a30e1b167211b8aff47eb27dcb79ba0a8a07c088c2bc2ce3e607ef1"
        "5bd9d457983505b6ba2121d56d239d41e90ad856a31bf01defce332539055dba1b"
    )


def test_eth_address_ignores_the_key_form() -> None:
    key = PrivateKey.generate()
    uncompressed = PrivateKey.from_secret(key.secret, compressed=False)
    assert eth_address(key.public_key) == eth_address(uncompressed.public_key)


@pytest.mark.parametrize(
    "address",
    [
        # EIP-55 specification examples
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ],
)
def test_eip55_checksums(address: str) -> None:
    assert to_checksum_address(address.lower()) == address
    assert to_checksum_address(address.upper().replace("0X", "0x")) == address


@pytest.mark.parametrize(
    "address", ["", "0x1234", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x" + "g" * 40]
)
def test_to_checksum_address_rejects(address: str) -> None:
    with pytest.raises(ValueError):
        to_checksum_address(address)


@pytest.mark.parametrize("v_base", [0, 27, 37, 2709])
def test_v_encodings(v_base: int) -> None:
    # 0/1 raw, 27/28 legacy, 37/38 EIP-155 chain 1, 2709/2710 chain 1337 (two bytes).
    key = PrivateKey.generate()
    signature = sign_eth_message("v forms", key)
    recid = int(signature[130:], 16) - 27
    v_hex = format(v_base + recid, "x")
    resigned = signature[:130] + v_hex.rjust(len(v_hex) + len(v_hex) % 2, "0")
    assert recover_eth_address("v forms", resigned) == eth_address(key.public_key)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "0x",
        E1[1][:-2],  # no v
        E1[1][:-1],  # odd length
        E1[1][:-2] + "zz",
        "0x" + "00" * 65,  # r = s = 0
        E1[1][:10] + " " + E1[1][11:],
    ],
)
def test_malformed_signatures(signature: str) -> None:
    assert not verify_eth_message(E1[0], SIGNER, signature)
    with pytest.raises(ValueError):
        recover_eth_address(E1[0], signature)


@settings(max_examples=30)
@given(st.text(max_size=60))
def test_sign_verify_round_trip(message: str) -> None:
    key = PrivateKey.generate(compressed=False)
    signature = sign_eth_message(message, key)
    assert verify_eth_message(message, eth_address(key.public_key), signature)


@settings(max_examples=300)
@given(st.text(), st.text(), st.text())
def test_verify_never_raises(message: str, address: str, signature: str) -> None:
    assert verify_eth_message(message, address, signature) in (True, False)
    assert verify_message(message, "0x" + address, signature) in (True, False)
