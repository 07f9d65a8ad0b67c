"""Writing the explorer indexes: a run of consecutive blocks applied in one transaction
together with the new scanned height, and rewinds to a height.

A batch is prepared in memory in chain order: outputs created inside the batch are spent
inside it without touching the database, outputs from earlier batches are read once up
front, and every table is then written with one `executemany`. The scanned height is
updated first with a compare-and-set, so two writers (the node and `fluxos explorer
rescan`, say) can never interleave: the second one's batch is rolled back. The SQL is in
`fluxos.storage.explorerrepo`; this module holds the rules.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fluxos.errors import FluxError
from fluxos.explorer.blocks import ChainBlock, ChainTx
from fluxos.explorer.chainmessages import ChainMessage, price_fork, recognise_chain_message
from fluxos.explorer.fluxnodetxs import FluxnodeTxRecord, recognise_fluxnode_tx
from fluxos.explorer.payments import AppPayment, PaymentRules, recognise_payment
from fluxos.explorer.prices import FLUX_PRICE_TABLE, PriceSchedule
from fluxos.explorer.queries import ExplorerQueries
from fluxos.storage.database import Database
from fluxos.storage.explorerrepo import BatchRows, ExplorerBatch, ExplorerStore

log = logging.getLogger(__name__)

Outpoint = tuple[str, int]


class ConcurrentWriter(FluxError):
    """The scanned height moved under us: another process is writing the explorer indexes."""


@dataclass(frozen=True, slots=True)
class Progress:
    scanned_height: int
    start_height: int
    scanned_hash: str | None


@dataclass(slots=True)
class BatchResult:
    """What one applied batch added."""

    first_height: int
    height: int
    blocks: int
    txs: int
    payments: list[AppPayment] = field(default_factory=list)
    chain_messages: list[ChainMessage] = field(default_factory=list)
    fluxnode_txs: int = 0


@dataclass(slots=True)
class _Batch:
    """Rows of one batch, built in memory before anything is written."""

    blocks: list[tuple[int, str, int, int]] = field(default_factory=list)
    # insert_outputs' column order; spent_height (last) is set when spent in the batch
    created: dict[Outpoint, list[Any]] = field(default_factory=dict)
    spends: list[tuple[int, str, int]] = field(default_factory=list)
    address_txs: list[tuple[str, int, int, str, int]] = field(default_factory=list)
    payments: list[AppPayment] = field(default_factory=list)
    messages: list[ChainMessage] = field(default_factory=list)
    fluxnode_txs: list[FluxnodeTxRecord] = field(default_factory=list)
    txs: int = 0


class ExplorerIndexes:
    """The explorer's tables, written batch by batch."""

    def __init__(self, database: Database, rules: PaymentRules) -> None:
        self.database = database
        self.rules = rules
        self.prices = PriceSchedule()
        self._store = ExplorerStore(database)

    # ------------------------------------------------------------------ state
    async def progress(self) -> Progress | None:
        """The scanned height (None before the first block) and the hash stored for it."""
        stored = await self._store.progress()
        return None if stored is None else Progress(*stored)

    async def load_prices(self) -> None:
        """Rebuild the price schedule from the table and the stored `p_` messages."""
        self.prices = PriceSchedule(await ExplorerQueries(self.database).price_forks())

    async def block_hashes(self, low: int, high: int) -> dict[int, str]:
        """Stored block hashes for heights low..high inclusive."""
        return await self._store.block_hashes(low, high)

    # ------------------------------------------------------------------ apply
    async def apply(
        self, blocks: Sequence[ChainBlock], expected_height: int | None, start_height: int
    ) -> BatchResult:
        """Index consecutive `blocks` following `expected_height` (None: the first batch).

        Everything, including the new scanned height, commits in one transaction.
        """
        if not blocks:
            raise ValueError("apply needs at least one block")
        prices = self.prices.copy()
        async with self._store.batch() as conn:
            await self._advance_progress(conn, expected_height, blocks[-1].height, start_height)
            known = await self._prefetch_spent(conn, blocks)
            batch = self._build(blocks, known, prices)
            payments = await self._new_payments(conn, batch.payments)
            await self._fill_collateral_owners(conn, batch)
            await conn.write(_rows(batch, payments))
        self.prices = prices
        return BatchResult(
            first_height=blocks[0].height,
            height=blocks[-1].height,
            blocks=len(blocks),
            txs=batch.txs,
            payments=payments,
            chain_messages=batch.messages,
            fluxnode_txs=len(batch.fluxnode_txs),
        )

    async def _advance_progress(
        self, conn: ExplorerBatch, expected: int | None, height: int, start_height: int
    ) -> None:
        # Written first so the write lock is taken before anything is read.
        if expected is None:
            if not await conn.claim_first(height, start_height):
                raise ConcurrentWriter("the explorer indexes were started by another writer")
            return
        if not await conn.advance(expected, height):
            raise ConcurrentWriter(
                f"the scanned height is no longer {expected}: another process is writing "
                "the explorer indexes"
            )

    async def _prefetch_spent(
        self, conn: ExplorerBatch, blocks: Sequence[ChainBlock]
    ) -> dict[Outpoint, tuple[str, int]]:
        """(address, satoshis) of stored outputs the batch spends."""
        made_here = {tx.txid for block in blocks for tx in block.txs}
        wanted = {
            inp.txid
            for block in blocks
            for tx in block.txs
            for inp in tx.inputs
            if inp.txid not in made_here
        }
        return await conn.outputs_of(wanted, unspent_only=True)

    def _build(
        self,
        blocks: Sequence[ChainBlock],
        known: dict[Outpoint, tuple[str, int]],
        prices: PriceSchedule,
    ) -> _Batch:
        # The hot loop of indexing: plain tuples and local names on purpose.
        batch = _Batch()
        created = batch.created
        spends = batch.spends
        address_txs = batch.address_txs
        for block in blocks:
            height = block.height
            batch.blocks.append((height, block.hash, block.time, len(block.txs)))
            batch.txs += len(block.txs)
            for tx in block.txs:
                if tx.fluxnode is not None:
                    record = recognise_fluxnode_tx(tx, height)
                    if record is not None:
                        batch.fluxnode_txs.append(record)
                    continue
                txid = tx.txid
                deltas: dict[str, int] = {}
                senders: list[str | None] = []
                for inp in tx.inputs:
                    key = (inp.txid, inp.vout)
                    row = created.get(key)
                    if row is not None:
                        row[6] = height
                        address, satoshis = row[2], row[3]
                    else:
                        stored = known.pop(key, None)
                        if stored is None:
                            # not an address output we index (or before our start height)
                            senders.append(inp.address)
                            continue
                        address, satoshis = stored
                        spends.append((height, inp.txid, inp.vout))
                    deltas[address] = deltas.get(address, 0) - satoshis
                    senders.append(address)
                coinbase = tx.coinbase
                for out in tx.outputs:
                    address = out.address
                    if out.indexed and address is not None:
                        created[(txid, out.n)] = [
                            txid, out.n, address, out.satoshis, height, coinbase, None
                        ]  # fmt: skip
                        deltas[address] = deltas.get(address, 0) + out.satoshis
                position = tx.position
                for address, delta in deltas.items():
                    address_txs.append((address, height, position, txid, delta))
                if tx.memo_asm:
                    self._recognise_memo(tx, height, senders, prices, batch)
        return batch

    def _recognise_memo(
        self,
        tx: ChainTx,
        height: int,
        senders: list[str | None],
        prices: PriceSchedule,
        batch: _Batch,
    ) -> None:
        payment = recognise_payment(tx, height, self.rules, prices)
        if payment is not None:
            batch.payments.append(payment)
        message = recognise_chain_message(tx, senders, height)
        if message is not None:
            log.info("chain message at height %d in tx %s: %s", height, tx.txid, message.message)
            batch.messages.append(message)
            fork = price_fork(message)
            if fork is not None:
                prices.add(fork)

    async def _new_payments(
        self, conn: ExplorerBatch, payments: list[AppPayment]
    ) -> list[AppPayment]:
        """Payments whose hash is not recorded yet; the first one in chain order wins."""
        if not payments:
            return []
        existing = await conn.paid_hashes({p.hash for p in payments})
        accepted: list[AppPayment] = []
        for payment in payments:
            earlier = existing.get(payment.hash)
            if earlier is not None:
                log.warning(
                    "app hash %s paid again by tx %s at height %d; it was already paid by "
                    "tx %s at height %d, so this payment is not recorded",
                    payment.hash,
                    payment.txid,
                    payment.height,
                    *earlier,
                )
                continue
            existing[payment.hash] = (payment.txid, payment.height)
            accepted.append(payment)
        return accepted

    async def _fill_collateral_owners(self, conn: ExplorerBatch, batch: _Batch) -> None:
        if not batch.fluxnode_txs:
            return
        collaterals = {(r.collateral_hash, r.collateral_index) for r in batch.fluxnode_txs}
        owners = {key: (row[2], row[3]) for key, row in batch.created.items() if key in collaterals}
        missing = collaterals - owners.keys()
        if missing:
            stored = await conn.outputs_of({h for h, _ in missing}, unspent_only=False)
            owners.update({k: v for k, v in stored.items() if k in missing})
        missing = collaterals - owners.keys()
        if missing:
            owners.update(await conn.fluxnode_owners(missing))
        filled: list[FluxnodeTxRecord] = []
        for record in batch.fluxnode_txs:
            key = (record.collateral_hash, record.collateral_index)
            owner = owners.get(key)
            if owner is None:
                log.warning(
                    "fluxnode tx %s: collateral %s:%d is not in the explorer index; its owner "
                    "is left empty",
                    record.txid,
                    *key,
                )
                filled.append(record)
                continue
            filled.append(_with_owner(record, *owner))
            owners[key] = owner
        batch.fluxnode_txs = filled

    async def mark_app_message(self, app_hash: str, stored: bool = True) -> bool:
        """Record whether the message a payment paid for is stored; False if no such hash."""
        return await self._store.mark_app_message(app_hash, stored)

    # ------------------------------------------------------------------ rewind
    async def rewind(self, height: int) -> int:
        """Forget every block above `height`, restoring the outputs they spent.

        Returns the new scanned height (never below the start height minus one). With no
        scan recorded yet there is nothing to forget.
        """
        height = await self._store.rewind(height)
        await self.load_prices()
        return height

    async def reset(self) -> None:
        """Empty every explorer table: the next scan starts from scratch."""
        await self._store.reset()
        self.prices = PriceSchedule(FLUX_PRICE_TABLE)


def _rows(batch: _Batch, payments: list[AppPayment]) -> BatchRows:
    return BatchRows(
        blocks=batch.blocks,
        outputs=[tuple(row) for row in batch.created.values()],
        spends=batch.spends,
        address_txs=batch.address_txs,
        payments=[
            (p.hash, p.txid, p.height, p.position, p.value, False, 0, p.height, p.height)
            for p in payments
        ],
        chain_messages=[
            (m.txid, m.height, m.position, m.message, m.version) for m in batch.messages
        ],
        fluxnode_txs=[_fluxnode_row(r) for r in batch.fluxnode_txs],
    )


def _fluxnode_row(r: FluxnodeTxRecord) -> tuple[Any, ...]:
    return (
        r.txid, r.height, r.position, r.version, r.type, r.update_type, r.ip, r.benchmark_tier,
        r.collateral_hash, r.collateral_index, r.address, r.locked_amount,
    )  # fmt: skip


def _with_owner(record: FluxnodeTxRecord, address: str, amount: int) -> FluxnodeTxRecord:
    return replace(record, address=address, locked_amount=amount)
