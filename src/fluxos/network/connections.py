"""Websocket connections between nodes: dialling out and accepting in (p2p.md §4).

Outbound: `ws://<peer>/ws/flux/<our api port>` with the `X-Flux-*` headers, our own
ping loop (missed pongs, half-RTT latency). Inbound: the `/ws/flux[/:port]` handler with
upstream's admission rules in order — confirmation, capacity, routable address,
duplicates. Every frame then goes to the gossip pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import websockets
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection

from fluxos import FLUXOS_COMPAT_VERSION
from fluxos.clock import Clock
from fluxos.network.gossip import Gossip
from fluxos.network.networkstate import NetworkState
from fluxos.network.params import NetworkParams
from fluxos.network.peers import CloseCode, Direction, Peer, PeerManager, Source
from fluxos.network.socketaddress import DEFAULT_PORT, is_routable, remote_ipv4, split

log = logging.getLogger(__name__)

# Of the optional capabilities we implement peerExchange, in its JSON form; without
# binaryMessages (and transmissionTimestamps, appStateSync) FluxOS peers speak plain JSON.
CAPABILITIES: tuple[str, ...] = ("peerExchange",)
CLOSE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class LocalEndpoint:
    """Who we are on the network: the address peers key us by."""

    ip: str
    api_port: int
    bind_ip: str | None = None  # source address for outgoing sockets (loopback clusters)


@dataclass(frozen=True, slots=True)
class RemoteMeta:
    """What a peer told us about itself in its upgrade headers."""

    capabilities: tuple[str, ...] = ()
    version: str | None = None
    uptime: float | None = None
    clock_offset_ms: float | None = None
    reconnect: bool = False

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RemoteMeta:
        raw_caps = headers.get("x-flux-capabilities") or ""
        return cls(
            capabilities=tuple(c.strip() for c in raw_caps.split(",") if c.strip()),
            version=headers.get("x-flux-version") or None,
            uptime=_number(headers.get("x-flux-uptime")),
            clock_offset_ms=_number(headers.get("x-flux-clock-offset")),
            reconnect=bool(headers.get("x-flux-reconnect")),
        )


def flux_headers(uptime_seconds: float) -> dict[str, str]:
    """The informational headers both sides of a peer upgrade carry."""
    return {
        "X-Flux-Capabilities": ",".join(CAPABILITIES),
        "X-Flux-Version": FLUXOS_COMPAT_VERSION,
        "X-Flux-Uptime": str(int(uptime_seconds)),
    }


class _ClientLink:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send_text(self, text: str) -> None:
        await self.ws.send(text)

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code, reason)

    async def ping(self) -> Awaitable[float]:
        return await self.ws.ping()

    def abort(self) -> None:
        self.ws.transport.abort()


class _ServerLink:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def send_text(self, text: str) -> None:
        await self.ws.send_text(text)

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code, reason)

    def abort(self) -> None:
        # ASGI cannot drop a socket; a 1011 close ends it as fast as the client allows
        asyncio.get_running_loop().create_task(self.close(1011, "dead connection"))


class Connections:
    """Opens outbound connections, admits inbound ones and runs their read loops."""

    def __init__(
        self,
        *,
        local: LocalEndpoint,
        state: NetworkState,
        peers: PeerManager,
        gossip: Gossip,
        params: NetworkParams,
        clock: Clock,
        uptime: Callable[[], float],
    ) -> None:
        self._local = local
        self._state = state
        self._peers = peers
        self._gossip = gossip
        self._params = params
        self._clock = clock
        self._uptime = uptime
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = True

    # -- outbound ------------------------------------------------------------------------
    async def dial(self, address: str, source: Source, *, reconnect: bool = False) -> bool:
        """Connect to `ip:port`; True once the peer is registered."""
        ip, port = split(address)
        key = f"{ip}:{port}"
        if not self._peers.begin_dial(key):
            return False
        headers = flux_headers(self._uptime())
        if reconnect:
            headers["X-Flux-Reconnect"] = "true"
        url = f"ws://{ip}:{port}/ws/flux/{self._local.api_port}"
        try:
            ws = await websockets.connect(
                url,
                additional_headers=headers,
                open_timeout=self._params.handshake_timeout,
                close_timeout=CLOSE_TIMEOUT,
                ping_interval=None,  # our own ping loop keeps the counters upstream reports
                max_size=self._params.max_frame_bytes,
                compression="deflate",
                user_agent_header=None,
                local_addr=(self._local.bind_ip, 0) if self._local.bind_ip else None,
            )
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
            self._peers.end_dial(key, failed=True)
            log.info("could not connect to %s (%s): %s", key, source, error or type(error).__name__)
            return False
        existing = self._peers.get(key)
        if existing is not None:  # it connected to us while we were dialling
            if existing.direction is Direction.INBOUND and self._we_initiate(key):
                await existing.close(CloseCode.DUPLICATE_PEER, "replaced")
                self._peers.remove(existing, CloseCode.DUPLICATE_PEER)
            else:
                self._peers.end_dial(key, failed=False)
                await ws.close(CloseCode.DUPLICATE_PEER, "Peer already connected")
                return False
        meta = RemoteMeta.from_headers(ws.response.headers if ws.response else {})
        peer = self._new_peer(ip, port, Direction.OUTBOUND, source, _ClientLink(ws), meta)
        if reconnect:
            peer.reconnects += 1
        self._peers.add(peer)
        self._spawn(self._run_outbound(peer, ws), f"peer {key}")
        return True

    def spawn_dial(self, address: str, source: Source) -> None:
        """Dial in the background (the HTTP routes answer before the socket opens)."""
        self._spawn(self.dial(address, source), f"dial {address}")

    async def _run_outbound(self, peer: Peer, ws: ClientConnection) -> None:
        pinger = asyncio.create_task(self._ping_loop(peer, ws), name=f"ping {peer.key}")
        try:
            async for frame in ws:
                await self._gossip.on_frame(peer, frame)
                if peer.closed:
                    break
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            pinger.cancel()
            code = peer.close_code if peer.close_code is not None else ws.close_code
            self._peers.remove(peer, code)

    async def _ping_loop(self, peer: Peer, ws: ClientConnection) -> None:
        """Websocket pings every interval; after `max_missed_pongs` unanswered, drop it."""
        while not peer.closed:
            await asyncio.sleep(self._params.ping_interval)
            if peer.missed_pongs >= self._params.max_missed_pongs:
                log.info("peer %s: %d pings unanswered; dropping it", peer.key, peer.missed_pongs)
                peer.closed = True
                peer.close_code = CloseCode.DEAD_CONNECTION
                ws.transport.abort()
                return
            peer.missed_pongs += 1
            peer.last_ping_ms = self._clock.millis()
            sent = self._clock.monotonic()
            try:
                waiter = await ws.ping()
            except websockets.exceptions.ConnectionClosed:
                return

            def answered(future: asyncio.Future[float], sent: float = sent) -> None:
                if not future.cancelled() and future.exception() is None:
                    peer.record_pong(self._clock.monotonic() - sent, self._clock.millis())

            # websockets returns a Future (typed as an Awaitable) resolved by the pong
            asyncio.ensure_future(waiter).add_done_callback(answered)

    # -- inbound -------------------------------------------------------------------------
    async def accept(self, websocket: WebSocket, port_segment: str | None) -> None:
        """Serve one `/ws/flux[/:port]` upgrade until the connection ends."""
        client_host = websocket.client.host if websocket.client else ""
        ip = remote_ipv4(client_host)
        port_text = port_segment if port_segment else str(DEFAULT_PORT)
        meta = RemoteMeta.from_headers(websocket.headers)
        response_headers = [
            (name.lower().encode(), value.encode())
            for name, value in flux_headers(self._uptime()).items()
        ]
        refusal = self._admission(ip, port_text)
        key = f"{ip}:{port_text}"
        if refusal is None and key in self._peers:
            refusal = await self._duplicate(key, meta)
        elif refusal is None and self._peers.is_pending(key) and self._we_initiate(key):
            refusal = self._already_connected()
        await websocket.accept(headers=response_headers)
        if refusal is not None:
            refused_code, reason, delay = refusal
            log.info("inbound %s:%s refused: %s (%d)", ip, port_text, reason, refused_code)
            if delay:
                await asyncio.sleep(delay)
            with contextlib.suppress(Exception):
                await websocket.close(refused_code, reason)
            return
        if key in self._peers:  # registered while we were admitting it
            await websocket.close(CloseCode.DUPLICATE_PEER, "Peer already connected")
            return
        peer = self._new_peer(
            ip, int(port_text), Direction.INBOUND, Source.INBOUND, _ServerLink(websocket), meta
        )
        self._peers.add(peer)
        code: int | None = None
        try:
            while not peer.closed:
                event = await websocket.receive()
                if event["type"] == "websocket.disconnect":
                    code = event.get("code")
                    break
                frame = event.get("text")
                if frame is None:
                    frame = event.get("bytes") or b""
                await self._gossip.on_frame(peer, frame)
        except WebSocketDisconnect as disconnect:
            code = disconnect.code
        except RuntimeError:
            pass  # the socket was closed from our side while receiving
        finally:
            self._peers.remove(peer, peer.close_code if peer.close_code is not None else code)

    def _admission(self, ip: str, port_text: str) -> tuple[int, str, float] | None:
        """Upstream's inbound checks, in order (§4.2 steps 1-3)."""
        if not self.accepting or not self._state.confirmed:
            return CloseCode.NODE_UNCONFIRMED, "node not confirmed", 0.0
        capacity = self._params.max_inbound(len(self._state.nodes))
        if len(self._peers.inbound()) > capacity:
            return (
                CloseCode.MAX_CONNECTIONS,
                f"Max number of incomming connections {capacity:g} reached",
                self._params.duplicate_close_delay,
            )
        if not ip or (not self._params.allow_private_peers and not is_routable(ip)):
            return CloseCode.PRIVATE_IP, "Peer received is using internal IP", 1.0
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            return CloseCode.INVALID_MSG_INBOUND, "invalid port in the peer path", 0.0
        return None

    async def _duplicate(self, key: str, meta: RemoteMeta) -> tuple[int, str, float] | None:
        """§4.2 step 4: replace a dead connection, refuse a live one."""
        existing = self._peers.get(key)
        if existing is None:
            return None
        if not existing.is_alive:
            log.info("replacing stale connection %s", key)
            await existing.close(CloseCode.DUPLICATE_PEER, "replaced")
            self._peers.remove(existing, CloseCode.DUPLICATE_PEER)
            return None
        if meta.reconnect and existing.direction is Direction.OUTBOUND:
            if not await self._answers_ping(existing):
                await existing.close(CloseCode.DUPLICATE_PEER, "replaced")
                self._peers.remove(existing, CloseCode.DUPLICATE_PEER)
                return None
            return CloseCode.DUPLICATE_PEER, "Existing connection verified alive", 0.0
        if existing.direction is Direction.OUTBOUND and not self._we_initiate(key):
            # both dialled at once: keep the connection the lower address opened (theirs)
            await existing.close(CloseCode.DUPLICATE_PEER, "replaced")
            self._peers.remove(existing, CloseCode.DUPLICATE_PEER)
            return None
        return self._already_connected()

    def _already_connected(self) -> tuple[int, str, float]:
        return (
            CloseCode.DUPLICATE_PEER,
            "Peer already connected",
            self._params.duplicate_close_delay,
        )

    def _we_initiate(self, key: str) -> bool:
        """When two nodes dial each other at once, both keep the connection opened by the
        lower address (upstream refuses both newcomers, and the pair ends up unconnected)."""
        return f"{self._local.ip}:{self._local.api_port}" < key

    async def _answers_ping(self, peer: Peer) -> bool:
        link = peer.link
        if not isinstance(link, _ClientLink):
            return True
        try:
            waiter = await link.ws.ping()
            await asyncio.wait_for(waiter, timeout=1.0)
        except (TimeoutError, websockets.exceptions.ConnectionClosed):
            return False
        return True

    # -- shared --------------------------------------------------------------------------
    def _new_peer(
        self,
        ip: str,
        port: int,
        direction: Direction,
        source: Source,
        link: Any,
        meta: RemoteMeta,
    ) -> Peer:
        return Peer(
            ip=ip,
            port=port,
            direction=direction,
            source=source,
            link=link,
            connected_at_ms=self._clock.millis(),
            connected_mono=self._clock.monotonic(),
            capabilities=meta.capabilities,
            remote_version=meta.version,
            remote_uptime=meta.uptime,
            remote_clock_offset_ms=meta.clock_offset_ms,
        )

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self, code: int = CloseCode.NODE_UNCONFIRMED, reason: str = "") -> None:
        """Close every connection (shutdown, or our confirmation was lost)."""
        peers = self._peers.closing_all()
        await asyncio.gather(*(peer.close(code, reason) for peer in peers), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=CLOSE_TIMEOUT)


def _number(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None
