"""Script classification, addresses and fluxd's asm text."""

from __future__ import annotations

from fluxos.chain.script import (
    multisig_script,
    nulldata_script,
    p2pkh_script,
    p2sh_script,
    push_int,
    script_addresses,
    script_for_address,
    script_json,
    script_num_decode,
    script_num_encode,
    solve,
    to_asm,
)
from fluxos.crypto.addresses import flux_address, flux_p2sh_address
from fluxos.crypto.keys import PrivateKey

SEED_SCRIPT = bytes.fromhex("76a91404e2699cec5f44280540fb752c7660aa3ba857cc88ac")


def test_decodescript_sample_of_the_seed() -> None:
    doc = script_json(SEED_SCRIPT, include_hex=False)
    assert doc == {
        "asm": "OP_DUP OP_HASH160 04e2699cec5f44280540fb752c7660aa3ba857cc"
        " OP_EQUALVERIFY OP_CHECKSIG",
        "reqSigs": 1,
        "type": "pubkeyhash",
        "addresses": ["t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa"],
    }
    assert script_for_address("t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa") == SEED_SCRIPT


def test_p2sh_multisig_and_nulldata() -> None:
    keys = [PrivateKey.generate().public_key for _ in range(3)]
    redeem = multisig_script(2, keys)
    sol, addresses = script_addresses(redeem)
    assert sol.type == "multisig" and sol.required == 2
    assert addresses == [flux_address(k) for k in keys]
    assert to_asm(redeem).startswith("2 ") and to_asm(redeem).endswith(" 3 OP_CHECKMULTISIG")
    p2sh = script_for_address(flux_p2sh_address(redeem))
    assert solve(p2sh).type == "scripthash" and p2sh == p2sh_script(solve(p2sh).data[0])
    data = nulldata_script(b"hello app hash")
    doc = script_json(data)
    assert doc["type"] == "nulldata" and "addresses" not in doc
    assert doc["asm"] == "OP_RETURN " + b"hello app hash".hex()
    assert solve(nulldata_script(b"x" * 81)).type == "nonstandard"


def test_asm_numbers_sighash_and_truncation() -> None:
    assert to_asm(bytes.fromhex("0003010203")) == "0 197121"
    assert to_asm(push_int(-1) + push_int(16)) == "-1 16"
    assert to_asm(bytes.fromhex("4c05aabb")) == "[error]"
    assert to_asm(bytes.fromhex("ff")) == "OP_INVALIDOPCODE"
    assert to_asm(bytes.fromhex("ba")) == "OP_UNKNOWN"
    assert solve(p2pkh_script(bytes(20))).type == "pubkeyhash"


def test_script_numbers_round_trip() -> None:
    for value in (0, 1, -1, 127, 128, -128, 255, 256, -32768, 2**31 - 1):
        assert script_num_decode(script_num_encode(value)) == value
