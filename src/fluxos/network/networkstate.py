"""Our view of the network: the current node list and whether our fluxnode is confirmed.

Refreshed from fluxd: the list when the block height moves (at most once per
`list_refresh_min_interval`, p2p.md §2), our status on a timer. A failed or empty
refresh keeps the previous list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.network.nodelist import FluxnodeList, NodeListSource
from fluxos.network.params import NetworkParams

log = logging.getLogger(__name__)

CONFIRMED = "CONFIRMED"


class NetworkState:
    """The node list snapshot and our confirmation, kept fresh by `run()`."""

    def __init__(self, source: NodeListSource, clock: Clock, params: NetworkParams) -> None:
        self._source = source
        self._clock = clock
        self._params = params
        self.nodes = FluxnodeList()
        self.status: dict[str, Any] = {}
        self._height: int | None = None
        self._last_refresh = float("-inf")
        self._ready = asyncio.Event()
        self._on_unconfirmed: list[Callable[[], None]] = []

    @property
    def source(self) -> NodeListSource:
        """Where the list comes from (fluxd, or the devnet)."""
        return self._source

    @property
    def confirmed(self) -> bool:
        return self.status.get("status") == CONFIRMED

    @property
    def collateral(self) -> str:
        return str(self.status.get("collateral") or "")

    async def wait_ready(self) -> None:
        """Until the first non-empty list has arrived."""
        await self._ready.wait()

    async def refresh_list(self) -> bool:
        """Fetch the list now; True if a non-empty list replaced ours."""
        self._last_refresh = self._clock.monotonic()
        try:
            entries = await self._source.deterministic_list()
        except FluxError as error:
            log.warning("node list refresh failed (%s); keeping %d nodes", error, len(self.nodes))
            return False
        if not entries:
            log.warning("fluxd returned an empty node list; keeping %d nodes", len(self.nodes))
            return False
        nodes = FluxnodeList(entries)
        if len(nodes) != len(self.nodes):
            log.info("node list: %d fluxnodes", len(nodes))
        self.nodes = nodes
        self._ready.set()
        return True

    async def refresh_status(self) -> None:
        """Ask fluxd for our status; an unreachable fluxd leaves the last answer standing
        (a daemon restart must not cut every peer), only a real answer changes it."""
        try:
            status = await self._source.node_status()
        except FluxError as error:
            log.warning("fluxnode status unavailable (%s); keeping the last one", error)
            return
        was = self.confirmed
        self.status = status if isinstance(status, dict) else {}
        if self.confirmed != was:
            log.info("our fluxnode is now %s", self.status.get("status") or "unknown")
            if was:
                for listener in self._on_unconfirmed:
                    listener()

    def on_unconfirmed(self, listener: Callable[[], None]) -> None:
        """Call `listener` when fluxd says our fluxnode is no longer confirmed."""
        self._on_unconfirmed.append(listener)

    def message_capable(self, pubkey: str, own_address: str) -> bool:
        """Confirmed, and the list entry at our address carries our key (§3)."""
        node = self.nodes.at(own_address)
        return self.confirmed and node is not None and node.pubkey == pubkey

    async def run(self) -> None:
        """Refresh status on a timer and the list whenever the chain grows."""
        last_status = float("-inf")
        while True:
            now = self._clock.monotonic()
            if now - last_status >= self._params.status_poll_interval:
                await self.refresh_status()
                last_status = now
            await self._poll_height()
            await asyncio.sleep(
                1.0 if not self._ready.is_set() else self._params.height_poll_interval
            )

    async def _poll_height(self) -> None:
        try:
            height = await self._source.block_height()
        except FluxError as error:
            log.debug("block height unavailable: %s", error)
            return
        moved = height != self._height
        due = self._clock.monotonic() - self._last_refresh >= self._params.list_refresh_min_interval
        if (moved or not self._ready.is_set()) and due and await self.refresh_list():
            self._height = height
