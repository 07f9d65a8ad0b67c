"""Is fluxd up and synced? The node's view, refreshed by a poller (spec daemon.md §2.6).

At start the poller waits for fluxd to answer `getblockcount` (every 5 s; fluxd answers
-28 while it loads its block index), then asks `getblockchaininfo` every 30 s. Services
read `sync_state()`; listeners hear when fluxd becomes unreachable or recovers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from fluxos.chain.rpcclient import DaemonClient
from fluxos.clock import Clock
from fluxos.errors import FluxError

log = logging.getLogger(__name__)

BOOT_POLL_SECONDS = 5.0
POLL_SECONDS = 30.0
STALE_SECONDS = 300.0
SYNC_MARGIN = 5
WARMUP_LOG_SECONDS = 60.0
# fluxd's header count is unknown until it has peers; upstream starts from these floors
HEADER_FLOOR_MAINNET = 1_136_836
HEADER_FLOOR_TESTNET = 377_006


@dataclass(frozen=True)
class SyncState:
    header: int
    height: int
    synced: bool


Listener = Callable[[str, "DaemonLiveness"], None]


class DaemonLiveness:
    """fluxd's height, best known header count and reachability."""

    def __init__(self, client: DaemonClient, clock: Clock, *, testnet: bool = False) -> None:
        self.client = client
        self.clock = clock
        self.height = 0
        self.header = HEADER_FLOOR_TESTNET if testnet else HEADER_FLOOR_MAINNET
        self.last_success: float | None = None
        self.reachable: bool | None = None
        self.ready = asyncio.Event()
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """`listener(event, self)` for `polled`, `unreachable` and `recovered`."""
        self._listeners.append(listener)

    def sync_state(self) -> SyncState:
        """Synced ⇔ a poll succeeded in the last 5 minutes and height > header − 5."""
        fresh = (
            self.last_success is not None
            and self.clock.monotonic() - self.last_success < STALE_SECONDS
        )
        synced = fresh and self.height > self.header - SYNC_MARGIN
        return SyncState(self.header, self.height, synced)

    def record_success(self, blocks: int, headers: int) -> None:
        self.height = blocks
        self.header = max(self.header, headers)
        self.last_success = self.clock.monotonic()
        was = self.reachable
        self.reachable = True
        if was is False:
            log.info("fluxd is reachable again at height %d", blocks)
            self._emit("recovered")
        self._emit("polled")

    def record_failure(self, error: FluxError) -> None:
        was = self.reachable
        self.reachable = False
        if was is not False:
            log.warning("fluxd is unreachable: %s; polling again in %.0f s", error, POLL_SECONDS)
            self._emit("unreachable")

    def _emit(self, event: str) -> None:
        for listener in self._listeners:
            try:
                listener(event, self)
            except Exception:
                log.exception("daemon %s listener failed; continuing", event)

    async def poll_once(self) -> None:
        """One `getblockchaininfo` (never from the cache) and its effect on the state."""
        try:
            info = await self.client.call("getblockchaininfo", use_cache=False)
        except FluxError as error:
            self.record_failure(error)
            return
        blocks = int(info.get("blocks", 0)) if isinstance(info, dict) else 0
        headers = int(info.get("headers", blocks)) if isinstance(info, dict) else blocks
        self.record_success(blocks, headers)
        log.debug("Daemon Sync status: %d/%d", self.height, self.header)

    async def wait_for_rpc(self) -> None:
        """Poll `getblockcount` every 5 s until fluxd answers (logs once a minute)."""
        last_log = -WARMUP_LOG_SECONDS
        while True:
            try:
                await self.client.call("getblockcount", use_cache=False)
                return
            except FluxError as error:
                now = self.clock.monotonic()
                if now - last_log >= WARMUP_LOG_SECONDS:
                    log.info("waiting for fluxd RPC: %s", error)
                    last_log = now
            await asyncio.sleep(BOOT_POLL_SECONDS)

    async def run(self) -> None:
        """The node's background loop: wait for fluxd, then poll it every 30 s forever."""
        await self.wait_for_rpc()
        while True:
            await self.poll_once()
            self.ready.set()
            await asyncio.sleep(POLL_SECONDS)
