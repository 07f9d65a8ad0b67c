"""Is it us or the network? (upstream 8.18's network-health monitor, `/flux/networkhealth`)

Every unexpected disconnect of an established peer is counted; once the node is in a
steady state (two minutes after its first peer), five of them within a minute start a
diagnosis, at most one every 30 s:

* every remaining peer is pinged (2 s): all answer → NOT_AFFECTED (the lost peers were
  the problem); some → DEGRADED; none → a fresh connection is tried to up to three
  listed nodes we are not connected to (5 s each): one opens → IP_CHANGE (our address
  moved), none → NETWORK_LOSS (our uplink is gone);
* where peers answered, the recently lost peers are looked up in the answering peers'
  reported topology: still seen by one of them, or gone for everyone.

Five connected peers put the status back to HEALTHY. The last 50 diagnoses are kept.
An inbound peer cannot be pinged from our side (ASGI has no ping frame; the server's own
keepalive closes a dead one), so it counts as answering when it is still connected at
the end of the ping wait.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import websockets

from fluxos.clock import Clock
from fluxos.network.peers import CloseCode, Peer, PeerManager

if TYPE_CHECKING:
    from fluxos.network.networkstate import NetworkState
    from fluxos.network.topology import PeerTopology

log = logging.getLogger(__name__)


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    NOT_AFFECTED = "NOT_AFFECTED"
    NETWORK_LOSS = "NETWORK_LOSS"
    IP_CHANGE = "IP_CHANGE"
    DEGRADED = "DEGRADED"


@dataclass(frozen=True, slots=True)
class HealthParams:
    """Upstream's constants (NetworkHealthMonitor.js)."""

    velocity_window: float = 60.0
    velocity_threshold: int = 5
    velocity_buffer: int = 32
    min_connection_age: float = 30.0
    steady_state_delay: float = 120.0
    cooldown: float = 30.0
    ping_timeout: float = 2.0
    probe_timeout: float = 5.0
    probe_peers: int = 3
    recovered_peers: int = 5
    history_size: int = 50


def unexpected_close(code: int | None) -> bool:
    """The close codes that mean a peer went away rather than was sent away (the same
    rule as the redial queue: none, any standard code, dead connection, max connections)."""
    return (
        not code or code <= 1015 or code in (CloseCode.DEAD_CONNECTION, CloseCode.MAX_CONNECTIONS)
    )


Pinger = Callable[[Peer, float], Awaitable[bool]]
Prober = Callable[[str, float], Awaitable[bool]]


async def ping_peer(peer: Peer, wait: float) -> bool:
    """A websocket ping to an outbound peer; an inbound one answers by staying open."""
    ping = getattr(peer.link, "ping", None)
    if ping is None:
        await asyncio.sleep(wait)
        return not peer.closed
    try:
        waiter = await ping()
        await asyncio.wait_for(waiter, timeout=wait)
    except (TimeoutError, websockets.exceptions.ConnectionClosed, OSError):
        return False
    return not peer.closed


async def probe_node(address: str, wait: float) -> bool:
    """Open and close a websocket to `ws://address/ws/flux`: is the node reachable?"""
    try:
        async with websockets.connect(
            f"ws://{address}/ws/flux", open_timeout=wait, close_timeout=1
        ):
            return True
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
        return False


class NetworkHealth:
    """Counts disconnects, diagnoses bursts and keeps the verdicts."""

    def __init__(
        self,
        *,
        peers: PeerManager,
        topology: PeerTopology,
        state: NetworkState,
        clock: Clock,
        own_address: Callable[[], str],
        params: HealthParams | None = None,
        pinger: Pinger = ping_peer,
        prober: Prober = probe_node,
        rng: random.Random | None = None,
    ) -> None:
        self.params = params or HealthParams()
        self._peers = peers
        self._topology = topology
        self._state = state
        self._clock = clock
        self._own_address = own_address
        self._pinger = pinger
        self._prober = prober
        self._rng = rng or random.Random()
        self._disconnects: deque[float] = deque(maxlen=self.params.velocity_buffer)
        self._first_peer_at: float | None = None
        self.in_steady_state = False
        self.status = HealthStatus.HEALTHY
        self._diagnosing: asyncio.Task[None] | None = None
        self._last_diagnosis: float | None = None
        self.history: deque[dict[str, Any]] = deque(maxlen=self.params.history_size)

    # -- recording ---------------------------------------------------------------------
    def connected(self, peer: Peer) -> None:
        now = self._clock.monotonic()
        if self._first_peer_at is None:
            self._first_peer_at = now
        if not self.in_steady_state and now - self._first_peer_at >= self.params.steady_state_delay:
            self.in_steady_state = True
            log.info("network health: steady state reached")
        if (
            self.status is not HealthStatus.HEALTHY
            and len(self._peers) >= self.params.recovered_peers
        ):
            log.info("network health: %d peers connected again; status HEALTHY", len(self._peers))
            self.status = HealthStatus.HEALTHY

    def disconnected(self, peer: Peer, code: int | None) -> None:
        now = self._clock.monotonic()
        if now - peer.connected_mono < self.params.min_connection_age or not unexpected_close(code):
            return
        self._disconnects.append(now)
        if not self.in_steady_state or self.diagnosing:
            return
        if self._last_diagnosis is not None and now - self._last_diagnosis < self.params.cooldown:
            return
        velocity = sum(1 for t in self._disconnects if now - t <= self.params.velocity_window)
        if velocity >= self.params.velocity_threshold:
            self._last_diagnosis = now
            self._diagnosing = asyncio.get_running_loop().create_task(
                self._diagnose_logged(velocity), name="network health diagnosis"
            )

    @property
    def diagnosing(self) -> bool:
        return self._diagnosing is not None and not self._diagnosing.done()

    # -- diagnosis ---------------------------------------------------------------------
    async def _diagnose_logged(self, velocity: int) -> None:
        try:
            await self.diagnose(velocity)
        except Exception:
            log.exception("network health diagnosis failed; status stays %s", self.status)

    async def diagnose(self, velocity: int) -> dict[str, Any]:
        """Run one diagnosis now; its record (also appended to the history)."""
        params = self.params
        remaining = list(self._peers)
        log.warning(
            "network health: %d disconnects within %gs; diagnosing with %d peers left",
            velocity,
            params.velocity_window,
            len(remaining),
        )
        answers = await asyncio.gather(*(self._pinger(p, params.ping_timeout) for p in remaining))
        responded = [peer.key for peer, ok in zip(remaining, answers, strict=True) if ok]
        correlation: dict[str, int] | None = None
        probes: dict[str, Any] | None = None
        if remaining and len(responded) == len(remaining):
            correlation = self._correlate(responded)
            status = HealthStatus.NOT_AFFECTED
        elif not responded:
            probes = await self._probe()
            status = HealthStatus.IP_CHANGE if probes["succeeded"] else HealthStatus.NETWORK_LOSS
        else:
            correlation = self._correlate(responded)
            status = HealthStatus.DEGRADED
        record = {
            "status": status.value,
            "timestamp": self._clock.millis(),
            "triggerReason": {
                "disconnectsInWindow": velocity,
                "windowMs": int(params.velocity_window * 1000),
            },
            "evidence": {
                "totalPeersAtTrigger": len(remaining),
                "pingResults": {
                    "sent": len(remaining),
                    "responded": len(responded),
                    "failed": len(remaining) - len(responded),
                },
                "topologyCorrelation": correlation,
                "probeResults": probes,
            },
        }
        self.status = status
        self.history.append(record)
        log.warning("network health: diagnosis %s", status.value)
        return record

    def _correlate(self, responded: list[str]) -> dict[str, int]:
        """Are the peers lost in the last window still seen by the peers that answered?"""
        cutoff = self._clock.millis() - int(self.params.velocity_window * 1000)
        lost = {
            f"{event['ip']}:{event['port']}"
            for event in self._peers.history.events()
            if event["event"] == "disconnected" and event["timestamp"] >= cutoff
        }
        seen = 0
        for key in lost:
            entries = (self._topology.entry(r) for r in responded)
            if any(entry is not None and entry.sees(key) for entry in entries):
                seen += 1
        return {"recentlyLost": len(lost), "peersStillSeen": seen, "peersGone": len(lost) - seen}

    async def _probe(self) -> dict[str, Any]:
        connected = {peer.key for peer in self._peers}
        own = self._own_address()
        targets: list[str] = []
        for _ in range(self.params.probe_peers * 3):
            if len(targets) >= self.params.probe_peers:
                break
            address = self._state.nodes.random_address(self._rng, own)
            if address is None:
                break
            key = address if ":" in address else f"{address}:16127"
            if key != own and key not in connected and key not in targets:
                targets.append(key)
        results = await asyncio.gather(
            *(self._prober(target, self.params.probe_timeout) for target in targets)
        )
        return {"attempted": len(targets), "succeeded": sum(results), "targets": targets}

    def view(self) -> dict[str, Any]:
        """`/flux/networkhealth`."""
        return {
            "status": self.status.value,
            "inSteadyState": self.in_steady_state,
            "history": list(self.history),
        }

    def close(self) -> None:
        if self._diagnosing is not None:
            self._diagnosing.cancel()
