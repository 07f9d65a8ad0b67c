"""Crafted Flux transactions for explorer tests: real codec objects, rendered to the JSON
fluxd prints (`getrawtransaction txid 1`), or assembled into explorer blocks."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from fluxos.chain.outpoint import NULL_HASH, OutPoint, hash_from_hex
from fluxos.chain.script import nulldata_script, script_for_address
from fluxos.chain.transaction import Transaction, TxIn, TxOut
from fluxos.chain.txjson import tx_to_json
from fluxos.crypto.addresses import FLUX_P2PKH, FLUX_P2SH, address_from_hash
from fluxos.explorer.blocks import ChainBlock, tx_from_json

COIN = 100_000_000
_counter = itertools.count(1)


def p2pkh_address(seed: int | str) -> str:
    return address_from_hash(FLUX_P2PKH, hashlib.sha256(f"pkh{seed}".encode()).digest()[:20])


def p2sh_address(seed: int | str) -> str:
    return address_from_hash(FLUX_P2SH, hashlib.sha256(f"sh{seed}".encode()).digest()[:20])


def pay(address: str, satoshis: int) -> TxOut:
    return TxOut(satoshis, script_for_address(address))


def memo(data: bytes | str) -> TxOut:
    """An OP_RETURN output carrying `data` (text is ASCII-encoded, as wallets do)."""
    return TxOut(0, nulldata_script(data.encode() if isinstance(data, str) else data))


def spend(txid: str, vout: int) -> TxIn:
    return TxIn(OutPoint(hash_from_hex(txid), vout), b"\x51")


def coinbase(*outputs: TxOut) -> Transaction:
    """A coinbase; a counter in its script keeps every txid distinct."""
    tag = next(_counter).to_bytes(4, "little")
    return Transaction(
        vin=[TxIn(OutPoint(NULL_HASH, 0xFFFFFFFF), b"\x04" + tag)], vout=list(outputs)
    )


def transaction(inputs: list[TxIn], outputs: list[TxOut], version: int = 4) -> Transaction:
    if version < 3:
        return Transaction(
            version=version, overwintered=False, version_group_id=0, vin=inputs, vout=outputs
        )
    return Transaction(vin=inputs, vout=outputs)


def rendered(tx: Transaction) -> dict[str, Any]:
    """The transaction as fluxd's verbose JSON."""
    return tx_to_json(tx)


def block(height: int, txs: list[Transaction], prev_hash: str | None) -> ChainBlock:
    """An explorer block of `txs`, with a hash derived from its height and content."""
    digest = hashlib.sha256(f"{height}{prev_hash}".encode())
    for tx in txs:
        digest.update(tx.txid())
    built = ChainBlock(
        height=height, hash=digest.hexdigest(), prev_hash=prev_hash, time=1_700_000_000 + height
    )
    built.txs = [tx_from_json(rendered(tx), position) for position, tx in enumerate(txs)]
    return built
