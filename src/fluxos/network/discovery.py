"""Peer discovery and selection (`fluxDiscovery`, p2p.md §12).

Each round: dial our deterministic successors in the sorted node list, ask our
predecessors to dial us, redial queued peers, then fill up with random peers from
distinct /16 groups (distinct IPs on a devnet) until the targets are met.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import httpx

from fluxos.clock import Clock
from fluxos.network.connections import Connections, LocalEndpoint
from fluxos.network.networkstate import NetworkState
from fluxos.network.params import NetworkParams
from fluxos.network.peers import Direction, PeerManager, Source
from fluxos.network.socketaddress import group16, split

log = logging.getLogger(__name__)

ASK_TIMEOUT = 5.0


class Discovery:
    """Keeps this node connected to its share of the network."""

    def __init__(
        self,
        *,
        local: LocalEndpoint,
        state: NetworkState,
        peers: PeerManager,
        connections: Connections,
        http: httpx.AsyncClient,
        params: NetworkParams,
        clock: Clock,
        rng: random.Random | None = None,
        autostart: bool = True,
    ) -> None:
        self._local = local
        self._state = state
        self._peers = peers
        self._connections = connections
        self._http = http
        self._params = params
        self._clock = clock
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self.enabled = autostart
        self.rounds = 0

    @property
    def own_address(self) -> str:
        return f"{self._local.ip}:{self._local.api_port}"

    def start(self) -> None:
        """Enable discovery and run a round now (`/flux/startdiscovery`)."""
        self.enabled = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            delay = self._params.discovery_retry_interval
            if self.enabled and await self.round():
                delay = self._params.discovery_interval
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def _group(self, ip: str) -> str:
        return ip if self._params.diversity_by_ip else group16(ip)

    async def round(self) -> bool:
        """One discovery round; False when preconditions fail (retry sooner)."""
        nodes = self._state.nodes
        if not self._state.confirmed or not len(nodes):
            log.debug("discovery: waiting for confirmation and the node list")
            return False
        self.rounds += 1
        ordered = nodes.sorted_addresses
        me = ordered.index(self.own_address) if self.own_address in ordered else -1
        k = min(len(ordered), self._params.min_outgoing)
        delay = self._params.connection_delay
        for i in range(1, k + 1):
            address = ordered[(me + i) % len(ordered)]
            if self._usable(address) and self._peers.may_dial(address):
                await self._connections.dial(address, Source.DETERMINISTIC)
                await asyncio.sleep(delay)
        for i in range(1, k + 1):
            address = ordered[(me - i) % len(ordered)]
            if self._usable(address) and address not in self._peers:
                await self.ask_to_connect(address)
        await asyncio.sleep(delay)
        for key in self._peers.reconnect_candidates():
            self._peers.note_reconnect_attempt(key)
            await self._connections.dial(key, Source.RECONNECT, reconnect=True)
            await asyncio.sleep(delay)
        await self._random_fill(Direction.OUTBOUND)
        await self._random_fill(Direction.INBOUND)
        return True

    def _usable(self, address: str) -> bool:
        ip, _ = split(address)
        return bool(ip) and ip != self._local.ip

    async def _random_fill(self, direction: Direction) -> None:
        params = self._params
        outbound = direction is Direction.OUTBOUND
        tried: set[str] = set()
        own_group = self._group(self._local.ip)
        for _ in range(params.random_iterations):
            current = self._peers.outbound() if outbound else self._peers.inbound()
            ips = {peer.ip for peer in current}
            count_target = params.outgoing_target if outbound else params.incoming_target
            ip_target = (
                params.outgoing_unique_ip_target if outbound else params.incoming_unique_ip_target
            )
            if len(current) >= count_target and len(ips) >= ip_target:
                return
            address = self._state.nodes.random_address(self._rng, self.own_address)
            if address is None:
                return
            ip, _ = split(address)
            group = self._group(ip)
            used = {self._group(peer.ip) for peer in current}
            if (
                address in self._peers
                or self._peers.is_pending(address)
                or group == own_group
                or group in used
                or ip in tried
                or group in tried
            ):
                continue
            tried.update((ip, group))
            if outbound:
                if self._peers.may_dial(address):
                    await self._connections.dial(address, Source.RANDOM)
            else:
                await self.ask_to_connect(address)
            await asyncio.sleep(params.connection_delay)

    async def ask_to_connect(self, address: str) -> bool:
        """Ask a node to dial us (`/flux/addoutgoingpeer/<us>`); backoff on failure."""
        if not self._peers.may_dial(address):
            return False
        ip, port = split(address)
        url = f"http://{ip}:{port}/flux/addoutgoingpeer/{self.own_address}"
        try:
            response = await self._http.get(url, timeout=ASK_TIMEOUT)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            self._peers.record_failure(address)
            log.info(
                "asking %s to connect to us failed: %s", address, error or type(error).__name__
            )
            return False
        ok = isinstance(answer, dict) and answer.get("status") == "success"
        if not ok:
            log.debug("%s declined to connect to us: %s", address, answer)
        return ok
