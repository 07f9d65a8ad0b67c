"""Connected peers and the bookkeeping around them: directions, counters, bad-message
ledgers, dial backoff, the reconnect queue and unstable peers (p2p.md §4, §12, §13).

A peer is keyed by `ip:port`, unique across directions. The transport (an outbound
websockets client or an inbound ASGI websocket) hides behind `PeerLink`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Protocol

from fluxos.clock import Clock
from fluxos.events import EventBus
from fluxos.network.params import NetworkParams
from fluxos.network.peerhistory import PeerHistory

log = logging.getLogger(__name__)


class CloseCode(IntEnum):
    """Upstream's websocket close codes (FluxPeerSocket.CLOSE_CODES, §4.3)."""

    MAX_CONNECTIONS = 4000
    DUPLICATE_PEER = 4001
    PRIVATE_IP = 4002
    BLOCKED_INBOUND = 4003
    BAD_ORIGIN_INBOUND = 4004
    BLOCKED_OUTBOUND = 4006
    BAD_ORIGIN_OUTBOUND = 4007
    CLOSED_OUTBOUND = 4009
    CLOSED_INBOUND = 4010
    DEAD_CONNECTION = 4011
    INVALID_MSG_INBOUND = 4016
    INVALID_MSG_OUTBOUND = 4017
    EPHEMERAL_DONE = 4018
    NODE_UNCONFIRMED = 4019


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Source(StrEnum):
    """Why a connection exists, as `/flux/peers` reports it."""

    DETERMINISTIC = "deterministic"
    RANDOM = "random"
    RECONNECT = "reconnect"
    MANUAL = "manual"
    INBOUND = "inbound"


def _by_direction(direction: Direction, outbound: CloseCode, inbound: CloseCode) -> CloseCode:
    return outbound if direction is Direction.OUTBOUND else inbound


class PeerWatcher(Protocol):
    """Told of every connection registered and unregistered (peer exchange, health)."""

    def connected(self, peer: Peer) -> None: ...

    def disconnected(self, peer: Peer, code: int | None) -> None: ...


class PeerLink(Protocol):
    """One websocket, whichever side opened it."""

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake (a dead peer)."""
        ...


@dataclass(eq=False)
class Peer:
    """A live connection to another node and what we know about it."""

    ip: str
    port: int
    direction: Direction
    source: Source
    link: PeerLink
    connected_at_ms: int
    connected_mono: float
    capabilities: tuple[str, ...] = ()
    remote_version: str | None = None
    remote_uptime: float | None = None
    remote_clock_offset_ms: float | None = None
    reconnects: int = 0
    latency_ms: int | None = None
    missed_pongs: int = 0
    last_ping_ms: int | None = None
    last_pong_ms: int | None = None
    last_transmission_delay_ms: int | None = None
    messages_received: int = 0
    messages_sent: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    frames_dropped: int = 0
    bad_messages: deque[tuple[float, float]] = field(default_factory=deque)
    refused_messages: int = 0
    closed: bool = False
    close_code: int | None = None
    _queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    _writer: asyncio.Task[None] | None = None

    @property
    def key(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def is_alive(self) -> bool:
        return not self.closed and self.missed_pongs < 3

    # -- sending -------------------------------------------------------------------------
    def start_writer(self, queue_limit: int) -> None:
        self._queue = asyncio.Queue(maxsize=queue_limit)
        self._writer = asyncio.create_task(self._write_loop(), name=f"peer-writer {self.key}")

    def send(self, text: str) -> bool:
        """Queue a text frame; False if the peer is closed or hopelessly behind."""
        if self.closed:
            return False
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("peer %s: send queue full; closing the connection", self.key)
            code = _by_direction(
                self.direction, CloseCode.CLOSED_OUTBOUND, CloseCode.CLOSED_INBOUND
            )
            asyncio.get_running_loop().create_task(self.close(code, "send failure"))
            return False
        return True

    async def flushed(self) -> None:
        """Wait until every frame queued so far went to the link, or the writer ended."""
        writer = self._writer
        if writer is None or writer.done():
            return
        joined = asyncio.ensure_future(self._queue.join())
        try:
            await asyncio.wait({joined, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            joined.cancel()

    async def _write_loop(self) -> None:
        while True:
            text = await self._queue.get()
            try:
                if text is None or self.closed:
                    return
                try:
                    await self.link.send_text(text)
                except Exception as error:  # a broken socket: upstream closes with 4009/4010
                    log.info("peer %s: send failed (%s); closing", self.key, error)
                    code = _by_direction(
                        self.direction, CloseCode.CLOSED_OUTBOUND, CloseCode.CLOSED_INBOUND
                    )
                    await self.close(code, "send failure")
                    return
                self.messages_sent += 1
                self.bytes_sent += len(text)
            finally:
                self._queue.task_done()

    async def close(self, code: int, reason: str) -> None:
        """Close with `code`; idempotent. The read loop then unregisters the peer."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        try:
            await self.link.close(code, reason)
        except Exception as error:
            log.debug("peer %s: close failed (%s); aborting", self.key, error)
            self.link.abort()

    def stop_writer(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()

    # -- accounting ----------------------------------------------------------------------
    def record_bad_message(self, now: float, weight: float, window: float) -> float:
        """Add a refused message to the rolling window; the window's weighted total."""
        self.refused_messages += 1
        self.bad_messages.append((now, weight))
        while self.bad_messages and self.bad_messages[0][0] < now - window:
            self.bad_messages.popleft()
        return sum(w for _, w in self.bad_messages)

    def record_pong(self, rtt_seconds: float, now_ms: int) -> None:
        self.missed_pongs = 0
        self.latency_ms = math.ceil(rtt_seconds * 1000 / 2)
        self.last_pong_ms = now_ms

    def info(self, now_ms: int) -> dict[str, Any]:
        """The detailed peer object of `/flux/peers`."""
        return {
            "ip": self.ip,
            "port": str(self.port),
            "direction": self.direction.value,
            "latency": self.latency_ms,
            "missedPongs": self.missed_pongs,
            "lastPingTime": self.last_ping_ms,
            "lastPongTime": self.last_pong_ms,
            "connectedAt": self.connected_at_ms,
            "uptime": max(0, now_ms - self.connected_at_ms),
            "source": self.source.value,
            "isAlive": self.is_alive,
            "badMessages": len(self.bad_messages),
            "capabilities": list(self.capabilities),
            "remoteClockOffsetMs": self.remote_clock_offset_ms,
            "lastTransmissionDelay": self.last_transmission_delay_ms,
            "messagesReceived": self.messages_received,
            "messagesSent": self.messages_sent,
            "bytesReceived": self.bytes_received,
            "bytesSent": self.bytes_sent,
            "remoteVersion": self.remote_version,
            "reconnects": self.reconnects,
        }


def invalid_message_code(direction: Direction) -> CloseCode:
    return _by_direction(direction, CloseCode.INVALID_MSG_OUTBOUND, CloseCode.INVALID_MSG_INBOUND)


def bad_origin_code(direction: Direction) -> CloseCode:
    return _by_direction(direction, CloseCode.BAD_ORIGIN_OUTBOUND, CloseCode.BAD_ORIGIN_INBOUND)


def closed_code(direction: Direction) -> CloseCode:
    return _by_direction(direction, CloseCode.CLOSED_OUTBOUND, CloseCode.CLOSED_INBOUND)


@dataclass(slots=True)
class _Failures:
    attempts: int
    last_attempt: float


class PeerManager:
    """The table of live peers plus dial backoff, reconnect queue and stability records."""

    def __init__(self, clock: Clock, params: NetworkParams) -> None:
        self._clock = clock
        self._params = params
        self._peers: dict[str, Peer] = {}
        self._pending: set[str] = set()
        self._failures: dict[str, _Failures] = {}
        self._reconnect: dict[str, int] = {}
        # per peer key: (monotonic, wall-clock ms) of each disconnect in the unstable window
        self._disconnects: dict[str, deque[tuple[float, int]]] = {}
        self.history = PeerHistory()
        self.events: EventBus | None = None  # the node's event bus (/flux/eventstream)
        self.watchers: list[PeerWatcher] = []

    # -- the table -----------------------------------------------------------------------
    def __contains__(self, key: str) -> bool:
        return key in self._peers

    def __iter__(self) -> Iterator[Peer]:
        return iter(list(self._peers.values()))

    def __len__(self) -> int:
        return len(self._peers)

    def get(self, key: str) -> Peer | None:
        return self._peers.get(key)

    def outbound(self) -> list[Peer]:
        return [p for p in self._peers.values() if p.direction is Direction.OUTBOUND]

    def inbound(self) -> list[Peer]:
        return [p for p in self._peers.values() if p.direction is Direction.INBOUND]

    def add(self, peer: Peer) -> None:
        """Register an open connection (the caller has applied the duplicate rules)."""
        self._peers[peer.key] = peer
        self._pending.discard(peer.key)
        self._failures.pop(peer.key, None)
        self._reconnect.pop(peer.key, None)
        peer.start_writer(self._params.send_queue_limit)
        self.history.connected(peer, self._clock.millis())
        self._publish("peers:added", peer, {})
        for watcher in self.watchers:
            watcher.connected(peer)
        log.info("peer %s connected (%s, %s)", peer.key, peer.direction, peer.source)

    def remove(self, peer: Peer, code: int | None) -> None:
        """Forget a closed connection; queue an outbound one for redial if it went away."""
        peer.closed = True
        peer.stop_writer()
        if self._peers.get(peer.key) is not peer:
            return  # already replaced by a newer connection with the same key
        del self._peers[peer.key]
        now = self._clock.monotonic()
        history = self._disconnects.setdefault(peer.key, deque())
        history.append((now, self._clock.millis()))
        while history and history[0][0] < now - self._params.unstable_window:
            history.popleft()
        self.history.disconnected(peer, code, self._clock.millis())
        self._publish("peers:removed", peer, {"closeCode": code or None})
        for watcher in self.watchers:
            watcher.disconnected(peer, code)
        if peer.direction is Direction.OUTBOUND and _reconnectable(code):
            self._reconnect.setdefault(peer.key, 0)
        log.info("peer %s disconnected (%s, code %s)", peer.key, peer.direction, code)

    def _publish(self, name: str, peer: Peer, extra: dict[str, Any]) -> None:
        if self.events is None:
            return
        self.events.publish(
            name,
            {
                "ip": peer.ip,
                "port": str(peer.port),
                "direction": peer.direction.value,
                **extra,
                "outbound": len(self.outbound()),
                "inbound": len(self.inbound()),
                "total": len(self._peers),
            },
        )

    # -- dialling ------------------------------------------------------------------------
    def begin_dial(self, key: str) -> bool:
        """Mark `key` as being dialled; False if connected, pending or backing off."""
        if key in self._peers or key in self._pending or not self.may_dial(key):
            return False
        self._pending.add(key)
        return True

    def end_dial(self, key: str, *, failed: bool) -> None:
        self._pending.discard(key)
        if failed:
            self.record_failure(key)

    def record_failure(self, key: str) -> None:
        entry = self._failures.get(key)
        now = self._clock.monotonic()
        if entry is None:
            self._failures[key] = _Failures(1, now)
        else:
            entry.attempts += 1
            entry.last_attempt = now

    def may_dial(self, key: str) -> bool:
        """Backoff ladder by failed attempts (upstream's `shouldAttemptConnection`)."""
        if key in self._peers:
            return False
        entry = self._failures.get(key)
        if entry is None:
            return True
        ladder = self._params.backoff_ladder
        wait = ladder[min(entry.attempts - 1, len(ladder) - 1)]
        return self._clock.monotonic() - entry.last_attempt >= wait

    def is_pending(self, key: str) -> bool:
        return key in self._pending

    def is_unstable(self, key: str) -> bool:
        history = self._disconnects.get(key)
        if not history:
            return False
        return len(self._recent_disconnects(key)) >= self._params.unstable_disconnects

    def _recent_disconnects(self, key: str) -> list[tuple[float, int]]:
        since = self._clock.monotonic() - self._params.unstable_window
        return [entry for entry in self._disconnects.get(key, ()) if entry[0] >= since]

    def unstable_nodes(self) -> list[dict[str, Any]]:
        """`/flux/unstablenodes`: peers with enough disconnects in the window (§13)."""
        found = []
        for key in list(self._disconnects):
            recent = self._recent_disconnects(key)
            if not recent:
                del self._disconnects[key]
                continue
            if len(recent) >= self._params.unstable_disconnects:
                ip, _, port = key.rpartition(":")
                found.append(
                    {
                        "ip": ip,
                        "port": port,
                        "disconnects": len(recent),
                        "firstDisconnect": recent[0][1],
                    }
                )
        return found

    def reconnect_candidates(self) -> list[str]:
        """Queued outbound peers still worth a redial; drops the rest (§12 step 4)."""
        candidates = []
        for key, attempts in list(self._reconnect.items()):
            if (
                key in self._peers
                or self.is_unstable(key)
                or attempts > self._params.max_reconnect_attempts
            ):
                del self._reconnect[key]
                continue
            candidates.append(key)
        return candidates

    def note_reconnect_attempt(self, key: str) -> None:
        if key in self._reconnect:
            self._reconnect[key] += 1

    def closing_all(self) -> list[Peer]:
        return list(self._peers.values())


def _reconnectable(code: int | None) -> bool:
    return (
        code is None
        or code <= 1015
        or code in (CloseCode.DEAD_CONNECTION, CloseCode.MAX_CONNECTIONS)
    )
