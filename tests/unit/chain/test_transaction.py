"""Transaction codec against real mainnet transactions from the seed, plus round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE, Delegates, FluxnodeTx
from fluxos.chain.outpoint import OutPoint, hash_hex
from fluxos.chain.serialization import DecodeError
from fluxos.chain.transaction import (
    OUTPUT_DESCRIPTION_SIZE,
    SPEND_DESCRIPTION_SIZE,
    Transaction,
    TxIn,
    TxOut,
    joinsplit_size,
)
from fluxos.chain.txjson import tx_to_json

# The createrawtransaction / decoderawtransaction sample of the seed (unsigned).
UNSIGNED_HEX = (
    "0400008085202f89019f36a42d171392adcfba8686bef8efb6aa9645dd4044cde753864ed54fb0254200"
    "00000000feffffff0180608d9e020000001976a91404e2699cec5f44280540fb752c7660aa3ba857cc88"
    "ac01000000fb0809000000000000000000000000"
)
# The fundrawtransaction sample (unsigned) and its signed twin from sendrawtransaction.
FUND_HEX = (
    "0400008085202f8901ab719872dfea1b4f594049722a92efafa4695322d2c08654aafe98c65460663600"
    "00000000ffffffff0140420f00000000001976a9142e5db3157a9783c6208019323f2c3a02610826a988"
    "ac00000000a60a09000000000000000000000000"
)
SIGNED_HEX = (
    "0400008085202f8901ab719872dfea1b4f594049722a92efafa4695322d2c08654aafe98c65460663600"
    "0000006b483045022100e5f02014419280a5c1ed1f94513e8e2bee83f6341863b304fe093dea897f4aa2"
    "0220022a6e6004dbf1305197f4053bd9dd59e21abd23a31d0188d079eb72cab84e990121036b6a136ce8"
    "69a0b400548a9126f06d96181ee974ff1c7f5a5e54e39b7f66be05ffffffff0140420f00000000001976"
    "a9142e5db3157a9783c6208019323f2c3a02610826a988ac00000000a60a0900000000000000000000000"
    "0"
)
# What the seed's sendrawtransaction answered for SIGNED_HEX
SIGNED_TXID = "381bfe56a049208ff90356153f024395b7a74b5ec470d639dd7e6ffa4487b2fe"


def test_unsigned_createrawtransaction_sample() -> None:
    tx = Transaction.from_hex(UNSIGNED_HEX)
    assert tx.version == 4 and tx.overwintered and tx.is_sapling
    assert tx.lock_time == 1
    assert tx.expiry_height == 592123
    assert len(tx.vin) == 1
    assert tx.vin[0].prevout == OutPoint(
        bytes.fromhex("9f36a42d171392adcfba8686bef8efb6aa9645dd4044cde753864ed54fb02542"), 0
    )
    assert tx.vin[0].sequence == 0xFFFFFFFE  # locktime set, so not final
    assert tx.vin[0].script_sig == b""
    doc = tx_to_json(tx)
    assert doc["vin"][0]["txid"] == (
        "4225b04fd54e8653e7cd4440dd4596aab6eff8be8686bacfad9213172da4369f"
    )
    (out,) = doc["vout"]
    assert out["value"] == 112.5 and out["valueSat"] == 11_250_000_000
    assert out["scriptPubKey"]["addresses"] == ["t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa"]
    assert out["scriptPubKey"]["type"] == "pubkeyhash"
    assert doc["versiongroupid"] == "892f2085"
    assert doc["vJoinSplit"] == [] and doc["vShieldedSpend"] == [] and doc["valueBalance"] == 0
    assert tx.serialize().hex() == UNSIGNED_HEX


def test_signed_sendrawtransaction_sample_has_the_txid_the_seed_reports() -> None:
    tx = Transaction.from_hex(SIGNED_HEX)
    assert tx.txid_hex() == SIGNED_TXID
    assert tx.expiry_height == 592550 and tx.lock_time == 0
    doc = tx_to_json(tx)
    script_sig = doc["vin"][0]["scriptSig"]
    assert script_sig["asm"].endswith(
        "[ALL] 036b6a136ce869a0b400548a9126f06d96181ee974ff1c7f5a5e54e39b7f66be05"
    )
    assert doc["vin"][0]["vout"] == 0 and doc["vin"][0]["sequence"] == 0xFFFFFFFF
    assert doc["vout"][0]["valueZat"] == 1_000_000
    assert doc["vout"][0]["scriptPubKey"]["addresses"] == ["t1N6mLX2A64QsyuLbYkfPZSrkLF86hxuuFe"]
    assert tx.serialize().hex() == SIGNED_HEX


def test_unsigned_and_signed_twins_differ_only_in_script_sig() -> None:
    unsigned, signed = Transaction.from_hex(FUND_HEX), Transaction.from_hex(SIGNED_HEX)
    assert unsigned.vout == signed.vout and unsigned.expiry_height == signed.expiry_height
    assert unsigned.vin[0].prevout == signed.vin[0].prevout
    assert unsigned.txid() != signed.txid()


@pytest.mark.parametrize(
    "bad",
    [
        UNSIGNED_HEX[:-2],  # truncated
        UNSIGNED_HEX + "00",  # trailing junk
        "zz" + UNSIGNED_HEX[2:],  # not hex
        "0400008085202f88" + UNSIGNED_HEX[16:],  # unknown version group id
        "",
    ],
)
def test_malformed_hex_is_a_decode_error(bad: str) -> None:
    with pytest.raises(DecodeError):
        Transaction.from_hex(bad)


# ------------------------------------------------------------------ round trips

hash32 = st.binary(min_size=32, max_size=32)
u32 = st.integers(0, 0xFFFFFFFF)
scripts = st.binary(max_size=120)
txins = st.builds(TxIn, st.builds(OutPoint, hash32, u32), scripts, u32)
txouts = st.builds(TxOut, st.integers(0, 2**62), scripts)


@st.composite
def sapling_txs(draw: st.DrawFn) -> Transaction:
    shielded = draw(st.booleans())
    tx = Transaction(
        vin=draw(st.lists(txins, max_size=4)),
        vout=draw(st.lists(txouts, max_size=4)),
        lock_time=draw(u32),
        expiry_height=draw(st.integers(0, 499_999_999)),
        value_balance=draw(st.integers(-(2**40), 2**40)),
    )
    if shielded:
        tx.shielded_spends = draw(
            st.lists(
                st.binary(min_size=SPEND_DESCRIPTION_SIZE, max_size=SPEND_DESCRIPTION_SIZE),
                max_size=2,
            )
        )
        tx.shielded_outputs = draw(
            st.lists(
                st.binary(min_size=OUTPUT_DESCRIPTION_SIZE, max_size=OUTPUT_DESCRIPTION_SIZE),
                max_size=2,
            )
        )
        tx.joinsplits = draw(
            st.lists(
                st.binary(min_size=joinsplit_size(True), max_size=joinsplit_size(True)), max_size=1
            )
        )
        if tx.joinsplits:
            tx.joinsplit_pubkey = draw(hash32)
            tx.joinsplit_sig = draw(st.binary(min_size=64, max_size=64))
        if tx.shielded_spends or tx.shielded_outputs:
            tx.binding_sig = draw(st.binary(min_size=64, max_size=64))
    return tx


@st.composite
def legacy_txs(draw: st.DrawFn) -> Transaction:
    return Transaction(
        version=draw(st.sampled_from([1, 2])),
        overwintered=False,
        version_group_id=0,
        vin=draw(st.lists(txins, max_size=3)),
        vout=draw(st.lists(txouts, max_size=3)),
        lock_time=draw(u32),
    )


@st.composite
def fluxnode_txs(draw: st.DrawFn) -> Transaction:
    version = draw(st.sampled_from([5, 6]))
    kind = draw(st.sampled_from([START_TX_TYPE, CONFIRM_TX_TYPE]))
    fn = FluxnodeTx(kind, OutPoint(draw(hash32), draw(u32)), sig_time=draw(u32))
    fn.sig = draw(st.binary(max_size=72))
    if kind == CONFIRM_TX_TYPE:
        fn.benchmark_tier = draw(st.integers(1, 3))
        fn.benchmark_sig_time = draw(u32)
        fn.update_type = draw(st.integers(0, 1))
        fn.ip = draw(st.text(max_size=40))
        fn.benchmark_sig = draw(st.binary(max_size=72))
    else:
        fn.pubkey = draw(st.binary(min_size=33, max_size=65))
        if version == 6:
            fn.flux_tx_version = draw(st.sampled_from([1, 2, 0x101, 0x102]))
        if fn.is_p2sh:
            fn.redeem_script = draw(scripts)
        else:
            fn.collateral_pubkey = draw(st.binary(min_size=33, max_size=65))
        if fn.has_delegates_feature:
            fn.using_delegates = draw(st.booleans())
            if fn.using_delegates:
                fn.delegates = Delegates(
                    1, 1, draw(st.lists(st.binary(min_size=33, max_size=33), max_size=4))
                )
    return Transaction(version=version, overwintered=False, version_group_id=0, fluxnode=fn)


@settings(max_examples=150)
@given(st.one_of(sapling_txs(), legacy_txs(), fluxnode_txs()))
def test_serialisation_round_trips(tx: Transaction) -> None:
    raw = tx.serialize()
    again = Transaction.from_bytes(raw)
    assert again == tx
    assert again.serialize() == raw
    assert again.txid() == tx.txid()
    assert tx_to_json(again)["txid"] == hash_hex(tx.txid())


def test_fluxnode_txid_ignores_signatures() -> None:
    fn = FluxnodeTx(CONFIRM_TX_TYPE, OutPoint(bytes(range(32)), 1), sig_time=1_700_000_000)
    fn.ip, fn.benchmark_tier, fn.sig = "127.0.0.2:16127", 1, b"\x01" * 65
    tx = Transaction(version=5, overwintered=False, version_group_id=0, fluxnode=fn)
    before = tx.txid()
    fn.sig = b"\x02" * 65
    fn.benchmark_sig = b"\x03" * 65
    assert tx.txid() == before
    doc = tx_to_json(tx)
    assert doc["type"] == "Confirming a fluxnode"
    assert doc["collateral"] == f"COutPoint({hash_hex(bytes(range(32)))}, 1)"
    assert doc["collateral_output"] == f"COutPoint({hash_hex(bytes(range(32)))[:10]}, 1)"
    assert doc["outidx"] == "1" and doc["benchmark_tier"] == "CUMULUS"
    assert "vin" not in doc
