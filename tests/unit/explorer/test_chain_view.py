"""The explorer's block view is the same whether built from fluxd's JSON or raw bytes."""

import pytest

from fluxos.chain.block import Block, BlockHeader
from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, FluxnodeTx
from fluxos.chain.outpoint import OutPoint, hash_from_hex, hash_hex
from fluxos.chain.script import multisig_script, p2pk_script
from fluxos.chain.transaction import Transaction, TxOut
from fluxos.crypto.addresses import FLUX_P2PKH, address_from_hash
from fluxos.crypto.hashes import hash160
from fluxos.explorer.blocks import BlockFormatError, block_from_json, block_from_raw, tx_from_json
from tests.support.chaintxs import (
    COIN,
    coinbase,
    memo,
    p2pkh_address,
    p2sh_address,
    pay,
    rendered,
    spend,
    transaction,
)

PUBKEY = bytes.fromhex("02" + "11" * 32)


def sample_block() -> tuple[Block, int]:
    first = coinbase(pay(p2pkh_address(1), 150 * COIN), pay(p2sh_address(2), 7))
    payment = transaction(
        [spend(first.txid_hex(), 0), spend("33" * 32, 5)],
        [
            pay(p2pkh_address(3), COIN),
            TxOut(2 * COIN, p2pk_script(PUBKEY)),
            TxOut(3, multisig_script(1, [PUBKEY, bytes.fromhex("03" + "22" * 32)])),
            TxOut(0, b""),
            memo("hello"),
        ],
    )
    legacy = transaction([spend("44" * 32, 0)], [pay(p2pkh_address(4), 9)], version=1)
    node = Transaction(
        version=5,
        overwintered=False,
        version_group_id=0,
        fluxnode=FluxnodeTx(
            CONFIRM_TX_TYPE,
            OutPoint(hash_from_hex("55" * 32), 1),
            benchmark_tier=3,
            update_type=0,
            ip="1.2.3.4",
            sig=b"s" * 64,
            benchmark_sig=b"b" * 64,
        ),
    )
    header = BlockHeader(prev_hash=hash_from_hex("66" * 32), time=1_700_000_123, bits=0x1F07FFFF)
    return Block(header, [first, payment, legacy, node]), 2_100_042


def test_raw_and_json_views_agree() -> None:
    block, height = sample_block()
    verbose = {
        "hash": block.header.hash_hex(),
        "height": height,
        "time": block.header.time,
        "previousblockhash": hash_hex(block.header.prev_hash),
        "confirmations": 1,
        "tx": [rendered(tx) for tx in block.txs],
    }
    from_json = block_from_json(verbose)
    from_raw = block_from_raw(block.serialize(), height)
    assert from_raw == from_json
    txs = from_json.txs
    assert [tx.txid for tx in txs] == [tx.txid_hex() for tx in block.txs]
    assert txs[0].coinbase and not txs[0].inputs
    payment = txs[1]
    assert [(i.txid, i.vout) for i in payment.inputs] == [
        (block.txs[0].txid_hex(), 0),
        ("33" * 32, 5),
    ]
    assert [o.indexed for o in payment.outputs] == [True, False, False, False, False]
    # P2PK and multisig outputs name an address (fluxd's addresses[0]) but are not indexed
    assert payment.outputs[1].address == address_from_hash(FLUX_P2PKH, hash160(PUBKEY))
    assert payment.outputs[2].address == payment.outputs[1].address
    assert payment.memo_asm == "OP_RETURN 68656c6c6f"
    assert txs[3].fluxnode is not None and txs[3].fluxnode.benchmark_tier == "STRATUS"


def test_memo_is_the_last_output_with_a_script() -> None:
    tx = transaction(
        [spend("77" * 32, 0)], [memo("first"), pay(p2pkh_address(9), 1), TxOut(0, b"")]
    )
    view = tx_from_json(rendered(tx))
    assert view.memo_asm.startswith("OP_DUP OP_HASH160")


def test_first_block_has_no_previous_hash() -> None:
    block, _ = sample_block()
    block.header.prev_hash = bytes(32)
    assert block_from_raw(block.serialize(), 0).prev_hash is None


def test_verbosity_one_is_refused() -> None:
    with pytest.raises(BlockFormatError, match="verbosity 2"):
        block_from_json({"hash": "aa", "height": 5, "time": 1, "tx": ["ab" * 32]})


def test_missing_field_is_named() -> None:
    with pytest.raises(BlockFormatError, match="height"):
        block_from_json({"hash": "aa", "time": 1, "tx": []})
