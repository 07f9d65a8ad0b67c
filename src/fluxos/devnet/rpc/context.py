"""What every RPC group of one endpoint works with, and the JSON of blocks and transactions
with their chain context (confirmations, spent index), as fluxd prints them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fluxos.chain.block import difficulty
from fluxos.chain.outpoint import OutPoint, hash_hex
from fluxos.chain.params import POW_LIMIT_BITS
from fluxos.chain.transaction import Transaction
from fluxos.chain.txjson import SpentInfo, tx_to_json
from fluxos.devnet.chainstate import BlockEntry, ChainState, ParsedBlock
from fluxos.devnet.endpoint import Endpoint
from fluxos.devnet.engine import ChainEngine
from fluxos.devnet.fluxnodes import FluxnodeRegistry
from fluxos.devnet.indexes import ChainIndexes, address_key, key_address
from fluxos.devnet.mempool import Mempool
from fluxos.devnet.validation import Coin
from fluxos.devnet.wallet import Wallet


@dataclass
class RpcContext:
    """The engine (shared chain) and the endpoint (this fluxd) a request is served for."""

    engine: ChainEngine
    endpoint: Endpoint

    @property
    def chain(self) -> ChainState:
        return self.engine.chain

    @property
    def mempool(self) -> Mempool:
        return self.engine.mempool

    @property
    def indexes(self) -> ChainIndexes:
        return self.engine.indexes

    @property
    def fluxnodes(self) -> FluxnodeRegistry:
        return self.engine.fluxnodes

    @property
    def wallet(self) -> Wallet:
        return self.endpoint.wallet

    # ------------------------------------------------------------------ lookups
    def spent_info(self, outpoint: OutPoint) -> SpentInfo | None:
        """fluxd's GetSpentIndex: the pool first, then the chain."""
        key = (outpoint.txid, outpoint.n)
        spender = self.mempool.spent_by.get(key)
        if spender is not None:
            entry = self.mempool.entries[spender]
            for j, txin in enumerate(entry.tx.vin):
                if (txin.prevout.txid, txin.prevout.n) == key:
                    coin = entry.spent[j] if j < len(entry.spent) else None
                    return _spent(spender, j, -1, coin)
        record = self.indexes.spent.get(key)
        if record is None:
            return None
        address = key_address(record.address) if record.address else None
        return SpentInfo(record.txid, record.input_index, record.height, record.satoshis, address)

    def find_tx(self, txid: bytes) -> tuple[Transaction, bytes, BlockEntry | None] | None:
        """(tx, raw, block entry or None if in the pool) for a known txid."""
        entry = self.mempool.entries.get(txid)
        if entry is not None:
            return entry.tx, entry.raw, None
        location = self.indexes.tx_index.get(txid)
        if location is None:
            return None
        parsed = self.chain.parsed(location.block_hash)
        block = self.chain.entries[location.block_hash]
        return parsed.block.txs[location.position], parsed.tx_bytes(location.position), block

    # ------------------------------------------------------------------ JSON
    def tx_json(self, tx: Transaction, txid: bytes, block: BlockEntry | None) -> dict[str, Any]:
        """TxToJSON with spent-index extras and block context."""
        doc = tx_to_json(tx, txid, self.spent_info)
        if block is not None:
            doc["blockhash"] = hash_hex(block.hash)
            if self.chain.contains(block):
                doc["height"] = block.height
                doc["confirmations"] = self.chain.height - block.height + 1
                doc["time"] = block.time
                doc["blocktime"] = block.time
            else:
                doc["height"] = -1
                doc["confirmations"] = 0
        return doc

    def confirmations(self, block: BlockEntry) -> int:
        return self.chain.height - block.height + 1 if self.chain.contains(block) else -1

    def header_json(self, block: BlockEntry) -> dict[str, Any]:
        h = block.header
        doc: dict[str, Any] = {
            "hash": hash_hex(block.hash),
            "confirmations": self.confirmations(block),
            "height": block.height,
            "version": h.version,
            "merkleroot": hash_hex(h.merkle_root),
            "finalsaplingroot": hash_hex(h.final_sapling_root),
            "time": h.time,
        }
        doc.update(_kind_fields(block))
        doc["bits"] = f"{h.bits:08x}"
        doc["difficulty"] = difficulty(h.bits, POW_LIMIT_BITS)
        doc["chainwork"] = f"{block.chainwork:064x}"
        self._links(doc, block)
        return doc

    def block_json(self, block: BlockEntry, parsed: ParsedBlock, verbosity: int) -> dict[str, Any]:
        h = block.header
        if verbosity >= 2:
            pairs = zip(parsed.block.txs, parsed.txids, strict=True)
            txs: list[Any] = [tx_to_json(t, i, self.spent_info) for t, i in pairs]
        else:
            txs = [hash_hex(t) for t in parsed.txids]
        doc: dict[str, Any] = {
            "hash": hash_hex(block.hash),
            "confirmations": self.confirmations(block),
            "size": block.size,
            "height": block.height,
            "version": h.version,
            "merkleroot": hash_hex(h.merkle_root),
            "finalsaplingroot": hash_hex(h.final_sapling_root),
            "tx": txs,
            "time": h.time,
        }
        doc.update(_kind_fields(block))
        doc["bits"] = f"{h.bits:08x}"
        doc["difficulty"] = difficulty(h.bits, POW_LIMIT_BITS)
        doc["chainwork"] = f"{block.chainwork:064x}"
        doc["anchor"] = _EMPTY_SPROUT_ROOT
        doc["valuePools"] = value_pools()
        self._links(doc, block)
        return doc

    def _links(self, doc: dict[str, Any], block: BlockEntry) -> None:
        if block.prev in self.chain.entries:
            doc["previousblockhash"] = hash_hex(block.prev)
        following = self.chain.next_of(block)
        if following is not None:
            doc["nextblockhash"] = hash_hex(following.hash)


# root of the empty Sprout note commitment tree, which fluxd reports as every block's anchor
_EMPTY_SPROUT_ROOT = "59d2cde5e65c1414c32ba54f0fe4bdb3d67618125286e6a191317917c812c6d7"


def value_pools() -> list[dict[str, Any]]:
    """The devnet never has shielded value: both pools monitored and empty."""
    return [
        {"id": name, "monitored": True, "chainValue": 0.0, "chainValueZat": 0}
        for name in ("sprout", "sapling")
    ]


def _kind_fields(block: BlockEntry) -> dict[str, Any]:
    h = block.header
    if h.is_pon:
        collateral = h.collateral.short() if h.collateral else ""
        return {"type": "PON", "collateral": collateral, "blocksig": h.block_sig.hex()}
    return {"type": "POW", "nonce": hash_hex(h.nonce), "solution": h.solution.hex()}


def _spent(txid: bytes, index: int, height: int, coin: Coin | None) -> SpentInfo:
    akey = address_key(coin.script) if coin is not None else None
    return SpentInfo(
        txid, index, height, coin.value if coin else 0, key_address(akey) if akey else None
    )
