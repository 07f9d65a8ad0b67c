"""The block tree, the active chain and the UTXO set, with connect/disconnect and reorgs.

Blocks are kept raw in the store; this class holds the index of every known block, the
active chain as a list, the UTXO set and per-block undo data in memory. Listeners (the
indexes, the fluxnode registry, the mempool, wallets) see every connect and disconnect.
Not thread-safe: the engine calls it from one worker thread.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from cachetools import LRUCache

from fluxos.chain.block import Block, BlockHeader, block_work
from fluxos.chain.interpreter import BLOCK_FLAGS
from fluxos.chain.merkle import merkle_root
from fluxos.chain.outpoint import NULL_HASH, hash_hex
from fluxos.chain.params import MAX_BLOCK_SIZE
from fluxos.chain.script import is_unspendable
from fluxos.chain.serialization import ByteReader, DecodeError
from fluxos.chain.transaction import Transaction
from fluxos.devnet.store import Store
from fluxos.devnet.validation import (
    MAX_BLOCK_SIGOPS,
    REJECT_INVALID,
    Coin,
    TxRejected,
    check_contextual,
    check_transaction,
    input_value,
    is_final,
    legacy_sigop_count,
    p2sh_sigop_count,
    verify_inputs,
)

log = logging.getLogger(__name__)

UtxoKey = tuple[bytes, int]


@dataclass(slots=True)
class ParsedBlock:
    """A decoded block with its txids and the byte span of each transaction in `raw`."""

    block: Block
    txids: list[bytes]
    spans: list[tuple[int, int]]
    raw: bytes

    @property
    def hash(self) -> bytes:
        return self.block.header.hash()

    def tx_bytes(self, index: int) -> bytes:
        start, end = self.spans[index]
        return self.raw[start:end]


def settle_heap() -> None:
    """Move everything alive now out of the cyclic GC's reach.

    The chain keeps millions of small, long-lived, acyclic objects (coins, index entries,
    decoded blocks); without this each full collection rescans all of them, which made a
    10,000-block replay spend a third of its time in the GC. Frozen objects are still
    freed by reference counting when the chain drops them.
    """
    gc.freeze()


def parse_block(raw: bytes) -> ParsedBlock:
    """Decode a serialized block, remembering where each transaction sits."""
    r = ByteReader(raw)
    header = BlockHeader.read(r)
    txs: list[Transaction] = []
    spans: list[tuple[int, int]] = []
    for _ in range(r.count(10)):
        start = r.pos
        txs.append(Transaction.read(r))
        spans.append((start, r.pos))
    if not r.at_end():
        raise DecodeError(f"{r.remaining()} unexpected bytes after the block")
    # a txid is the double SHA-256 of the bytes already in hand (fluxnode txs leave their
    # signatures out of the hash, so those are re-serialised)
    txids = [
        tx.txid() if tx.is_fluxnode else _sha256d(raw[start:end])
        for tx, (start, end) in zip(txs, spans, strict=True)
    ]
    return ParsedBlock(Block(header, txs), txids, spans, raw)


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


@dataclass(slots=True)
class BlockEntry:
    """What the chain knows about one block without reading it."""

    hash: bytes
    prev: bytes
    height: int
    header: BlockHeader
    chainwork: int
    size: int
    n_tx: int
    seq: int
    failed: bool = False
    validated: bool = False
    children: list[bytes] = field(default_factory=list)

    @property
    def time(self) -> int:
        return self.header.time


class ChainListener(Protocol):
    def block_connected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None: ...

    def block_disconnected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None: ...


BlockRule = Callable[[BlockEntry, ParsedBlock, list[list[Coin]], int], None]


class ChainState:
    """Block index + active chain + UTXO set of the devnet."""

    def __init__(self, store: Store, start_height: int) -> None:
        self.store = store
        self.start_height = start_height
        self.entries: dict[bytes, BlockEntry] = {}
        self.active: list[BlockEntry] = []
        self.utxo: dict[UtxoKey, Coin] = {}
        self.undo: dict[bytes, list[list[Coin]]] = {}
        self.listeners: list[ChainListener] = []
        self.block_rules: list[BlockRule] = []
        self._cache: LRUCache[bytes, ParsedBlock] = LRUCache(maxsize=512)
        self._mtp: LRUCache[bytes, int] = LRUCache(maxsize=64)
        self._seq = 0

    # ------------------------------------------------------------------ queries
    @property
    def tip(self) -> BlockEntry | None:
        return self.active[-1] if self.active else None

    @property
    def height(self) -> int:
        """Height of the tip; start_height - 1 while the chain is empty."""
        return self.active[-1].height if self.active else self.start_height - 1

    def at_height(self, height: int) -> BlockEntry | None:
        i = height - self.start_height
        return self.active[i] if 0 <= i < len(self.active) else None

    def contains(self, entry: BlockEntry) -> bool:
        return self.at_height(entry.height) is entry

    def next_of(self, entry: BlockEntry) -> BlockEntry | None:
        return self.at_height(entry.height + 1) if self.contains(entry) else None

    def parsed(self, block_hash: bytes) -> ParsedBlock:
        hit = self._cache.get(block_hash)
        if hit is not None:
            return hit
        raw = self.store.raw_block(block_hash)
        if raw is None:
            raise KeyError(f"block {hash_hex(block_hash)} is not stored")
        parsed = parse_block(raw)
        self._cache[block_hash] = parsed
        return parsed

    def median_time_past(self, entry: BlockEntry | None) -> int:
        """Median time of the 11 blocks ending at `entry` (0 for an empty chain)."""
        if entry is not None:
            cached = self._mtp.get(entry.hash)
            if cached is not None:
                return cached
        times: list[int] = []
        start = entry
        while entry is not None and len(times) < 11:
            times.append(entry.time)
            entry = self.entries.get(entry.prev)
        if not times:
            return 0
        times.sort()
        median = times[len(times) // 2]
        if start is not None:
            self._mtp[start.hash] = median
        return median

    def coin(self, key: UtxoKey) -> Coin | None:
        return self.utxo.get(key)

    # ------------------------------------------------------------------ loading
    def load(self, on_progress: Callable[[int], None] | None = None) -> None:
        """Rebuild everything from the stored blocks (trusted: they were validated once)."""
        count = 0
        for stored, raw in self.store.iter_blocks():
            parsed = parse_block(raw)
            entry = self._index(parsed, stored.seq)
            if entry is None:
                log.warning("stored block %s has no parent; ignored", hash_hex(stored.hash))
                continue
            entry.failed = stored.failed
            entry.validated = True
            tip = self.tip
            extends = (tip is None and entry.height == self.start_height) or (
                tip is not None and entry.prev == tip.hash
            )
            if extends and not entry.failed:
                self._connect(entry, parsed, verify=False)
                count += 1
                if count % 1000 == 0:
                    settle_heap()
                    if on_progress:
                        on_progress(count)
        self.activate_best_chain()
        settle_heap()

    # ------------------------------------------------------------------ accepting
    def _index(self, parsed: ParsedBlock, seq: int) -> BlockEntry | None:
        header = parsed.block.header
        block_hash = parsed.hash
        existing = self.entries.get(block_hash)
        if existing is not None:
            return existing
        if header.prev_hash == NULL_HASH:
            height, work = self.start_height, 0
        else:
            parent = self.entries.get(header.prev_hash)
            if parent is None:
                return None
            height, work = parent.height + 1, parent.chainwork
            parent.children.append(block_hash)
        entry = BlockEntry(
            hash=block_hash,
            prev=header.prev_hash,
            height=height,
            header=header,
            chainwork=work + block_work(header.bits),
            size=len(parsed.raw),
            n_tx=len(parsed.block.txs),
            seq=seq,
        )
        self.entries[block_hash] = entry
        self._seq = max(self._seq, seq)
        self._cache[block_hash] = parsed
        return entry

    def accept_block(
        self, parsed: ParsedBlock, trusted_txids: set[bytes] | None = None
    ) -> tuple[BlockEntry, list[ParsedBlock]]:
        """Store a new block and make it active if it extends the most-work chain.

        Returns the entry and the blocks disconnected by a reorg (their transactions go
        back to the mempool). Raises TxRejected if a block that would become active is
        invalid, or ValueError for an unknown parent / duplicate.
        """
        header = parsed.block.header
        if parsed.hash in self.entries:
            raise ValueError("duplicate")
        if header.prev_hash == NULL_HASH:
            if self.entries:
                raise ValueError("bad-prevblk")
        elif header.prev_hash not in self.entries:
            raise ValueError("prev-blk-not-found")
        if len(parsed.raw) > MAX_BLOCK_SIZE:
            raise TxRejected(REJECT_INVALID, "bad-blk-length")
        if merkle_root(parsed.txids) != header.merkle_root:
            raise TxRejected(REJECT_INVALID, "bad-txnmrklroot")
        parent = self.entries.get(header.prev_hash)
        if parent is not None and header.time <= self.median_time_past(parent):
            raise TxRejected(REJECT_INVALID, "time-too-old")
        seq = self.store.add_block(parsed.hash, 0, parsed.raw)
        entry = self._index(parsed, seq)
        assert entry is not None
        tip = self.tip
        if (tip is None or entry.prev == tip.hash) and not self._has_failed_ancestor(entry):
            try:
                self._connect(entry, parsed, verify=True, trusted=trusted_txids or set())
            except TxRejected:
                self._mark_failed(entry)
                raise
            return entry, []
        return entry, self.activate_best_chain()

    # ------------------------------------------------------------------ connect/disconnect
    def _connect(
        self,
        entry: BlockEntry,
        parsed: ParsedBlock,
        verify: bool,
        trusted: set[bytes] | None = None,
    ) -> None:
        height = entry.height
        created: dict[UtxoKey, Coin] = {}
        spent_keys: set[UtxoKey] = set()
        utxo = self.utxo

        def lookup(key: UtxoKey) -> Coin | None:
            coin = created.get(key)
            if coin is not None:
                return coin
            return None if key in spent_keys else utxo.get(key)

        spent_all: list[list[Coin]] = []
        fees = 0
        sigops = 0
        txs = parsed.block.txs
        if not txs or not txs[0].is_coinbase:
            raise TxRejected(REJECT_INVALID, "bad-cb-missing")
        mtp = self.median_time_past(self.entries.get(entry.prev))
        for i, tx in enumerate(txs):
            txid = parsed.txids[i]
            # pool transactions passed these checks on entry (and the miner drops expired ones)
            if verify and (trusted is None or txid not in trusted):
                if i > 0 and tx.is_coinbase:
                    raise TxRejected(REJECT_INVALID, "bad-cb-multiple")
                start, end = parsed.spans[i]
                check_transaction(tx, end - start)
                check_contextual(tx, height, end - start)
                if not is_final(tx, height, mtp):
                    raise TxRejected(REJECT_INVALID, "bad-txns-nonfinal")
            coins: list[Coin] = []
            if i > 0 and not tx.is_fluxnode:
                value_in, coins = input_value(tx, lookup, height)
                fees += value_in - tx.value_out()
                if verify and (trusted is None or txid not in trusted):
                    verify_inputs(tx, coins, BLOCK_FLAGS)
                for txin in tx.vin:
                    key = (txin.prevout.txid, txin.prevout.n)
                    if created.pop(key, None) is None:
                        spent_keys.add(key)
            if verify:
                # legacy sigops and those of P2SH redeem scripts, as ConnectBlock counts them
                sigops += legacy_sigop_count(tx) + p2sh_sigop_count(tx, coins)
                if sigops > MAX_BLOCK_SIGOPS:
                    raise TxRejected(REJECT_INVALID, "bad-blk-sigops")
            spent_all.append(coins)
            coinbase = i == 0
            for n, out in enumerate(tx.vout):
                if not is_unspendable(out.script_pubkey):
                    created[(txid, n)] = Coin(out.value, out.script_pubkey, height, coinbase)
        if verify:
            for rule in self.block_rules:
                rule(entry, parsed, spent_all, fees)
        for key in spent_keys:
            del utxo[key]
        utxo.update(created)
        self.undo[entry.hash] = spent_all
        self.active.append(entry)
        entry.validated = True
        self._cache[entry.hash] = parsed
        for listener in self.listeners:
            listener.block_connected(entry, parsed, spent_all)

    def disconnect_tip(self) -> ParsedBlock:
        entry = self.active[-1]
        parsed = self.parsed(entry.hash)
        spent_all = self.undo.pop(entry.hash)
        utxo = self.utxo
        for i in range(len(parsed.block.txs) - 1, -1, -1):
            tx = parsed.block.txs[i]
            txid = parsed.txids[i]
            for n in range(len(tx.vout)):
                utxo.pop((txid, n), None)
            for txin, coin in zip(tx.vin, spent_all[i], strict=False):
                utxo[(txin.prevout.txid, txin.prevout.n)] = coin
        self.active.pop()
        for listener in reversed(self.listeners):
            listener.block_disconnected(entry, parsed, spent_all)
        return parsed

    # ------------------------------------------------------------------ chain selection
    def _has_failed_ancestor(self, entry: BlockEntry | None) -> bool:
        while entry is not None:
            if entry.failed:
                return True
            if self.contains(entry):
                return False
            entry = self.entries.get(entry.prev)
        return False

    def _best_candidate(self) -> BlockEntry | None:
        best: BlockEntry | None = None
        for entry in self.entries.values():
            if best is not None and (entry.chainwork, -entry.seq) <= (best.chainwork, -best.seq):
                continue
            if not self._has_failed_ancestor(entry):
                best = entry
        return best

    def _fork_point(self, entry: BlockEntry) -> BlockEntry | None:
        while entry is not None and not self.contains(entry):
            parent = self.entries.get(entry.prev)
            if parent is None:
                return None
            entry = parent
        return entry

    def activate_best_chain(self) -> list[ParsedBlock]:
        """Reorganise onto the valid tip with the most work; returns disconnected blocks."""
        disconnected: list[ParsedBlock] = []
        while True:
            best = self._best_candidate()
            tip = self.tip
            if best is None or best is tip:
                return disconnected
            fork = self._fork_point(best)
            while self.tip is not None and self.tip is not fork:
                disconnected.append(self.disconnect_tip())
            path: list[BlockEntry] = []
            cursor: BlockEntry | None = best
            while cursor is not None and cursor is not fork:
                path.append(cursor)
                cursor = self.entries.get(cursor.prev)
            failed = False
            for entry in reversed(path):
                try:
                    self._connect(entry, self.parsed(entry.hash), verify=not entry.validated)
                except TxRejected as exc:
                    log.warning(
                        "block %s is invalid (%s); marking it failed", hash_hex(entry.hash), exc
                    )
                    self._mark_failed(entry)
                    failed = True
                    break
            if not failed:
                if self.tip is not None:
                    log.info(
                        "chain tip is now %s at height %d", hash_hex(self.tip.hash), self.tip.height
                    )
                return disconnected

    def _mark_failed(self, entry: BlockEntry) -> None:
        entry.failed = True
        self.store.set_failed(entry.hash, True)

    def invalidate(self, entry: BlockEntry) -> list[ParsedBlock]:
        """invalidateblock: mark `entry` failed, leave its branch, pick the best other chain."""
        disconnected: list[ParsedBlock] = []
        while self.contains(entry):
            disconnected.append(self.disconnect_tip())
        self._mark_failed(entry)
        disconnected.extend(self.activate_best_chain())
        return disconnected

    def reconsider(self, entry: BlockEntry) -> list[ParsedBlock]:
        """reconsiderblock: clear failure flags on `entry`, its ancestors and descendants."""
        for e in self._with_relatives(entry):
            if e.failed:
                e.failed = False
                self.store.set_failed(e.hash, False)
        return self.activate_best_chain()

    def _with_relatives(self, entry: BlockEntry) -> Iterable[BlockEntry]:
        cursor: BlockEntry | None = entry
        while cursor is not None:
            yield cursor
            cursor = self.entries.get(cursor.prev)
        stack = list(entry.children)
        while stack:
            child = self.entries.get(stack.pop())
            if child is not None:
                yield child
                stack.extend(child.children)

    def tips(self) -> list[BlockEntry]:
        """Blocks without children, plus the active tip."""
        out = [e for e in self.entries.values() if not e.children]
        if self.tip is not None and self.tip not in out:
            out.append(self.tip)
        return out
