"""The network service of a node: one object that owns the peer table, the gossip
pipeline, connections, discovery and the DOS monitor, and the API the rest of the node
uses to talk to the Flux network.

    network.subscribe("fluxapprunning", handler)   # handler(ReceivedMessage) -> bool (relay?)
    await network.broadcast({"type": "...", ...})  # sign with our fluxnode key, send to all
    await network.send_to("1.2.3.4:16127", data)   # signed, to one peer
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
from starlette.websockets import WebSocket

from fluxos.clock import Clock
from fluxos.config import Settings
from fluxos.crypto import PrivateKey
from fluxos.errors import FluxError
from fluxos.network.availability import AvailabilityProbe, communication_problem
from fluxos.network.connections import Connections, LocalEndpoint
from fluxos.network.discovery import Discovery
from fluxos.network.dos import DosMonitor, DosState
from fluxos.network.envelope import Envelope
from fluxos.network.gossip import Gossip, MessageHandler
from fluxos.network.health import NetworkHealth
from fluxos.network.networkstate import NetworkState
from fluxos.network.nodelist import NodeListSource
from fluxos.network.params import NetworkParams
from fluxos.network.peers import CloseCode, Direction, Peer, PeerManager, Source
from fluxos.network.ratelimit import FrameRateLimiter
from fluxos.network.socketaddress import join, parse_strict, remote_ipv4, split
from fluxos.network.topology import ExchangeSender, PeerTopology
from fluxos.tls import client_context

log = logging.getLogger(__name__)

Loop = Callable[[], Awaitable[None]]
GOING_AWAY = 1001  # a restart: peers may queue us for a redial


class NetworkService:
    """Everything peer-to-peer about one node."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        source: NodeListSource | None,
        key: PrivateKey | None,
        uptime: Callable[[], float],
        params: NetworkParams | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.params = params or NetworkParams.from_settings(settings)
        self.clock = clock
        self.source = source
        self.key = key
        self._uptime = uptime
        bind_ip = settings.ipaddress if settings.host == settings.ipaddress else None
        self.local = LocalEndpoint(settings.ipaddress, settings.apiport, bind_ip)
        transport = (
            httpx.AsyncHTTPTransport(local_address=bind_ip, verify=client_context())
            if bind_ip
            else None
        )
        self.http = httpx.AsyncClient(transport=transport, timeout=10, verify=client_context())
        self.state = NetworkState(source or _NoFluxd(), clock, self.params)
        self.peers = PeerManager(clock, self.params)
        self.limiter = FrameRateLimiter(clock)
        self.topology = PeerTopology(allow_private=self.params.allow_private_peers)
        self.exchange = ExchangeSender(self.peers)
        self.gossip = Gossip(
            state=self.state,
            peers=self.peers,
            clock=clock,
            params=self.params,
            key=key,
            limiter=self.limiter,
            topology=self.topology,
        )
        self.connections = Connections(
            local=self.local,
            state=self.state,
            peers=self.peers,
            gossip=self.gossip,
            params=self.params,
            clock=clock,
            uptime=uptime,
        )
        self.discovery = Discovery(
            local=self.local,
            state=self.state,
            peers=self.peers,
            connections=self.connections,
            http=self.http,
            params=self.params,
            clock=clock,
            rng=rng,
        )
        self.dos = DosState()
        self.dos_monitor = DosMonitor(
            dos=self.dos,
            state=self.state,
            peers=self.peers,
            http=self.http,
            params=self.params,
            own_address=lambda: self.own_address,
            uptime=uptime,
            blocked_ports=len(settings.blocked_ports),
            blocked_repositories=len(settings.blocked_repositories),
            rng=rng,
        )
        self.availability = AvailabilityProbe(self.state, self.http)
        self.health = NetworkHealth(
            peers=self.peers,
            topology=self.topology,
            state=self.state,
            clock=clock,
            own_address=lambda: self.own_address,
            rng=rng,
        )
        self.peers.watchers += [self.exchange, self.health, _ForgetReporter(self.topology)]
        self.state.on_unconfirmed(self._drop_all_peers)
        self._background: set[asyncio.Task[None]] = set()

    @property
    def own_address(self) -> str:
        return f"{self.local.ip}:{self.local.api_port}"

    # -- the API for the rest of the node ------------------------------------------------
    def subscribe(self, kind: str, handler: MessageHandler) -> None:
        """Receive verified, fresh messages of `kind`; return True from `handler` to relay."""
        self.gossip.subscribe(kind, handler)

    async def broadcast(self, data: dict[str, Any]) -> Envelope:
        """Sign `data` as this fluxnode and send it to every peer.

        Only a confirmed node listed with our key may originate: anything else would be
        refused by every receiver (and counted against us).
        """
        self._require_originator()
        return await self.gossip.broadcast(data)

    def _require_originator(self) -> None:
        pubkey = self.key.public_key.hex() if self.key else ""
        if not self.state.message_capable(pubkey, self.own_address):
            raise FluxError(
                f"this node ({self.own_address}) is not a confirmed fluxnode listed with its "
                "key, so other nodes would refuse its messages; nothing was sent"
            )

    async def originate_to(self, peer_keys: Iterable[str], data: dict[str, Any]) -> set[str]:
        """Sign `data` as this fluxnode and send it to these connected peers only; the keys
        it went to. Refused, as `broadcast` is, while this node may not originate."""
        self._require_originator()
        return await self.gossip.send_to_each(peer_keys, data)

    async def send_to(self, peer_key: str, data: dict[str, Any]) -> bool:
        """Sign `data` and send it to one connected peer; False if not connected."""
        return await self.gossip.send_to(peer_key, data)

    def communication_problem(self) -> str | None:
        return communication_problem(self.peers, self.params)

    async def dial(self, address: str, source: Source = Source.MANUAL) -> bool:
        return await self.connections.dial(address, source)

    async def disconnect(self, key: str, code: CloseCode) -> bool:
        peer = self.peers.get(key)
        if peer is None:
            return False
        await peer.close(code, "purposefully closed")
        return True

    # -- peer control (the /flux peer routes and /ws/flux) -------------------------------
    async def accept(self, websocket: WebSocket, port_segment: str | None) -> None:
        """Serve one inbound `/ws/flux[/:port]` upgrade until the connection ends."""
        await self.connections.accept(websocket, port_segment)

    def peer_info(self, selection: str | None) -> list[dict[str, Any]] | dict[str, Any]:
        """`/flux/peers`: every peer, `outbound`, `inbound`, or the one `ip:port` named."""
        now = self.clock.millis()
        if selection == "outbound":
            return [peer.info(now) for peer in self.peers.outbound()]
        if selection == "inbound":
            return [peer.info(now) for peer in self.peers.inbound()]
        if selection and "." in selection:
            peer = self.peers.get(selection)
            if peer is None:
                raise FluxError(f"Peer {selection} not found")
            return peer.info(now)
        return [peer.info(now) for peer in self.peers]

    def add_peer(self, address: str | None) -> str:
        """Dial `ip[:port]` at the operator's request; the key dialled (the socket opens
        in the background)."""
        key = join(*parse_strict(address))
        if key in self.peers:
            raise FluxError(f"Already connected to {key}")
        self.connections.spawn_dial(key, Source.MANUAL)
        return key

    def add_outgoing_peer(self, address: str | None, remote_host: str) -> str:
        """A listed node asks us to dial it back (step 3/6 of its discovery, p2p.md §5):
        only a confirmed node answers, only to the address the request came from, only
        to a node of the deterministic list."""
        if not self.state.confirmed:
            raise FluxError("Node is not confirmed.")
        if address is None:
            raise FluxError("No IP address specified.")
        ip, port = split(address)
        remote4 = remote_ipv4(remote_host)
        if ip != remote4:
            raise FluxError(
                f"Request ip {remote4} of {remote_host} doesn't match the ip: {ip} to connect."
            )
        key = join(ip, port)
        if key in self.peers:
            raise FluxError(f"Already connected to {key}")
        if self.state.nodes.at(address) is None:
            raise FluxError(f"FluxNode {key} is not confirmed on the network.")
        self.connections.spawn_dial(key, Source.DETERMINISTIC)
        return key

    async def remove_peer(self, address: str | None, direction: Direction) -> tuple[str, bool]:
        """Close our connection with `ip[:port]` in `direction`: the key, and whether
        there was such a connection."""
        key = join(*parse_strict(address))
        peer = self.peers.get(key)
        if peer is None or peer.direction is not direction:
            return key, False
        code = (
            CloseCode.CLOSED_OUTBOUND
            if direction is Direction.OUTBOUND
            else CloseCode.CLOSED_INBOUND
        )
        await self.disconnect(peer.key, code)
        return key, True

    def _drop_all_peers(self) -> None:
        log.warning("our fluxnode lost its confirmation: closing every peer connection")
        task = asyncio.create_task(
            self.connections.close_all(CloseCode.NODE_UNCONFIRMED, "node not confirmed")
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- lifecycle ----------------------------------------------------------------------
    def background_loops(self) -> list[tuple[str, Loop]]:
        """The long-running tasks the node supervises."""
        if self.source is None:
            log.warning("no fluxd configured (fluxd_conf): the node stays off the peer network")
            return []
        if self.key is None:
            log.warning("flux.conf has no zelnodeprivkey: this node cannot sign messages")
        return [
            ("network state", self.state.run),
            ("peer discovery", self.discovery.run),
            ("dos monitor", self.dos_monitor.run),
        ]

    async def close(self) -> None:
        self.connections.accepting = False
        self.exchange.cancel()
        self.health.close()
        await self.connections.close_all(GOING_AWAY, "node shutting down")
        await self.http.aclose()
        closer = getattr(self.source, "aclose", None)
        if closer is not None:
            await closer()


class _ForgetReporter:
    """A peer that disconnected no longer reports its connections."""

    def __init__(self, topology: PeerTopology) -> None:
        self._topology = topology

    def connected(self, peer: Peer) -> None:
        pass

    def disconnected(self, peer: Peer, code: int | None) -> None:
        self._topology.forget(peer.key)


class _NoFluxd:
    """The source of a node without fluxd: always unavailable."""

    async def deterministic_list(self) -> list[dict[str, Any]]:
        raise FluxError("no fluxd configured")

    async def node_status(self) -> dict[str, Any]:
        raise FluxError("no fluxd configured")

    async def block_height(self) -> int:
        raise FluxError("no fluxd configured")
