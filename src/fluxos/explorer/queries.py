"""Reading the explorer indexes: UTXOs, history and balance of an address, fluxnode
transactions, app payments and chain messages, as the explorer's records (the SQL is in
`fluxos.storage.explorerrepo`)."""

from __future__ import annotations

from dataclasses import dataclass

from fluxos.chain.script import script_for_address
from fluxos.explorer.chainmessages import ChainMessage, price_fork
from fluxos.explorer.fluxnodetxs import FluxnodeTxRecord
from fluxos.explorer.payments import AppPayment
from fluxos.explorer.prices import FLUX_PRICE_TABLE, PriceFork, PriceSchedule
from fluxos.storage.database import Database
from fluxos.storage.explorerrepo import ExplorerReads


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
        self._reads = ExplorerReads(database)

    async def scanned_height(self) -> int | None:
        return await self._reads.scanned_height()

    async def utxos(self, address: str) -> list[Utxo]:
        """Unspent outputs paying `address`, oldest first."""
        return [Utxo(*row) for row in await self._reads.utxos(address)]

    async def balance(self, address: str) -> int:
        """Satoshis in the unspent outputs of `address`."""
        return await self._reads.balance(address)

    async def history(self, address: str, limit: int | None = None) -> list[AddressTx]:
        """Transactions touching `address`, newest first."""
        return [AddressTx(*row) for row in await self._reads.history(address, limit)]

    async def fluxnode_txs(self, field: str, value: str) -> list[FluxnodeTxRecord]:
        """Fluxnode transactions whose `field` ("ip", "collateral", "address") is `value`."""
        return [
            FluxnodeTxRecord(
                txid=row["txid"],
                version=row["version"],
                type=row["type"],
                height=row["height"],
                collateral_hash=row["collateral_hash"],
                collateral_index=row["collateral_index"],
                ip=row["ip"],
                update_type=row["update_type"],
                benchmark_tier=row["benchmark_tier"],
                address=row["address"],
                locked_amount=row["locked_amount"],
                position=row["position"],
            )
            for row in await self._reads.fluxnode_txs(field, value)
        ]

    async def app_payments(self, from_height: int = 0) -> list[AppPayment]:
        """Recorded app payments at or above `from_height`, in chain order."""
        return [AppPayment(*row) for row in await self._reads.app_payments(from_height)]

    async def chain_messages(self, version: str | None = None) -> list[ChainMessage]:
        return [ChainMessage(*row) for row in await self._reads.chain_messages(version)]

    async def price_forks(self) -> list[PriceFork]:
        """The app price table merged with the `p_` chain messages, in force order."""
        schedule = PriceSchedule(FLUX_PRICE_TABLE)
        for message in await self.chain_messages("p"):
            fork = price_fork(message)
            if fork is not None:
                schedule.add(fork)
        return schedule.forks()
