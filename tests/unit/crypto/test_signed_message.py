"""Bitcoin/Zelcash signed messages and FluxOS's verifier (identity.md §7, §13; p2p.md §18.1)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import bech32
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxos.crypto import (
    BITCOIN_MAGIC,
    BITCOIN_P2PKH,
    FLUX_P2SH,
    ZELCASH_MAGIC,
    PrivateKey,
    address_from_hash,
    bitcoin_address,
    flux_address,
    flux_p2sh_address,
    hash160,
    message_digest,
    recover_message_key,
    sign_message,
    verify_bitcoin_message,
    verify_flux_message,
    verify_message,
)
from fluxos.crypto.keys import SECP256K1_ORDER
from fluxos.crypto.signed_message import compact_size

K1_WIF = "5JTeg79dTLzzHXoJPALMWuoGDM8QmLj4n5f6MeFjx8dzsirvjAh"
K1_PUB = (
    "0474eb4690689bb408139249eda7f361b7881c4254ccbe303d3b4d58c2b48897d0"
    "f070b44944941998551f9ea0e1befd96f13adf171c07c885e62d0c2af56d3dab"
)
K2_WIF = "KyL927pfsyZnJhFq5gQGy5eWq9tRYuAppRGiLjvBJGMvMwCqWYmv"
K2_PUB = "03a188275982a2fa48120410d28aa6856adc5c07e15fe6a8bd6ebffc3b11c7beae"

B1_SIG = "G6wvdaMqtuQYqa5BAtKsLHFCYQwB4PXoTwG0YSGtWU6ude/brDNM5MraSBfT64HU3XPhObGohFjLLo6KjtMgnlc="
B6_MSG = "162797868130153vt9r89dzjjjfg6kf34ntf1d8aa5zqlk04j3zy8z40ni"
B7_MSG = "16125160820394ddsh5skgwv0ipodku92y0jbwvpyj17bh68lzrjlxq9"
B9_MSG = "1644935889016mtmbo4uah32tvvwrmzg4j8qzv04ba8g8n56cevn6b"
B11_MSG = "1623904359736pja76q7y68deb4264olbml6o8gyhot2yvj5oevgv9k2"
B11_SIG = "H4lWS4PcrR1tMo8RCLzeYYrd042tsJC9PteIKZvn091ZAYE4K9ydfri8M1KKWe905NHdS4LPPsClqvA4nY/G+II="

# identity.md §13, every Bitcoin signed-message vector: (id, address, message, signature, valid)
IDENTITY_VECTORS = [
    ("B1", "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF", "test", B1_SIG, True),
    ("B2", K1_PUB, "test", B1_SIG, True),
    ("B3", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "test", B1_SIG, False),
    ("B4", "12355", "test", B1_SIG, False),
    ("B5", "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF", "test", "1234567ASDFG", False),
    (
        "B6",
        "1E1NSwDHtvCziYP4CtgiDMcgvgZL64PhkR",
        B6_MSG,
        "IIwyGekXKejWRCnBKMb5Zn2ufi5ylnl3r/wmonoTDm7QCUoe5vZL0SXIwqxO7F8U3Q+kUJapRS2xlUe53KNmC9k=",
        True,
    ),
    (
        "B7",
        "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC",
        B7_MSG,
        "IH9d68fk/dYQtuMlNN7ioc52MJ6ryRT0IYss6h/KCwVWGcbVNFoI8Jh6hIklRq+w2itV/6vs/xzCWp4TUdSWDBc=",
        True,
    ),
    (
        "B8",
        "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC",
        B7_MSG,
        "IH9d68fk/dYQtzMlNN7ioc52MJ6ryRT0IYss6h/KCwVWGcbVNFoI8Jh6hIklRq+w2itV/6vs/xzCWp4TUdSWDBc=",
        False,
    ),
    (
        "B9",
        "1KPKzyp9VyB9ouAA4spZ48x8g32sxLVK6W",
        B9_MSG,
        "H7xcWjpSt8jiAaPbkUsfY3ZutJJmI35MWkGsgWBj/fJHfk7ZKRoggzigdaESLGMDMb2MHlxAapr1sMYDbJkL/H4=",
        True,
    ),
    (
        "B10",
        "1KPKzyp9VyB9ouAA4spZ48x8g32sxLVK6W",
        B9_MSG,
        "IMDMG1GuDasjPMkrGaRQhkLpFO0saBV+v+N6h3wP6/QlF3J9ymLAPZy7DCBd/RnOSzUxmTHruenVeR7LghzRnHA=",
        False,
    ),
    ("B11", "1NH9BP155Rp3HSf5ef6NpUbE8JcyLRruAM", B11_MSG, B11_SIG, True),
    ("B12", "1NH9BP155Rp3HSf5ef6NpUbE8JcyLRruAM", B11_MSG, "N" + B11_SIG[1:], False),
    (
        "B13",
        "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC",
        "1575012988077darschvve5ag82g8e8sgeij4sn61842ya7ovxi9r3kba",
        "IAMZBB0p8aQ6A0Zt8uUKFLdWvPJlBypuczhaM6/R+s5bI72NQs/TPF1KYywvJlumMZyvLmk7JelDwaQbfTjqtSs=",
        True,
    ),
    (
        "B14",
        "1PQWN5vgV3P9KexYmhF133zDft34YhKB3L",
        "1652757506000cl4joxxaevbx93gwhegqj1fqsubhb9tsg9s3hjkbuk8",
        "H0uECFYOXysQVHah5cOTqrlxrZkutl6eaqwc7agovYKcIoqAD8OQWM3uRntl7vIshznPH4toA5jOfI2Lib5Bh+M=",
        True,
    ),
]


@pytest.mark.parametrize(
    ("address", "message", "signature", "valid"),
    [v[1:] for v in IDENTITY_VECTORS],
    ids=[v[0] for v in IDENTITY_VECTORS],
)
def test_identity_vectors(address: str, message: str, signature: str, valid: bool) -> None:
    assert verify_message(message, address, signature) is valid


def test_b1_recovers_the_uncompressed_spec_key() -> None:
    assert recover_message_key("test", B1_SIG) == (bytes.fromhex(K1_PUB), 27)


def test_b14_was_signed_by_the_compressed_spec_key() -> None:
    pubkey, header = recover_message_key(IDENTITY_VECTORS[-1][2], IDENTITY_VECTORS[-1][3])
    assert (pubkey.hex(), header) == (K2_PUB, 31)
    assert PrivateKey.from_wif(K2_WIF).public_key.hex() == K2_PUB


# bitcoinjs-message 2.2.0 README: key L4rK1y…, one message, three header forms.
README_WIF = "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1"
README_MSG = "This is an example of a signed message."
README_SIG = (
    "H9L5yLFjti0QTHhPyFrZCT1V/MMnBtXKmoiKDZ78NDBjERki6ZTQZdSMCtkgoNmp17By9ItJr8o7ChX0XxY91nk="
)
README_P2SH_SIG = "I" + README_SIG[1:]
README_BECH32_SIG = "J" + README_SIG[1:]


def _readme_pkh() -> bytes:
    return hash160(PrivateKey.from_wif(README_WIF).public_key)


def test_signing_is_deterministic_and_matches_bitcoinjs_message() -> None:
    assert sign_message(README_MSG, README_WIF) == README_SIG
    assert verify_message(README_MSG, "1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV", README_SIG)


# Each (address builder, signature, verdict) below was also run through bitcoinjs-message
# 2.2.0's verify(); its verdicts are the expected values.
def _p2sh_p2wpkh() -> str:
    return address_from_hash(b"\x05", hash160(b"\x00\x14" + _readme_pkh()))


@pytest.mark.parametrize(
    ("make_address", "signature", "valid"),
    [
        (_p2sh_p2wpkh, README_P2SH_SIG, True),
        (lambda: bech32.encode("bc", 0, _readme_pkh()), README_BECH32_SIG, True),
        (lambda: bech32.encode("ltc", 0, _readme_pkh()), README_BECH32_SIG, True),  # any HRP
        (lambda: bech32.encode("bc", 1, _readme_pkh()), README_BECH32_SIG, True),  # any version
        (lambda: bech32.encode("bc", 0, _readme_pkh()).upper(), README_BECH32_SIG, True),
        (_p2sh_p2wpkh, README_BECH32_SIG, False),  # a base58 address is not bech32
        (lambda: bech32.encode("bc", 0, _readme_pkh()), README_SIG, False),
        (
            lambda: bitcoin_address(PrivateKey.from_wif(README_WIF).public_key),
            README_P2SH_SIG,
            False,
        ),
    ],
)
def test_segwit_headers_like_bitcoinjs_message(
    make_address: Callable[[], str], signature: str, valid: bool
) -> None:
    assert verify_bitcoin_message(README_MSG, make_address(), signature) is valid


def test_bech32_addresses_never_pass_fluxos_dispatch() -> None:
    # Longer than 36 characters, so signatureVerifier reads them as hex public keys.
    address = bech32.encode("bc", 0, _readme_pkh())
    assert verify_bitcoin_message(README_MSG, address, README_BECH32_SIG)
    assert not verify_message(README_MSG, address, README_BECH32_SIG)


def test_p2sh_p2wpkh_passes_fluxos_dispatch() -> None:
    assert verify_message(README_MSG, _p2sh_p2wpkh(), README_P2SH_SIG)


def test_only_the_first_address_byte_is_dropped() -> None:
    pkh = _readme_pkh()
    # Any 1-byte version with the right hash passes (bitcoinjs-message checks no version)…
    assert verify_message(README_MSG, address_from_hash(b"\x05", pkh), README_SIG)
    assert verify_message(README_MSG, address_from_hash(b"\x30", pkh), README_SIG)
    # …but a 2-byte Flux t1 prefix leaves one prefix byte in front of the hash.
    t1 = flux_address(PrivateKey.from_wif(README_WIF).public_key)
    assert not verify_message(README_MSG, t1, README_SIG)


@pytest.mark.parametrize(
    "signature",
    [
        README_SIG.rstrip("="),  # no padding
        README_SIG[:10] + " \n" + README_SIG[10:],  # whitespace
        README_SIG.replace("/", "_").replace("+", "-"),  # URL-safe alphabet
        README_SIG[:20] + "!*" + README_SIG[20:],  # junk characters are skipped
        README_SIG + "AAAA",  # decoding stops at '='
    ],
)
def test_base64_is_read_as_leniently_as_node(signature: str) -> None:
    # All accepted by bitcoinjs-message 2.2.0 (Node's Buffer.from(s, 'base64')).
    assert verify_message(README_MSG, "1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV", signature)


@pytest.mark.parametrize(
    ("address", "signature"),
    [
        ("1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV", README_SIG[:40] + "=" + README_SIG[40:]),
        ("1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV ", README_SIG),
        ("1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV", ""),
        ("", README_SIG),
    ],
)
def test_malformed_inputs_fail(address: str, signature: str) -> None:
    assert not verify_message(README_MSG, address, signature)


def test_empty_message_fails() -> None:
    assert not verify_message("", "1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV", README_SIG)


def test_pubkey_path_is_hex_as_node_reads_it() -> None:
    assert verify_message("test", K1_PUB.upper(), B1_SIG)
    # Buffer.from(hex) stops at the first non-hex pair; upstream hashes what it got.
    assert verify_message("test", K1_PUB + "zz", B1_SIG)
    assert not verify_message("test", K1_PUB[:-2], B1_SIG)


def test_the_compression_flag_must_match_the_key_form() -> None:
    key = PrivateKey.from_wif(K2_WIF)
    signature = sign_message("node message", key)
    assert verify_message("node message", K2_PUB, signature)
    raw = base64.b64decode(signature)
    as_uncompressed = base64.b64encode(bytes([raw[0] - 4]) + raw[1:]).decode()
    assert not verify_message("node message", K2_PUB, as_uncompressed)
    uncompressed_pub = PrivateKey.from_secret(key.secret, compressed=False).public_key.hex()
    assert verify_message("node message", uncompressed_pub, as_uncompressed)


# p2p.md §18.1: signed envelopes verified against the sender's hex public key.
V1_SIGNED = (
    '1{"type":"fluxapprunning","version":2,"apps":[{"name":"myapp","hash":"3f1a0d9b2c",'
    '"runningSince":"2024-01-01T00:00:00.000Z"}],"ip":"1.2.3.4:16127",'
    '"broadcastedAt":1700000000000,"osUptime":1000,"staticIp":false}1700000000123'
)
V1_SIG = "GwtJfLoqmghiP3QbNyVkkkkQs1H+gI5nxRl5PmTQNnhEBlBSZdXUYDacLEFIVKP5qWGqnyAMKeUw2cUNwBLGZkk="
V2_SIGNED = '1{"type":"fluxapprequest","version":2,"hashes":["' + "a" * 64 + '"]}1700000000123'
V2_SIG = "IAmFqgLIsJSM8IdsDh3PZiSNokJU8guc7JrgmQei98S2cK3wO7X7WLUTSzZe2L1RUPebH5N1dQt118j2qyvp5zQ="


def test_p2p_envelope_vectors() -> None:
    assert verify_message(V1_SIGNED, K1_PUB, V1_SIG)
    assert not verify_message(
        V1_SIGNED.replace('"osUptime":1000', '"osUptime":1001'), K1_PUB, V1_SIG
    )
    assert verify_message(V2_SIGNED, K2_PUB, V2_SIG)
    assert not verify_message(V2_SIGNED, K1_PUB, V2_SIG)


@pytest.mark.parametrize("wif", [K1_WIF, K2_WIF])
@pytest.mark.parametrize("magic", [BITCOIN_MAGIC, ZELCASH_MAGIC])
def test_sign_verify_round_trip(wif: str, magic: str) -> None:
    key = PrivateKey.from_wif(wif)
    message = "round trip ✓ " + magic
    signature = sign_message(message, key, magic)
    header = base64.b64decode(signature)[0]
    assert header in (range(31, 35) if key.compressed else range(27, 31))
    address = bitcoin_address(key.public_key)
    assert verify_message(message, address, signature, magic)
    assert verify_message(message, key.public_key.hex(), signature, magic)
    other = ZELCASH_MAGIC if magic == BITCOIN_MAGIC else BITCOIN_MAGIC
    assert not verify_message(message, address, signature, other)
    assert not verify_message(message + ".", address, signature, magic)
    assert recover_message_key(message, signature, magic) == (key.public_key, header)


def test_sign_accepts_a_wif_or_a_key() -> None:
    key = PrivateKey.from_wif(K2_WIF)
    assert sign_message("x", key) == sign_message("x", K2_WIF)


@pytest.mark.parametrize(("n", "encoded"), [
    (0, "00"), (252, "fc"), (253, "fdfd00"), (0xFFFF, "fdffff"),
    (0x10000, "fe00000100"), (0xFFFFFFFF, "feffffffff"), (0x100000000, "ff0000000001000000"),
])  # fmt: skip
def test_compact_size(n: int, encoded: str) -> None:
    assert compact_size(n).hex() == encoded


@pytest.mark.parametrize("length", [252, 253, 300, 70_000])
def test_long_messages_round_trip(length: int) -> None:
    key = PrivateKey.from_wif(K2_WIF)
    message = "x" * length
    signature = sign_message(message, key)
    assert verify_message(message, bitcoin_address(key.public_key), signature)


def test_message_bytes_follow_javascript_utf8() -> None:
    assert message_digest("héllo") == message_digest("héllo".encode())
    # A lone surrogate (JSON can carry one) is U+FFFD in Node's UTF-8 encoder.
    assert message_digest("a\ud800b") == message_digest("a\ufffdb")
    # A surrogate pair held as two code points is one character in JS.
    assert message_digest("\ud83d\ude00") == message_digest("😀")


def test_bytes_and_str_messages_agree() -> None:
    key = PrivateKey.from_wif(K1_WIF)
    signature = sign_message(b"raw bytes", key)
    assert verify_message("raw bytes", bitcoin_address(key.public_key), signature)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "1234567ASDFG",
        base64.b64encode(bytes([26]) + bytes(range(1, 65))).decode(),  # header below 27
        base64.b64encode(bytes([43]) + bytes(range(1, 65))).decode(),  # header above 42
        base64.b64encode(bytes([31]) + bytes(64)).decode(),  # r = s = 0
        base64.b64encode(bytes([31]) + b"\xff" * 64).decode(),  # r, s >= n
    ],
)
def test_recover_message_key_rejects(signature: str) -> None:
    with pytest.raises(ValueError):
        recover_message_key("m", signature)


def _flip_s(signature: str) -> str:
    """The other valid signature for the same key: s -> n - s, recovery parity flipped."""
    raw = base64.b64decode(signature)
    s = int.from_bytes(raw[33:65], "big")
    header = 27 + ((raw[0] - 27) ^ 1)
    high = (SECP256K1_ORDER - s).to_bytes(32, "big")
    return base64.b64encode(bytes([header]) + raw[1:33] + high).decode()


@settings(max_examples=40)
@given(st.text(min_size=1, max_size=80), st.sampled_from([K1_WIF, K2_WIF]))
def test_ours_are_low_s_and_high_s_verifies(message: str, wif: str) -> None:
    key = PrivateKey.from_wif(wif)
    signature = sign_message(message, key)
    s = int.from_bytes(base64.b64decode(signature)[33:65], "big")
    assert s <= SECP256K1_ORDER // 2
    high_s = _flip_s(signature)
    assert int.from_bytes(base64.b64decode(high_s)[33:65], "big") > SECP256K1_ORDER // 2
    assert verify_message(message, bitcoin_address(key.public_key), high_s)


@settings(max_examples=300)
@given(st.text(), st.text(), st.text())
def test_verify_message_never_raises(message: str, address: str, signature: str) -> None:
    assert verify_message(message, address, signature) in (True, False)
    assert verify_bitcoin_message(message, address, signature) in (True, False)
    assert verify_flux_message(message, address, signature) in (True, False)


_NEAR_VALID_ADDRESSES = st.sampled_from(
    [
        "1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV",
        K1_PUB,
        "0x" + "ab" * 20,
        "t1XvUB6WhsG7m5Rn1ZTwwQ54odhca3jRKPQ",
    ]
)


@settings(max_examples=300)
@given(st.binary(), _NEAR_VALID_ADDRESSES, st.integers(0, 255), st.binary(min_size=64, max_size=64))
def test_verify_never_raises_on_well_formed_garbage(
    message: bytes, address: str, header: int, rs: bytes
) -> None:
    signature = base64.b64encode(bytes([header]) + rs).decode()
    assert verify_message(message, address, signature) in (True, False)
    assert verify_flux_message(message.decode("latin-1"), address, signature) in (True, False)


def test_verify_never_raises_on_non_string_input() -> None:
    assert verify_message("m", 12345, "sig") is False  # type: ignore[arg-type]
    assert verify_message("m", "1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV", None) is False  # type: ignore[arg-type]
    assert verify_flux_message("m", None, "sig") is False  # type: ignore[arg-type]


# fluxd verifymessage (daemon.md §7.2)
def test_flux_message_round_trip() -> None:
    for wif in (K1_WIF, K2_WIF):
        key = PrivateKey.from_wif(wif)
        t1 = flux_address(key.public_key)
        signature = sign_message("fluxd message", key, ZELCASH_MAGIC)
        assert verify_flux_message("fluxd message", t1, signature)
        assert not verify_flux_message("fluxd message.", t1, signature)
        assert not verify_flux_message("fluxd message", t1, sign_message("fluxd message", key))
        assert not verify_flux_message("fluxd message", bitcoin_address(key.public_key), signature)
        assert not verify_flux_message(
            "fluxd message", flux_p2sh_address(key.public_key), signature
        )


def test_flux_message_reads_only_the_low_header_bits() -> None:
    # Like Bitcoin Core's RecoverCompact: recid = (h-27) & 3, compressed = (h-27) & 4.
    key = PrivateKey.from_wif(K1_WIF)
    raw = base64.b64decode(sign_message("m", key, ZELCASH_MAGIC))
    shifted = base64.b64encode(bytes([raw[0] + 8]) + raw[1:]).decode()
    assert verify_flux_message("m", flux_address(key.public_key), shifted)


def test_flux_message_needs_strict_base64_and_a_p2pkh_prefix() -> None:
    key = PrivateKey.from_wif(K2_WIF)
    signature = sign_message("m", key, ZELCASH_MAGIC)
    t1 = flux_address(key.public_key)
    assert not verify_flux_message("m", t1, signature.rstrip("="))
    assert not verify_flux_message(
        "m", address_from_hash(FLUX_P2SH, hash160(key.public_key)), signature
    )
    assert not verify_flux_message(
        "m", address_from_hash(BITCOIN_P2PKH, hash160(key.public_key)), signature
    )
