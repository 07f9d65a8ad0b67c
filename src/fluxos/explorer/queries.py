"""Reading the explorer indexes: UTXOs, history and balance of an address, fluxnode
transactions, app payments and chain messages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from fluxos.chain.script import script_for_address
from fluxos.explorer.chainmessages import ChainMessage, price_fork
from fluxos.explorer.fluxnodetxs import FluxnodeTxRecord
from fluxos.explorer.payments import AppPayment
from fluxos.explorer.prices import FLUX_PRICE_TABLE, PriceFork, PriceSchedule
from fluxos.storage.database import Database
from fluxos.storage.explorer import (
    explorer_address_txs,
    explorer_app_payments,
    explorer_blocks,
    explorer_chain_messages,
    explorer_fluxnode_txs,
    explorer_outputs,
    explorer_progress,
)


@dataclass(frozen=True, slots=True)
class Utxo:
    address: str
    txid: str
    vout: int
    height: int
    satoshis: int
    coinbase: bool

    @property
    def script(self) -> str:
        """The scriptPubKey (hex): indexed outputs are P2PKH or P2SH, fixed by the address."""
        return script_for_address(self.address).hex()


@dataclass(frozen=True, slots=True)
class AddressTx:
    """One transaction touching an address: its block, time and the balance change."""

    txid: str
    height: int
    position: int
    time: int
    delta: int


class ExplorerQueries:
    """Read-only access to the explorer tables."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def scanned_height(self) -> int | None:
        async with self.database.connect() as conn:
            return (await conn.execute(select(explorer_progress.c.scanned_height))).scalar()

    async def utxos(self, address: str) -> list[Utxo]:
        """Unspent outputs paying `address`, oldest first."""
        c = explorer_outputs.c
        query = (
            select(c.address, c.txid, c.vout, c.height, c.satoshis, c.coinbase)
            .where(c.address == address, c.spent_height.is_(None))
            .order_by(c.height, c.txid, c.vout)
        )
        async with self.database.connect() as conn:
            return [Utxo(*row) for row in await conn.execute(query)]

    async def balance(self, address: str) -> int:
        """Satoshis in the unspent outputs of `address`."""
        c = explorer_outputs.c
        query = select(func.coalesce(func.sum(c.satoshis), 0)).where(
            c.address == address, c.spent_height.is_(None)
        )
        async with self.database.connect() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def history(self, address: str, limit: int | None = None) -> list[AddressTx]:
        """Transactions touching `address`, newest first."""
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
            return [AddressTx(*row) for row in await conn.execute(query)]

    async def fluxnode_txs(self, field: str, value: str) -> list[FluxnodeTxRecord]:
        """Fluxnode transactions whose `field` ("ip", "collateral", "address") is `value`."""
        c = explorer_fluxnode_txs.c
        column = {"ip": c.ip, "collateral": c.collateral_hash, "address": c.address}[field]
        query = select(explorer_fluxnode_txs).where(column == value).order_by(c.height, c.position)
        async with self.database.connect() as conn:
            rows = await conn.execute(query)
            return [
                FluxnodeTxRecord(
                    txid=row.txid,
                    version=row.version,
                    type=row.type,
                    height=row.height,
                    collateral_hash=row.collateral_hash,
                    collateral_index=row.collateral_index,
                    ip=row.ip,
                    update_type=row.update_type,
                    benchmark_tier=row.benchmark_tier,
                    address=row.address,
                    locked_amount=row.locked_amount,
                    position=row.position,
                )
                for row in rows
            ]

    async def app_payments(self, from_height: int = 0) -> list[AppPayment]:
        """Recorded app payments at or above `from_height`, in chain order."""
        c = explorer_app_payments.c
        query = (
            select(c.hash, c.txid, c.height, c.value, c.position)
            .where(c.height >= from_height)
            .order_by(c.height, c.position)
        )
        async with self.database.connect() as conn:
            return [AppPayment(*row) for row in await conn.execute(query)]

    async def chain_messages(self, version: str | None = None) -> list[ChainMessage]:
        c = explorer_chain_messages.c
        query = select(c.txid, c.height, c.message, c.version, c.position).order_by(
            c.height, c.position
        )
        if version is not None:
            query = query.where(c.version == version)
        async with self.database.connect() as conn:
            return [ChainMessage(*row) for row in await conn.execute(query)]

    async def price_forks(self) -> list[PriceFork]:
        """The app price table merged with the `p_` chain messages, in force order."""
        schedule = PriceSchedule(FLUX_PRICE_TABLE)
        for message in await self.chain_messages("p"):
            fork = price_fork(message)
            if fork is not None:
                schedule.add(fork)
        return schedule.forks()
