"""The explorer's repository: every query on the explorer tables (`storage.explorer`).

`ExplorerReads` answers the read side (UTXOs, balances, history, fluxnode transactions,
app payments, chain messages) with plain rows; the explorer turns them into its records.
`ExplorerStore` is the write side: the stored progress, block hashes, and `batch()`, one
transaction in which a run of blocks is written together with the new scanned height
(`ExplorerBatch`), plus rewinds and resets. Rows are tuples in the column orders named
below, so this module knows the tables and nothing of the explorer's rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

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

LOOKUP_CHUNK = 500  # keys per IN (...) query; far below every engine's parameter limit
SQLITE_CACHE_KIB = 65_536
SQLITE_CHECKPOINT_PAGES = 20_000  # ~80 MB of WAL between checkpoints
Outpoint = tuple[str, int]

# Column orders of the rows `ExplorerBatch.write` takes.
BLOCK_COLUMNS = ("height", "hash", "time", "tx_count")
OUTPUT_COLUMNS = ("txid", "vout", "address", "satoshis", "height", "coinbase", "spent_height")
ADDRESS_TX_COLUMNS = ("address", "height", "position", "txid", "delta")
PAYMENT_COLUMNS = (
    "hash", "txid", "height", "position", "value", "message", "sync_attempts",
    "next_retry_height", "retry_from_height",
)  # fmt: skip
CHAIN_MESSAGE_COLUMNS = ("txid", "height", "position", "message", "version")
FLUXNODE_TX_COLUMNS = (
    "txid", "height", "position", "version", "type", "update_type", "ip", "benchmark_tier",
    "collateral_hash", "collateral_index", "address", "locked_amount",
)  # fmt: skip
FLUXNODE_FIELDS = ("ip", "collateral", "address")


class StoredProgress(NamedTuple):
    scanned_height: int
    start_height: int
    scanned_hash: str | None


class BatchRows(NamedTuple):
    """One batch's rows, each list in its table's column order (above)."""

    blocks: Sequence[tuple[Any, ...]]
    outputs: Sequence[tuple[Any, ...]]
    spends: Sequence[tuple[int, str, int]]  # (spent height, txid, vout)
    address_txs: Sequence[tuple[Any, ...]]
    payments: Sequence[tuple[Any, ...]]
    chain_messages: Sequence[tuple[Any, ...]]
    fluxnode_txs: Sequence[tuple[Any, ...]]


class ExplorerReads:
    """Read-only queries on the explorer tables."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def scanned_height(self) -> int | None:
        async with self.database.connect() as conn:
            return (await conn.execute(select(explorer_progress.c.scanned_height))).scalar()

    async def utxos(self, address: str) -> list[tuple[str, str, int, int, int, bool]]:
        """(address, txid, vout, height, satoshis, coinbase) unspent, oldest first."""
        c = explorer_outputs.c
        query = (
            select(c.address, c.txid, c.vout, c.height, c.satoshis, c.coinbase)
            .where(c.address == address, c.spent_height.is_(None))
            .order_by(c.height, c.txid, c.vout)
        )
        async with self.database.connect() as conn:
            return [tuple(row) for row in await conn.execute(query)]

    async def balance(self, address: str) -> int:
        """Satoshis in the unspent outputs of `address`."""
        c = explorer_outputs.c
        query = select(func.coalesce(func.sum(c.satoshis), 0)).where(
            c.address == address, c.spent_height.is_(None)
        )
        async with self.database.connect() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def history(
        self, address: str, limit: int | None = None
    ) -> list[tuple[str, int, int, int, int]]:
        """(txid, height, position, block time, delta) touching `address`, newest first."""
        c = explorer_address_txs.c
        query = (
            select(c.txid, c.height, c.position, explorer_blocks.c.time, c.delta)
            .join(explorer_blocks, explorer_blocks.c.height == c.height)
            .where(c.address == address)
            .order_by(c.height.desc(), c.position.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        async with self.database.connect() as conn:
            return [tuple(row) for row in await conn.execute(query)]

    async def fluxnode_txs(self, field: str, value: str) -> list[dict[str, Any]]:
        """Fluxnode transaction rows (column name → value) whose `field` (one of
        FLUXNODE_FIELDS) is `value`, in chain order."""
        c = explorer_fluxnode_txs.c
        column = {"ip": c.ip, "collateral": c.collateral_hash, "address": c.address}[field]
        query = select(explorer_fluxnode_txs).where(column == value).order_by(c.height, c.position)
        async with self.database.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]

    async def app_payments(self, from_height: int = 0) -> list[tuple[str, str, int, int, int]]:
        """(hash, txid, height, value, position) at or above `from_height`, chain order."""
        c = explorer_app_payments.c
        query = (
            select(c.hash, c.txid, c.height, c.value, c.position)
            .where(c.height >= from_height)
            .order_by(c.height, c.position)
        )
        async with self.database.connect() as conn:
            return [tuple(row) for row in await conn.execute(query)]

    async def chain_messages(
        self, version: str | None = None
    ) -> list[tuple[str, int, str, str, int]]:
        """(txid, height, message, version, position), chain order; one version or all."""
        c = explorer_chain_messages.c
        query = select(c.txid, c.height, c.message, c.version, c.position).order_by(
            c.height, c.position
        )
        if version is not None:
            query = query.where(c.version == version)
        async with self.database.connect() as conn:
            return [tuple(row) for row in await conn.execute(query)]


class _Statements:
    """The batch writes, compiled once per dialect by `BulkStatement`."""

    def __init__(self) -> None:
        outputs = explorer_outputs.c
        self.insert_blocks = BulkStatement.insert(explorer_blocks, BLOCK_COLUMNS)
        self.insert_outputs = BulkStatement.insert(explorer_outputs, OUTPUT_COLUMNS)
        self.spend_outputs = BulkStatement(
            update(explorer_outputs)
            .where(outputs.txid == bindparam("o_txid"), outputs.vout == bindparam("o_vout"))
            .values(spent_height=bindparam("s_height")),
            ("s_height", "o_txid", "o_vout"),
        )
        self.insert_address_txs = BulkStatement.insert(explorer_address_txs, ADDRESS_TX_COLUMNS)
        self.insert_payments = BulkStatement.insert(explorer_app_payments, PAYMENT_COLUMNS)
        self.insert_chain_messages = BulkStatement.insert(
            explorer_chain_messages, CHAIN_MESSAGE_COLUMNS
        )
        self.insert_fluxnode_txs = BulkStatement.insert(explorer_fluxnode_txs, FLUXNODE_TX_COLUMNS)
        self.delete_fluxnode_txs = BulkStatement(
            delete(explorer_fluxnode_txs).where(explorer_fluxnode_txs.c.txid == bindparam("txid")),
            ("txid",),
        )


class ExplorerBatch:
    """The queries of one batch, all in the transaction `ExplorerStore.batch()` opened."""

    def __init__(self, conn: AsyncConnection, statements: _Statements) -> None:
        self._conn = conn
        self._sql = statements

    async def claim_first(self, height: int, start_height: int) -> bool:
        """Record the first scanned height; False if another writer already did."""
        conn = self._conn
        if (await conn.execute(select(explorer_progress.c.id))).first() is not None:
            return False
        await conn.execute(
            insert(explorer_progress).values(id=1, scanned_height=height, start_height=start_height)
        )
        return True

    async def advance(self, expected: int, height: int) -> bool:
        """Compare-and-set the scanned height from `expected` to `height`."""
        changed = await self._conn.execute(
            update(explorer_progress)
            .where(explorer_progress.c.scanned_height == expected)
            .values(scanned_height=height)
        )
        return bool(changed.rowcount == 1)

    async def outputs_of(
        self, txids: Iterable[str], *, unspent_only: bool
    ) -> dict[Outpoint, tuple[str, int]]:
        """(address, satoshis) of the stored outputs of `txids`."""
        found: dict[Outpoint, tuple[str, int]] = {}
        ids = list(txids)
        c = explorer_outputs.c
        for i in range(0, len(ids), LOOKUP_CHUNK):
            query = select(c.txid, c.vout, c.address, c.satoshis).where(
                c.txid.in_(ids[i : i + LOOKUP_CHUNK])
            )
            if unspent_only:
                query = query.where(c.spent_height.is_(None))
            for txid, vout, address, satoshis in await self._conn.execute(query):
                found[(txid, vout)] = (address, satoshis)
        return found

    async def paid_hashes(self, hashes: Iterable[str]) -> dict[str, tuple[str, int]]:
        """(txid, height) of the recorded payment of each of `hashes` that has one."""
        c = explorer_app_payments.c
        wanted = list(hashes)
        existing: dict[str, tuple[str, int]] = {}
        for i in range(0, len(wanted), LOOKUP_CHUNK):
            rows = await self._conn.execute(
                select(c.hash, c.txid, c.height).where(c.hash.in_(wanted[i : i + LOOKUP_CHUNK]))
            )
            existing.update({row.hash: (row.txid, row.height) for row in rows})
        return existing

    async def fluxnode_owners(
        self, collaterals: Iterable[Outpoint]
    ) -> dict[Outpoint, tuple[str, int]]:
        """(address, locked amount) an earlier fluxnode transaction recorded per collateral."""
        c = explorer_fluxnode_txs.c
        found: dict[Outpoint, tuple[str, int]] = {}
        keys = list(collaterals)
        for i in range(0, len(keys), LOOKUP_CHUNK):
            rows = await self._conn.execute(
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

    async def write(self, rows: BatchRows) -> None:
        """Insert the batch's rows; chain messages replace any earlier row of their txid
        (upstream upserts them)."""
        conn, sql = self._conn, self._sql
        await sql.insert_blocks.execute(conn, rows.blocks)
        await sql.insert_outputs.execute(conn, rows.outputs)
        await sql.spend_outputs.execute(conn, rows.spends)
        await sql.insert_address_txs.execute(conn, rows.address_txs)
        await sql.insert_payments.execute(conn, rows.payments)
        txid = CHAIN_MESSAGE_COLUMNS.index("txid")
        for message in rows.chain_messages:
            await conn.execute(
                delete(explorer_chain_messages).where(
                    explorer_chain_messages.c.txid == message[txid]
                )
            )
        await sql.insert_chain_messages.execute(conn, rows.chain_messages)
        # A fluxnode tx has no inputs, so the same one can be mined again (the same txid at
        # two heights): as fluxd's txindex, the latest occurrence is the one kept.
        txid = FLUXNODE_TX_COLUMNS.index("txid")
        latest = {row[txid]: row for row in rows.fluxnode_txs}
        await sql.delete_fluxnode_txs.execute(conn, [(key,) for key in latest])
        await sql.insert_fluxnode_txs.execute(conn, list(latest.values()))


class ExplorerStore:
    """The write side of the explorer tables."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._sql = _Statements()

    async def progress(self) -> StoredProgress | None:
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
        return StoredProgress(row.scanned_height, row.start_height, scanned_hash)

    async def block_hashes(self, low: int, high: int) -> dict[int, str]:
        """Stored block hashes for heights low..high inclusive."""
        async with self.database.connect() as conn:
            rows = await conn.execute(
                select(explorer_blocks.c.height, explorer_blocks.c.hash).where(
                    explorer_blocks.c.height.between(low, high)
                )
            )
            return {row.height: row.hash for row in rows}

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[ExplorerBatch]:
        """One transaction for one batch: committed when the block ends, else rolled back."""
        async with self.database.transaction() as conn:
            if self.database.is_sqlite:
                await _tune_sqlite(conn)
            yield ExplorerBatch(conn, self._sql)

    async def mark_app_message(self, app_hash: str, stored: bool) -> bool:
        """Record whether the message a payment paid for is stored; False if no such hash."""
        async with self.database.transaction() as conn:
            changed = await conn.execute(
                update(explorer_app_payments)
                .where(explorer_app_payments.c.hash == app_hash)
                .values(message=stored)
            )
        return bool(changed.rowcount)

    async def rewind(self, height: int) -> int:
        """Forget every block above `height` (never below the start height minus one),
        restoring the outputs they spent; the new scanned height. With no scan recorded yet
        there is nothing to forget and `height` comes back."""
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
        return height

    async def reset(self) -> None:
        """Empty every explorer table."""
        async with self.database.transaction() as conn:
            for table in ALL_TABLES:
                await conn.execute(delete(table))


async def _tune_sqlite(conn: AsyncConnection) -> None:
    # Index pages are touched at random (txids, addresses): a larger page cache keeps them
    # in memory, and checkpointing the WAL less often writes each hot page back once per
    # many batches instead of after every commit. Both are per connection, hence per batch.
    await conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    await conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
