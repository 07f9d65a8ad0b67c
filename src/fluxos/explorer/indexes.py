"""Writing the explorer indexes: a run of consecutive blocks applied in one transaction
together with the new scanned height, and rewinds to a height.

A batch is prepared in memory in chain order: outputs created inside the batch are spent
inside it without touching the database, outputs from earlier batches are read once up
front, and every table is then written with one `executemany`. The scanned height is
updated first with a compare-and-set, so two writers (the node and `fluxos explorer
rescan`, say) can never interleave: the second one's batch is rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fluxos.errors import FluxError
from fluxos.explorer.blocks import ChainBlock, ChainTx
from fluxos.explorer.chainmessages import ChainMessage, price_fork, recognise_chain_message
from fluxos.explorer.fluxnodetxs import FluxnodeTxRecord, recognise_fluxnode_tx
from fluxos.explorer.payments import AppPayment, PaymentRules, recognise_payment
from fluxos.explorer.prices import FLUX_PRICE_TABLE, PriceSchedule
from fluxos.explorer.queries import ExplorerQueries
from fluxos.storage.bulk import BulkStatement
from fluxos.storage.database import Database
from fluxos.storage.explorer import (
    ALL_TABLES,
    HEIGHT_TABLES,
    explorer_address_txs,
    explorer_app_payments,
    explorer_blocks,
    explorer_chain_messages,
    explorer_fluxnode_txs,
    explorer_outputs,
    explorer_progress,
)

log = logging.getLogger(__name__)

LOOKUP_CHUNK = 500  # txids per IN (...) query; far below every engine's parameter limit
Outpoint = tuple[str, int]
SQLITE_CACHE_KIB = 65_536
SQLITE_CHECKPOINT_PAGES = 20_000  # ~80 MB of WAL between checkpoints


class _Statements:
    """The batch writes, compiled once per dialect by `BulkStatement`."""

    def __init__(self) -> None:
        outputs = explorer_outputs.c
        self.insert_blocks = BulkStatement.insert(
            explorer_blocks, ("height", "hash", "time", "tx_count")
        )
        self.insert_outputs = BulkStatement.insert(
            explorer_outputs,
            ("txid", "vout", "address", "satoshis", "height", "coinbase", "spent_height"),
        )
        self.spend_outputs = BulkStatement(
            update(explorer_outputs)
            .where(outputs.txid == bindparam("o_txid"), outputs.vout == bindparam("o_vout"))
            .values(spent_height=bindparam("s_height")),
            ("s_height", "o_txid", "o_vout"),
        )
        self.insert_address_txs = BulkStatement.insert(
            explorer_address_txs, ("address", "height", "position", "txid", "delta")
        )
        self.insert_payments = BulkStatement.insert(
            explorer_app_payments,
            (
                "hash", "txid", "height", "position", "value", "message", "sync_attempts",
                "next_retry_height", "retry_from_height",
            ),
        )  # fmt: skip
        self.insert_chain_messages = BulkStatement.insert(
            explorer_chain_messages, ("txid", "height", "position", "message", "version")
        )
        self.insert_fluxnode_txs = BulkStatement.insert(
            explorer_fluxnode_txs,
            (
                "txid", "height", "position", "version", "type", "update_type", "ip",
                "benchmark_tier", "collateral_hash", "collateral_index", "address",
                "locked_amount",
            ),
        )  # fmt: skip


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
        self._sql = _Statements()

    # ------------------------------------------------------------------ state
    async def progress(self) -> Progress | None:
        """The scanned height (None before the first block) and the hash stored for it."""
        async with self.database.connect() as conn:
            row = (await conn.execute(select(explorer_progress))).first()
            if row is None:
                return None
            scanned_hash = (
                await conn.execute(
                    select(explorer_blocks.c.hash).where(
                        explorer_blocks.c.height == row.scanned_height
                    )
                )
            ).scalar()
        return Progress(row.scanned_height, row.start_height, scanned_hash)

    async def load_prices(self) -> None:
        """Rebuild the price schedule from the table and the stored `p_` messages."""
        self.prices = PriceSchedule(await ExplorerQueries(self.database).price_forks())

    async def block_hashes(self, low: int, high: int) -> dict[int, str]:
        """Stored block hashes for heights low..high inclusive."""
        async with self.database.connect() as conn:
            rows = await conn.execute(
                select(explorer_blocks.c.height, explorer_blocks.c.hash).where(
                    explorer_blocks.c.height.between(low, high)
                )
            )
            return {row.height: row.hash for row in rows}

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
        async with self.database.transaction() as conn:
            if self.database.is_sqlite:
                await _tune_sqlite(conn)
            await self._advance_progress(conn, expected_height, blocks[-1].height, start_height)
            known = await self._prefetch_spent(conn, blocks)
            batch = self._build(blocks, known, prices)
            payments = await self._new_payments(conn, batch.payments)
            await self._fill_collateral_owners(conn, batch)
            await self._write(conn, batch, payments)
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
        self, conn: AsyncConnection, expected: int | None, height: int, start_height: int
    ) -> None:
        # Written first so the write lock is taken before anything is read.
        if expected is None:
            existing = (await conn.execute(select(explorer_progress.c.id))).first()
            if existing is not None:
                raise ConcurrentWriter("the explorer indexes were started by another writer")
            await conn.execute(
                insert(explorer_progress).values(
                    id=1, scanned_height=height, start_height=start_height
                )
            )
            return
        changed = await conn.execute(
            update(explorer_progress)
            .where(explorer_progress.c.scanned_height == expected)
            .values(scanned_height=height)
        )
        if changed.rowcount != 1:
            raise ConcurrentWriter(
                f"the scanned height is no longer {expected}: another process is writing "
                "the explorer indexes"
            )

    async def _prefetch_spent(
        self, conn: AsyncConnection, blocks: Sequence[ChainBlock]
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
        return await self._outputs_of(conn, wanted, unspent_only=True)

    async def _outputs_of(
        self, conn: AsyncConnection, txids: Iterable[str], unspent_only: bool
    ) -> dict[Outpoint, tuple[str, int]]:
        found: dict[Outpoint, tuple[str, int]] = {}
        ids = list(txids)
        c = explorer_outputs.c
        for i in range(0, len(ids), LOOKUP_CHUNK):
            query = select(c.txid, c.vout, c.address, c.satoshis).where(
                c.txid.in_(ids[i : i + LOOKUP_CHUNK])
            )
            if unspent_only:
                query = query.where(c.spent_height.is_(None))
            for txid, vout, address, satoshis in await conn.execute(query):
                found[(txid, vout)] = (address, satoshis)
        return found

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
        self, conn: AsyncConnection, payments: list[AppPayment]
    ) -> list[AppPayment]:
        """Payments whose hash is not recorded yet; the first one in chain order wins."""
        if not payments:
            return []
        c = explorer_app_payments.c
        hashes = list({p.hash for p in payments})
        existing: dict[str, tuple[str, int]] = {}
        for i in range(0, len(hashes), LOOKUP_CHUNK):
            rows = await conn.execute(
                select(c.hash, c.txid, c.height).where(c.hash.in_(hashes[i : i + LOOKUP_CHUNK]))
            )
            existing.update({row.hash: (row.txid, row.height) for row in rows})
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

    async def _fill_collateral_owners(self, conn: AsyncConnection, batch: _Batch) -> None:
        if not batch.fluxnode_txs:
            return
        collaterals = {(r.collateral_hash, r.collateral_index) for r in batch.fluxnode_txs}
        owners = {key: (row[2], row[3]) for key, row in batch.created.items() if key in collaterals}
        missing = collaterals - owners.keys()
        if missing:
            stored = await self._outputs_of(conn, {h for h, _ in missing}, unspent_only=False)
            owners.update({k: v for k, v in stored.items() if k in missing})
        missing = collaterals - owners.keys()
        if missing:
            owners.update(await self._earlier_fluxnode_owners(conn, missing))
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

    async def _earlier_fluxnode_owners(
        self, conn: AsyncConnection, collaterals: set[Outpoint]
    ) -> dict[Outpoint, tuple[str, int]]:
        c = explorer_fluxnode_txs.c
        found: dict[Outpoint, tuple[str, int]] = {}
        keys = list(collaterals)
        for i in range(0, len(keys), LOOKUP_CHUNK):
            rows = await conn.execute(
                select(c.collateral_hash, c.collateral_index, c.address, c.locked_amount).where(
                    tuple_(c.collateral_hash, c.collateral_index).in_(keys[i : i + LOOKUP_CHUNK]),
                    c.address.is_not(None),
                )
            )
            for row in rows:
                found[(row.collateral_hash, row.collateral_index)] = (
                    row.address,
                    row.locked_amount,
                )
        return found

    async def _write(
        self, conn: AsyncConnection, batch: _Batch, payments: list[AppPayment]
    ) -> None:
        await self._sql.insert_blocks.execute(conn, batch.blocks)
        await self._sql.insert_outputs.execute(conn, [tuple(r) for r in batch.created.values()])
        await self._sql.spend_outputs.execute(conn, batch.spends)
        await self._sql.insert_address_txs.execute(conn, batch.address_txs)
        await self._sql.insert_payments.execute(
            conn,
            [
                (p.hash, p.txid, p.height, p.position, p.value, False, 0, p.height, p.height)
                for p in payments
            ],
        )
        for message in batch.messages:
            # upstream upserts chain messages by txid
            await conn.execute(
                delete(explorer_chain_messages).where(
                    explorer_chain_messages.c.txid == message.txid
                )
            )
        await self._sql.insert_chain_messages.execute(
            conn,
            [(m.txid, m.height, m.position, m.message, m.version) for m in batch.messages],
        )
        await self._sql.insert_fluxnode_txs.execute(
            conn, [_fluxnode_row(r) for r in batch.fluxnode_txs]
        )

    async def mark_app_message(self, app_hash: str, stored: bool = True) -> bool:
        """Record whether the message a payment paid for is stored; False if no such hash."""
        async with self.database.transaction() as conn:
            changed = await conn.execute(
                update(explorer_app_payments)
                .where(explorer_app_payments.c.hash == app_hash)
                .values(message=stored)
            )
        return bool(changed.rowcount)

    # ------------------------------------------------------------------ rewind
    async def rewind(self, height: int) -> int:
        """Forget every block above `height`, restoring the outputs they spent.

        Returns the new scanned height (never below the start height minus one). With no
        scan recorded yet there is nothing to forget.
        """
        async with self.database.transaction() as conn:
            row = (await conn.execute(select(explorer_progress))).first()
            if row is None:
                return height
            height = max(min(height, row.scanned_height), row.start_height - 1)
            await conn.execute(update(explorer_progress).values(scanned_height=height))
            c = explorer_outputs.c
            await conn.execute(delete(explorer_outputs).where(c.height > height))
            await conn.execute(
                update(explorer_outputs).where(c.spent_height > height).values(spent_height=None)
            )
            for table in HEIGHT_TABLES:
                await conn.execute(delete(table).where(table.c.height > height))
        await self.load_prices()
        return height

    async def reset(self) -> None:
        """Empty every explorer table: the next scan starts from scratch."""
        async with self.database.transaction() as conn:
            for table in ALL_TABLES:
                await conn.execute(delete(table))
        self.prices = PriceSchedule(FLUX_PRICE_TABLE)


async def _tune_sqlite(conn: AsyncConnection) -> None:
    # Index pages are touched at random (txids, addresses): a larger page cache keeps them
    # in memory, and checkpointing the WAL less often writes each hot page back once per
    # many batches instead of after every commit. Both are per connection, hence per batch.
    await conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    await conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")


def _fluxnode_row(r: FluxnodeTxRecord) -> tuple[Any, ...]:
    return (
        r.txid, r.height, r.position, r.version, r.type, r.update_type, r.ip, r.benchmark_tier,
        r.collateral_hash, r.collateral_index, r.address, r.locked_amount,
    )  # fmt: skip


def _with_owner(record: FluxnodeTxRecord, address: str, amount: int) -> FluxnodeTxRecord:
    return replace(record, address=address, locked_amount=amount)
