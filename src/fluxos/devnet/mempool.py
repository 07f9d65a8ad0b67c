"""The memory pool: fluxd's AcceptToMemoryPool checks, conflicts, and block updates.

A transaction enters only if its inputs exist (in the chain or in the pool) and are not
spent by another pool transaction, its signatures verify, its value balances and it pays
at least the relay fee. Parents always enter before children, so insertion order is a
valid block order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fluxos.chain.interpreter import STANDARD_FLAGS
from fluxos.chain.outpoint import hash_hex
from fluxos.chain.params import MIN_RELAY_FEE_PER_KB, TX_EXPIRING_SOON_THRESHOLD
from fluxos.chain.sighash import SighashCache
from fluxos.chain.transaction import Transaction
from fluxos.clock import Clock
from fluxos.devnet.chainstate import BlockEntry, ChainState, ParsedBlock, UtxoKey
from fluxos.devnet.fluxnodes import FluxnodeRegistry
from fluxos.devnet.indexes import ChainIndexes
from fluxos.devnet.validation import (
    REJECT_DUPLICATE,
    REJECT_INSUFFICIENTFEE,
    REJECT_INVALID,
    REJECT_NONSTANDARD,
    Coin,
    TxRejected,
    check_contextual,
    check_inputs_standard,
    check_transaction,
    input_value,
    is_expired,
    is_final,
    is_standard,
    sigop_count,
    verify_inputs,
)

log = logging.getLogger(__name__)

MEMPOOL_HEIGHT = 0x7FFFFFFF  # height of coins created by pool transactions
MAX_STANDARD_TX_SIGOPS = 4000
REJECT_HIGHFEE = 0  # fluxd reports absurd fees as a plain error, not a reject code


@dataclass(slots=True)
class MempoolEntry:
    tx: Transaction
    txid: bytes
    raw: bytes
    fee: int
    time: int
    height: int
    spent: list[Coin]
    fee_delta: int = 0
    priority_delta: float = 0.0
    children: set[bytes] = field(default_factory=set)

    @property
    def size(self) -> int:
        return len(self.raw)


class AlreadyInChain(Exception):
    """The transaction is already confirmed (sendrawtransaction's -27)."""


def min_relay_fee(size: int) -> int:
    fee = MIN_RELAY_FEE_PER_KB * size // 1000
    return fee if fee > 0 else MIN_RELAY_FEE_PER_KB


class Mempool:
    """Unconfirmed transactions over the active chain."""

    def __init__(
        self,
        chain: ChainState,
        indexes: ChainIndexes,
        fluxnodes: FluxnodeRegistry,
        clock: Clock,
    ) -> None:
        self.chain = chain
        self.indexes = indexes
        self.clock = clock
        self.entries: dict[bytes, MempoolEntry] = {}
        self.spent_by: dict[UtxoKey, bytes] = {}
        self.fluxnode_by_collateral: dict[UtxoKey, bytes] = {}
        self.fluxnodes = fluxnodes
        self.total_bytes = 0

    # ------------------------------------------------------------------ lookups
    def coin(self, key: UtxoKey) -> Coin | None:
        """Chain + pool view: pool outputs are coins at MEMPOOL_HEIGHT, pool spends are gone."""
        if key in self.spent_by:
            return None
        coin = self.chain.utxo.get(key)
        if coin is not None:
            return coin
        parent = self.entries.get(key[0])
        if parent is not None and key[1] < len(parent.tx.vout):
            out = parent.tx.vout[key[1]]
            return Coin(out.value, out.script_pubkey, MEMPOOL_HEIGHT, False)
        return None

    def __contains__(self, txid: bytes) -> bool:
        return txid in self.entries

    def _known_unspent_outputs(self, txid: bytes) -> bool:
        """fluxd's HaveCoins(txid): does any output of that transaction remain unspent?"""
        entry = self.entries.get(txid)
        if entry is not None:
            return True
        location = self.indexes.tx_index.get(txid)
        if location is None:
            return False
        tx = self.chain.parsed(location.block_hash).block.txs[location.position]
        return any((txid, n) in self.chain.utxo for n in range(len(tx.vout)))

    # ------------------------------------------------------------------ accept
    def accept(
        self,
        tx: Transaction,
        raw: bytes | None = None,
        *,
        allow_high_fees: bool = False,
        txid: bytes | None = None,
        time: int | None = None,
        sighash_cache: SighashCache | None = None,
    ) -> MempoolEntry:
        """Run fluxd's acceptance rules; raises TxRejected, or AlreadyInChain.

        `sighash_cache` may carry the signer's precomputed ZIP-243 digests of this tx.
        """
        raw = raw if raw is not None else tx.serialize()
        txid = txid or tx.txid()
        existing = self.entries.get(txid)
        if existing is not None:
            return existing
        next_height = self.chain.height + 1
        check_transaction(tx, len(raw))
        check_contextual(tx, next_height, len(raw))
        if tx.expiry_height and next_height + TX_EXPIRING_SOON_THRESHOLD > tx.expiry_height:
            raise TxRejected(REJECT_INVALID, "tx-expiring-soon")
        if tx.is_coinbase:
            raise TxRejected(REJECT_INVALID, "coinbase")
        if tx.is_fluxnode:
            # no inputs to spend twice: only the txid tells a mined one from a new one
            if txid in self.indexes.tx_index:
                raise AlreadyInChain("transaction already in block chain")
            return self._accept_fluxnode(tx, raw, txid, next_height, time)
        is_standard(tx)
        tip_mtp = self.chain.median_time_past(self.chain.tip)
        if not is_final(tx, next_height, tip_mtp):
            raise TxRejected(REJECT_NONSTANDARD, "non-final")
        for txin in tx.vin:
            key = (txin.prevout.txid, txin.prevout.n)
            if key in self.spent_by:
                raise TxRejected(REJECT_DUPLICATE, "txn-mempool-conflict")
        if any((txid, n) in self.chain.utxo for n in range(len(tx.vout))):
            raise AlreadyInChain("transaction already in block chain")
        for txin in tx.vin:
            key = (txin.prevout.txid, txin.prevout.n)
            if self.coin(key) is None:
                if self._known_unspent_outputs(txin.prevout.txid):
                    raise TxRejected(REJECT_DUPLICATE, "bad-txns-inputs-spent")
                raise TxRejected(REJECT_DUPLICATE, "Missing inputs", missing_inputs=True)
        value_in, spent = input_value(tx, self.coin, next_height)
        if not check_inputs_standard(tx, spent):
            # fluxd refuses without a reject reason: sendrawtransaction answers -25 ""
            log.info("mempool: refused %s: non-standard inputs", hash_hex(txid))
            raise TxRejected(0, "")
        if sigop_count(tx, spent) > MAX_STANDARD_TX_SIGOPS:
            raise TxRejected(REJECT_NONSTANDARD, "bad-txns-too-many-sigops")
        fee = value_in - tx.value_out()
        if fee < min_relay_fee(len(raw)):
            raise TxRejected(REJECT_INSUFFICIENTFEE, "insufficient fee")
        limit = min_relay_fee(len(raw)) * 10_000
        if not allow_high_fees and fee > limit:
            raise TxRejected(
                REJECT_HIGHFEE, f"absurdly high fees {hash_hex(txid)}, {fee} > {limit}"
            )
        verify_inputs(tx, spent, STANDARD_FLAGS, sighash_cache)
        return self._add(tx, raw, txid, fee, spent, time)

    def _accept_fluxnode(
        self, tx: Transaction, raw: bytes, txid: bytes, height: int, time: int | None
    ) -> MempoolEntry:
        assert tx.fluxnode is not None
        fn = tx.fluxnode
        key = (fn.collateral.txid, fn.collateral.n)
        now = int(self.clock.time())
        previous = self.fluxnode_by_collateral.get(key)
        if previous is not None:
            old = self.entries[previous].tx.fluxnode
            assert old is not None
            if fn.sig_time <= old.sig_time:
                raise TxRejected(
                    REJECT_DUPLICATE, "fluxnode-tx-outpoint-sigTime-older-cant-replace"
                )
        if now - fn.sig_time > 3600:
            raise TxRejected(REJECT_DUPLICATE, "fluxnode-tx-sig-to-old")
        self.fluxnodes.check_tx(tx, txid, height, self.coin)
        if previous is not None:
            self.remove(previous, reason="replaced by a newer fluxnode transaction")
        return self._add(tx, raw, txid, 0, [], time)

    def _add(
        self,
        tx: Transaction,
        raw: bytes,
        txid: bytes,
        fee: int,
        spent: list[Coin],
        time: int | None,
    ) -> MempoolEntry:
        entry = MempoolEntry(
            tx, txid, raw, fee, int(time or self.clock.time()), self.chain.height, spent
        )
        self.entries[txid] = entry
        self.total_bytes += len(raw)
        for txin in tx.vin:
            self.spent_by[(txin.prevout.txid, txin.prevout.n)] = txid
            parent = self.entries.get(txin.prevout.txid)
            if parent is not None:
                parent.children.add(txid)
        if tx.fluxnode is not None:
            fn = tx.fluxnode
            self.fluxnode_by_collateral[(fn.collateral.txid, fn.collateral.n)] = txid
        return entry

    # ------------------------------------------------------------------ removal
    def remove(self, txid: bytes, reason: str = "", recursive: bool = True) -> list[MempoolEntry]:
        """Remove a transaction (and by default its descendants); logs why."""
        removed: list[MempoolEntry] = []
        stack = [txid]
        while stack:
            current = stack.pop()
            entry = self.entries.pop(current, None)
            if entry is None:
                continue
            removed.append(entry)
            self.total_bytes -= entry.size
            for txin in entry.tx.vin:
                key = (txin.prevout.txid, txin.prevout.n)
                if self.spent_by.get(key) == current:
                    del self.spent_by[key]
                parent = self.entries.get(txin.prevout.txid)
                if parent is not None:
                    parent.children.discard(current)
            if entry.tx.fluxnode is not None:
                fn = entry.tx.fluxnode
                ckey = (fn.collateral.txid, fn.collateral.n)
                if self.fluxnode_by_collateral.get(ckey) == current:
                    del self.fluxnode_by_collateral[ckey]
            if reason:
                log.info("mempool: dropped %s (%s)", hash_hex(current), reason)
            if recursive:
                stack.extend(entry.children)
        return removed

    # ------------------------------------------------------------------ chain events
    def block_connected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None:
        for txid, tx in zip(parsed.txids, parsed.block.txs, strict=True):
            if txid in self.entries:
                self.remove(txid, recursive=False)
                continue
            for txin in tx.vin:
                conflict = self.spent_by.get((txin.prevout.txid, txin.prevout.n))
                if conflict is not None:
                    self.remove(
                        conflict, reason=f"conflicts with {hash_hex(txid)} in block {entry.height}"
                    )
            if tx.fluxnode is not None:
                fn = tx.fluxnode
                other = self.fluxnode_by_collateral.get((fn.collateral.txid, fn.collateral.n))
                if other is not None:
                    self.remove(other, reason="a fluxnode transaction for its collateral was mined")
        expired = [t for t, e in self.entries.items() if is_expired(e.tx, entry.height + 1)]
        for txid in expired:
            self.remove(txid, reason=f"expired at height {entry.height + 1}")

    def block_disconnected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None:
        """Nothing here: the engine re-submits disconnected transactions after the reorg."""

    def reorganised(self, disconnected: list[ParsedBlock]) -> None:
        """After a reorg: re-add the transactions of disconnected blocks (oldest block first),
        then re-check everything that was waiting; whatever no longer fits is dropped."""
        waiting = list(self.entries.values())
        self.entries.clear()
        self.spent_by.clear()
        self.fluxnode_by_collateral.clear()
        self.total_bytes = 0
        candidates: list[tuple[Transaction, bytes, bytes, int | None]] = []
        for parsed in reversed(disconnected):
            for i in range(1, len(parsed.block.txs)):
                candidates.append((parsed.block.txs[i], parsed.tx_bytes(i), parsed.txids[i], None))
        candidates.extend((e.tx, e.raw, e.txid, e.time) for e in waiting)
        for tx, raw, txid, time in candidates:
            try:
                self.accept(tx, raw, txid=txid, allow_high_fees=True, time=time)
            except (TxRejected, AlreadyInChain) as exc:
                log.info("mempool: %s not kept after reorg (%s)", hash_hex(txid), exc)

    def for_block(self, height: int, max_bytes: int) -> list[MempoolEntry]:
        """Transactions to mine at `height`, parents first, within `max_bytes`."""
        chosen: list[MempoolEntry] = []
        taken: set[bytes] = set()
        used = 0
        for txid, entry in self.entries.items():
            if is_expired(entry.tx, height):
                continue
            if used + entry.size > max_bytes:
                continue
            if any(
                t.prevout.txid in self.entries and t.prevout.txid not in taken for t in entry.tx.vin
            ):
                continue  # a parent did not fit
            chosen.append(entry)
            taken.add(txid)
            used += entry.size
        return chosen
