"""The explorer as the node sees it: the scanner, its indexes and events, the answers of
the /explorer routes and the operator's controls (stop, restart, rescan, reindex).

For the apps registry: `events.subscribe(replay_from=...)` delivers `AppPaymentFound`
(recorded ones first, then live), `BlocksIndexed` and `ChainRewound`; `queries` reads the
recorded payments and price forks; `indexes.mark_app_message` records that a payment's
message is stored.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fluxos.clock import Clock
from fluxos.crypto.addresses import decode_flux_address
from fluxos.errors import BadParameter, FluxError
from fluxos.explorer.events import ExplorerEvents
from fluxos.explorer.fluxnodetxs import filter_field
from fluxos.explorer.indexes import ExplorerIndexes
from fluxos.explorer.payments import PaymentRules
from fluxos.explorer.queries import ExplorerQueries
from fluxos.explorer.scanner import Scanner, ScannerOptions
from fluxos.explorer.source import BlockFetcher, BlockFormat, ChainRpc
from fluxos.storage.database import Database

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 12.0  # upstream checks once a second, 12 times


class Explorer:
    """One node's explorer; `run()` is its background loop."""

    def __init__(
        self,
        database: Database,
        rpc: ChainRpc,
        *,
        development: bool = False,
        options: ScannerOptions | None = None,
        block_format: BlockFormat = BlockFormat.RAW,
        clock: Clock | None = None,
    ) -> None:
        self.rules = PaymentRules.flux(development)
        self.indexes = ExplorerIndexes(database, self.rules)
        self.queries = ExplorerQueries(database)
        self.events = ExplorerEvents(self.queries.app_payments)
        self.scanner = Scanner(
            BlockFetcher(rpc, block_format), self.indexes, self.events, options, clock
        )
        self._operation = asyncio.Lock()

    async def run(self) -> None:
        await self.scanner.run()

    @property
    def synced(self) -> bool:
        return self.scanner.synced

    # ------------------------------------------------------------------ public answers
    async def utxos(self, address: str | None) -> list[dict[str, Any]]:
        """fluxd-insight shape; `confirmations` is tip − height, one less than fluxd's."""
        checked = _checked_address(address)
        rows = await self.queries.utxos(checked)
        tip = self.scanner.tip
        if tip is None:
            tip = await self.queries.scanned_height() or 0
        return [
            {
                "address": row.address,
                "txid": row.txid,
                "vout": row.vout,
                "height": row.height,
                "satoshis": row.satoshis,
                "scriptPubKey": row.script,
                "confirmations": tip - row.height,
            }
            for row in rows
        ]

    async def transactions(self, address: str | None) -> list[dict[str, str]]:
        """Transactions of the address, newest first, as `[{txid}]`."""
        checked = _checked_address(address)
        return [{"txid": item.txid} for item in await self.queries.history(checked)]

    async def balance(self, address: str | None) -> int:
        return await self.queries.balance(_checked_address(address))

    async def scanned_height(self) -> dict[str, int]:
        height = await self.queries.scanned_height()
        if height is None:
            raise FluxError("Scanning not initiated")
        return {"generalScannedHeight": height}

    async def fluxnode_txs(self, value: str | None) -> list[dict[str, Any]]:
        field = filter_field(value)
        assert value is not None
        return [record.to_api() for record in await self.queries.fluxnode_txs(field, value)]

    # ------------------------------------------------------------------ operator controls
    async def stop(self) -> None:
        """Stop indexing after the batch in progress; it stays stopped until restarted."""
        if not await self.scanner.pause(STOP_TIMEOUT_SECONDS):
            raise FluxError("Unknown error occured. Try again later.")
        log.info("explorer: block processing stopped by the operator")

    async def restart(self) -> None:
        await self.stop()
        self.scanner.resume()
        log.info("explorer: block processing restarted")

    async def reindex(self, reindex_apps: bool = False) -> None:
        """Forget every index and rebuild from the start height."""
        async with self._exclusive():
            await self.stop()
            try:
                await self.scanner.reset(reindex_apps)
                log.info("explorer: indexes dropped; rebuilding (apps too: %s)", reindex_apps)
            finally:
                self.scanner.resume()

    async def rescan(self, height: int, rescan_apps: bool = False) -> None:
        """Forget blocks above `height` and index them again."""
        scanned = await self.queries.scanned_height()
        if scanned is None:
            raise FluxError("No scanned height found")
        if scanned <= height:
            raise FluxError("Block height shall be lower than currently scanned")
        if height < 0:
            raise FluxError("BlockHeight lower than 0")
        async with self._exclusive():
            await self.stop()
            try:
                height = await self.scanner.rewind(height, rescan_apps)
                log.info("explorer: rescanning above height %d (apps too: %s)", height, rescan_apps)
            finally:
                self.scanner.resume()

    def _exclusive(self) -> asyncio.Lock:
        """The reindex/rescan lock; a second operation while one runs is refused."""
        if self._operation.locked():
            raise FluxError("Operation blocked")
        return self._operation


def _checked_address(address: str | None) -> str:
    if not address:
        raise FluxError("No address provided")
    try:
        decode_flux_address(address)
    except ValueError:
        raise BadParameter(
            f"address must be a Flux transparent address (t1… or t3…), got {address!r}"
        ) from None
    return address
