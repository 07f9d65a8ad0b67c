"""The insight-style indexes fluxd keeps with `insightexplorer=1`: transaction locations,
address deltas and unspent outputs, and the spent index.

Addresses are keyed by 21 bytes (type 1 = P2PKH, 2 = P2SH, then the hash160), as fluxd's
address index does; text addresses are made only at the RPC edge.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from fluxos.chain.script import is_p2pkh, is_p2sh
from fluxos.crypto.addresses import FLUX_P2PKH, FLUX_P2SH, address_from_hash, decode_flux_address
from fluxos.devnet.chainstate import BlockEntry, ParsedBlock
from fluxos.devnet.validation import Coin

P2PKH_TYPE = 1
P2SH_TYPE = 2


def address_key(script: bytes) -> bytes | None:
    """The index key of the address a scriptPubKey pays, or None for other scripts."""
    if is_p2pkh(script):
        return b"\x01" + script[3:23]
    if is_p2sh(script):
        return b"\x02" + script[2:22]
    return None


def key_address(key: bytes) -> str:
    return address_from_hash(FLUX_P2PKH if key[0] == P2PKH_TYPE else FLUX_P2SH, key[1:])


def address_to_key(address: str) -> bytes:
    """ValueError unless `address` is a mainnet t1/t3 address."""
    kind, h160 = decode_flux_address(address)
    return (b"\x01" if kind == "p2pkh" else b"\x02") + h160


@dataclass(frozen=True, slots=True)
class TxLocation:
    block_hash: bytes
    position: int
    height: int


@dataclass(frozen=True, slots=True)
class Delta:
    """One change to an address balance (fluxd's CAddressIndexKey/value)."""

    height: int
    block_position: int
    txid: bytes
    index: int  # vout n when receiving, vin index when spending
    spending: bool
    satoshis: int  # negative when spending


@dataclass(frozen=True, slots=True)
class SpentRecord:
    txid: bytes
    input_index: int
    height: int
    satoshis: int
    address: bytes | None


class ChainIndexes:
    """Chain listener maintaining the transaction, address and spent indexes."""

    def __init__(self) -> None:
        self.tx_index: dict[bytes, TxLocation] = {}
        self.deltas: defaultdict[bytes, list[Delta]] = defaultdict(list)
        self.unspent: defaultdict[bytes, set[tuple[bytes, int]]] = defaultdict(set)
        self.spent: dict[tuple[bytes, int], SpentRecord] = {}

    def block_connected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None:
        height = entry.height
        deltas, unspent, spent_index = self.deltas, self.unspent, self.spent
        for pos, tx in enumerate(parsed.block.txs):
            txid = parsed.txids[pos]
            self.tx_index[txid] = TxLocation(entry.hash, pos, height)
            for j, (txin, coin) in enumerate(zip(tx.vin, spent[pos], strict=False)):
                prev = (txin.prevout.txid, txin.prevout.n)
                key = address_key(coin.script)
                spent_index[prev] = SpentRecord(txid, j, height, coin.value, key)
                if key is not None:
                    deltas[key].append(Delta(height, pos, txid, j, True, -coin.value))
                    unspent[key].discard(prev)
            for n, out in enumerate(tx.vout):
                key = address_key(out.script_pubkey)
                if key is not None:
                    deltas[key].append(Delta(height, pos, txid, n, False, out.value))
                    unspent[key].add((txid, n))

    def block_disconnected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None:
        height = entry.height
        touched: set[bytes] = set()
        for pos in range(len(parsed.block.txs) - 1, -1, -1):
            tx = parsed.block.txs[pos]
            txid = parsed.txids[pos]
            location = self.tx_index.get(txid)
            if location is not None and location.block_hash == entry.hash:
                del self.tx_index[txid]
            for n, out in enumerate(tx.vout):
                key = address_key(out.script_pubkey)
                if key is not None:
                    self.unspent[key].discard((txid, n))
                    touched.add(key)
            for txin, coin in zip(tx.vin, spent[pos], strict=False):
                prev = (txin.prevout.txid, txin.prevout.n)
                self.spent.pop(prev, None)
                key = address_key(coin.script)
                if key is not None:
                    self.unspent[key].add(prev)
                    touched.add(key)
        for key in touched:
            items = self.deltas[key]
            while items and items[-1].height == height:
                items.pop()

    # ------------------------------------------------------------------ queries
    def deltas_for(self, key: bytes, start: int = 0, end: int = 0) -> list[Delta]:
        items = self.deltas.get(key, [])
        if start or end:
            return [
                d
                for d in items
                if (not start or d.height >= start) and (not end or d.height <= end)
            ]
        return list(items)

    def balance(self, key: bytes) -> tuple[int, int]:
        """(balance, received) in satoshis, as getaddressbalance reports."""
        balance = received = 0
        for d in self.deltas.get(key, []):
            balance += d.satoshis
            if d.satoshis > 0:
                received += d.satoshis
        return balance, received
