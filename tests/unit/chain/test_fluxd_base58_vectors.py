"""fluxd's base58 test data, run as its base58_tests.cpp runs it.

* base58_encode_decode.json: [hex, base58] pairs for the base58 codec fluxos relies on.
* base58_keys_valid.json: [text, hex payload, {isPrivkey, chain, isCompressed}]. A public
  entry must decode, under its chain's prefixes, to an address whose scriptPubKey is the
  payload, and must not decode as a private key; a private entry must decode to that
  secret with that compression, and must not decode as an address.
* base58_keys_invalid.json: [text]: neither an address nor a private key (mainnet, the
  daemon's default chain in that test).
"""

from __future__ import annotations

from typing import Any

import base58
import pytest
from tests.support.fluxdvectors import case_ids, cases, load

from fluxos.chain.script import p2pkh_script, p2sh_script, script_for_address
from fluxos.crypto.addresses import (
    FLUX_TESTNET_P2PKH,
    FLUX_TESTNET_P2SH,
    decode_flux_address,
)
from fluxos.crypto.base58check import b58check_decode
from fluxos.crypto.keys import WIF_MAINNET, WIF_TESTNET, PrivateKey

CODEC = cases("base58_encode_decode.json")
VALID = cases("base58_keys_valid.json", 3)
INVALID = [(i, e) for i, e in enumerate(load("base58_keys_invalid.json"))]


def destination_script(text: str, chain: str) -> bytes | None:
    """fluxd's GetScriptForDestination(DecodeDestination(text)) under `chain`, or None."""
    try:
        if chain == "mainnet":
            return script_for_address(text)
        payload = b58check_decode(text)
    except ValueError:
        return None
    if len(payload) != 22:
        return None
    if payload[:2] == FLUX_TESTNET_P2PKH:
        return p2pkh_script(payload[2:])
    if payload[:2] == FLUX_TESTNET_P2SH:
        return p2sh_script(payload[2:])
    return None


def secret(text: str, chain: str) -> PrivateKey | None:
    """fluxd's DecodeSecret under `chain` (its WIF version byte only), or None."""
    try:
        key = PrivateKey.from_wif(text)
        version = b58check_decode(text)[0]
    except ValueError:
        return None
    return key if version == (WIF_MAINNET if chain == "mainnet" else WIF_TESTNET) else None


@pytest.mark.parametrize(("index", "entry"), CODEC, ids=case_ids(CODEC))
def test_base58_encode_decode(index: int, entry: list[Any]) -> None:
    data, text = bytes.fromhex(entry[0]), entry[1]
    assert base58.b58encode(data).decode() == text
    assert base58.b58decode(text) == data


@pytest.mark.parametrize(("index", "entry"), VALID, ids=case_ids(VALID))
def test_base58_keys_valid(index: int, entry: list[Any]) -> None:
    text, payload, meta = entry[0], bytes.fromhex(entry[1]), entry[2]
    chain = meta["chain"]
    if meta["isPrivkey"]:
        key = secret(text, chain)
        assert key is not None, f"entry {index} must decode as a {chain} private key"
        assert key.compressed is meta["isCompressed"]
        assert key.secret == payload
        assert destination_script(text, chain) is None
    else:
        assert destination_script(text, chain) == payload
        assert secret(text, chain) is None
        if chain == "mainnet":  # the address decoder the node itself uses
            kind, h160 = decode_flux_address(text)
            assert h160 in payload and kind in ("p2pkh", "p2sh")


@pytest.mark.parametrize(("index", "entry"), INVALID, ids=case_ids(INVALID))
def test_base58_keys_invalid(index: int, entry: list[Any]) -> None:
    assert destination_script(entry[0], "mainnet") is None
    assert secret(entry[0], "mainnet") is None


def test_the_files_are_all_read() -> None:
    assert (len(CODEC), len(VALID), len(INVALID)) == (12, 50, 50)
