"""Gossip: verify, de-duplicate, dispatch and propagate signed messages (p2p.md §5, §8).

A node that originates a message sends the whole envelope to every peer. A node that
accepts one tells its other peers only the object-hash (`messageHashPresent`); a peer
that has not seen it asks back (`requestMessageHash`). The de-duplication cache only
takes messages whose signature verified: upstream caches first, so a forged copy that
arrives first would shut the genuine message out for five minutes.

Services subscribe per `data.type`; a handler returns True when the message was new and
useful, which is what makes the node pass it on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from fluxos.clock import Clock
from fluxos.crypto import PrivateKey
from fluxos.errors import BadParameter
from fluxos.network.envelope import MAX_AGE_MS, Envelope, Verdict
from fluxos.network.messages import (
    NEVER_RELAYED,
    hash_present,
    hash_request,
    nak,
    normalised_hash,
    relay_window_ms,
    strip_transmission_stamp,
)
from fluxos.network.networkstate import NetworkState
from fluxos.network.objecthash import object_hash
from fluxos.network.params import NetworkParams
from fluxos.network.peers import Peer, PeerManager, bad_origin_code, invalid_message_code
from fluxos.network.ratelimit import FrameRateLimiter
from fluxos.network.topology import PeerTopology
from fluxos.wire.jsvalues import stringify

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A verified, fresh message as a subscriber sees it."""

    envelope: Envelope
    hash: str
    peer: str  # the `ip:port` of the peer that delivered it
    received_at_ms: int

    @property
    def data(self) -> dict[str, Any]:
        data = self.envelope.data
        assert isinstance(data, dict)
        return data

    @property
    def type(self) -> str:
        return self.envelope.type

    @property
    def pub_key(self) -> str:
        return self.envelope.pub_key


MessageHandler = Callable[[ReceivedMessage], Awaitable[bool]]


@dataclass(slots=True)
class GossipStats:
    """Counters for diagnostics and benchmarks."""

    received: int = 0
    verified: int = 0
    accepted: int = 0
    duplicates: int = 0
    stale: int = 0
    refused: int = 0
    unknown_origin: int = 0
    announced: int = 0
    requested: int = 0
    served: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


class Gossip:
    """The frame pipeline and message routing of one node."""

    def __init__(
        self,
        *,
        state: NetworkState,
        peers: PeerManager,
        clock: Clock,
        params: NetworkParams,
        key: PrivateKey | None,
        limiter: FrameRateLimiter | None = None,
        topology: PeerTopology | None = None,
    ) -> None:
        self._state = state
        self._topology = topology
        self._peers = peers
        self._clock = clock
        self._params = params
        self._key = key
        self._limiter = limiter or FrameRateLimiter(clock)
        # hash → the envelope's wire text; only verified messages get in
        self._cache: TTLCache[str, str] = TTLCache(
            maxsize=params.gossip_cache_size, ttl=params.gossip_cache_seconds, timer=clock.monotonic
        )
        self._handlers: dict[str, list[MessageHandler]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = GossipStats()

    # -- the public API ------------------------------------------------------------------
    def subscribe(self, kind: str, handler: MessageHandler) -> None:
        """Call `handler` for every verified, fresh message whose `data.type` is `kind`."""
        self._handlers.setdefault(kind, []).append(handler)

    def sign(self, data: dict[str, Any]) -> Envelope:
        """Sign `data` with our fluxnode key, now."""
        if self._key is None:
            raise BadParameter("this node has no fluxnode key (zelnodeprivkey) to sign with")
        _require_typed(data)
        return Envelope.sign(data, self._key, self._clock.millis())

    async def broadcast(self, data: dict[str, Any]) -> Envelope:
        """Originate a message: sign it and send the envelope to every peer (§8.3)."""
        envelope = self.sign(data)
        text = envelope.to_json()
        # we know our own message: serve it to neighbours that ask for it by hash
        self._cache[object_hash(data)] = text
        self.send_to_all(text)
        return envelope

    async def send_to(self, peer_key: str, data: dict[str, Any]) -> bool:
        """Sign `data` and send it to one peer only (answers such as app messages)."""
        peer = self._peers.get(peer_key)
        if peer is None:
            return False
        return peer.send(self.sign(data).to_json())

    async def send_to_each(self, peer_keys: Iterable[str], data: dict[str, Any]) -> set[str]:
        """Sign `data` once and send it to these peers; the keys it was queued for."""
        text = self.sign(data).to_json()
        sent: set[str] = set()
        for key in peer_keys:
            peer = self._peers.get(key)
            if peer is not None and peer.send(text):
                sent.add(key)
        return sent

    def send_to_all(self, text: str, *, exclude: str | None = None) -> int:
        """Send a frame to outbound peers, then inbound ones; the number it was queued for."""
        sent = 0
        for group in (self._peers.outbound(), self._peers.inbound()):
            for peer in group:
                if peer.key != exclude and peer.send(text):
                    sent += 1
        return sent

    def known(self, message_hash: str) -> bool:
        return message_hash in self._cache

    # -- the receive pipeline --------------------------------------------------------------
    async def on_frame(self, peer: Peer, frame: str | bytes) -> None:
        """Everything a peer sends goes through here, in order (§5)."""
        if not self._limiter.allow(peer.key):
            peer.frames_dropped += 1
            if self._limiter.is_flooding(peer.key):
                log.warning(
                    "peer %s: flooding (%d frames dropped by the rate limit); disconnecting",
                    peer.key,
                    self._limiter.dropped(peer.key),
                )
                await peer.close(bad_origin_code(peer.direction), "too many messages")
            return
        peer.messages_received += 1
        peer.bytes_received += len(frame)
        if isinstance(frame, bytes):
            # we advertise no binaryMessages/appStateSync, so peers have no reason to
            log.debug("peer %s: binary frame type %s ignored", peer.key, frame[:1].hex())
            return
        sent_at, text = strip_transmission_stamp(frame)
        if sent_at is not None:
            peer.last_transmission_delay_ms = max(0, self._clock.millis() - sent_at)
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self._invalid(peer, "not a JSON object")
            return
        kind = message.get("type")
        if kind == "nak":
            log.debug(
                "peer %s: NAK %s for %s", peer.key, message.get("reason"), message.get("hash")
            )
            return
        if kind in ("peerExchange", "peerUpdate"):
            self._on_peer_exchange(peer, message)
            return
        if "messageHashPresent" in message:
            await self._on_announce(peer, message["messageHashPresent"])
            return
        if "requestMessageHash" in message:
            await self._on_request(peer, message["requestMessageHash"])
            return
        if not Envelope.is_complete(message):
            await self._invalid(peer, "not a complete envelope")
            return
        await self._on_envelope(peer, Envelope(message))

    def _on_peer_exchange(self, peer: Peer, message: dict[str, Any]) -> None:
        """§10.1: kept only from a peer that advertised peerExchange, as upstream does."""
        if self._topology is None or "peerExchange" not in peer.capabilities:
            log.debug(
                "peer %s: %s without the peerExchange capability; ignored",
                peer.key,
                message.get("type"),
            )
            return
        if message.get("type") == "peerExchange":
            self._topology.exchange(
                peer.key, message.get("outbound", []), message.get("inbound", [])
            )
        else:
            self._topology.update(
                peer.key,
                message.get("addOutbound", []),
                message.get("addInbound", []),
                message.get("rm", []),
            )

    async def _invalid(self, peer: Peer, why: str) -> None:
        log.info("peer %s sent an invalid frame (%s); closing the connection", peer.key, why)
        await peer.close(invalid_message_code(peer.direction), "Message not valid, disconnect")

    async def _on_announce(self, peer: Peer, value: Any) -> None:
        message_hash = normalised_hash(value)
        if message_hash is None:
            await self._invalid(peer, "bad messageHashPresent")
            return
        if message_hash not in self._cache:
            self.stats.requested += 1
            peer.send(_compact(hash_request(message_hash)))

    async def _on_request(self, peer: Peer, value: Any) -> None:
        message_hash = normalised_hash(value)
        if message_hash is None:
            await self._invalid(peer, "bad requestMessageHash")
            return
        text = self._cache.get(message_hash)
        if text is not None:
            self.stats.served += 1
            peer.send(text)

    async def _on_envelope(self, peer: Peer, envelope: Envelope) -> None:
        self.stats.received += 1
        data = envelope.data
        try:
            message_hash = object_hash(data)
        except TypeError:
            await self._invalid(peer, "unhashable data")
            return
        if message_hash in self._cache:
            self.stats.duplicates += 1
            log.debug("message %s from %s: already seen; dropped", message_hash, peer.key)
            return
        now_ms = self._clock.millis()
        verdict = envelope.verify(self._state.nodes, now_ms)
        if verdict is not Verdict.OK:
            await self._refuse(peer, envelope, message_hash, verdict)
            return
        self.stats.verified += 1
        age = envelope.age_ms(now_ms)
        if age >= MAX_AGE_MS:
            self.stats.stale += 1
            log.info(
                "message %s from %s is %.0f s old; dropped as stale",
                message_hash,
                peer.key,
                age / 1000,
            )
            peer.send(_compact(nak(message_hash)))
            return
        self._cache[message_hash] = envelope.to_json()
        self.stats.accepted += 1
        kind = envelope.type
        self.stats.by_type[kind] = self.stats.by_type.get(kind, 0) + 1
        received = ReceivedMessage(envelope, message_hash, peer.key, now_ms)
        task = asyncio.create_task(self._dispatch(received), name=f"gossip {kind} {message_hash}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refuse(
        self, peer: Peer, envelope: Envelope, message_hash: str, verdict: Verdict
    ) -> None:
        if verdict is Verdict.NODE_NOT_FOUND:
            # upstream drops these without blame (a stale list on either side); we count
            # them lightly so a stream of messages from unlisted keys still gets cut off
            self.stats.unknown_origin += 1
            weight = self._params.unknown_origin_weight
        else:
            self.stats.refused += 1
            weight = 1.0
        total = peer.record_bad_message(
            self._clock.monotonic(), weight, self._params.bad_message_window
        )
        log.warning(
            "message %s (%s) from %s refused: %s signed by %s; peer score %.2f/%.0f",
            message_hash,
            envelope.type or "?",
            peer.key,
            verdict.value,
            envelope.pub_key[:20] or "nobody",
            total,
            self._params.bad_message_threshold,
        )
        if total >= self._params.bad_message_threshold:
            log.warning("peer %s: too many bad messages; disconnecting", peer.key)
            await peer.close(bad_origin_code(peer.direction), "too many bad messages")

    async def _dispatch(self, message: ReceivedMessage) -> None:
        handlers = self._handlers.get(message.type)
        if not handlers:
            log.warning(
                "message %s (%s) from %s via %s: no handler for this type; not relayed",
                message.hash,
                message.type,
                message.pub_key[:20],
                message.peer,
            )
            return
        propagate = False
        for handler in handlers:
            try:
                propagate = bool(await handler(message)) or propagate
            except Exception:
                log.exception("handler for %s failed on message %s", message.type, message.hash)
        if propagate:
            self._announce(message)

    def _announce(self, message: ReceivedMessage) -> None:
        if message.type in NEVER_RELAYED:
            return
        age = message.envelope.age_ms(self._clock.millis())
        if age >= relay_window_ms(message.type):
            log.debug("message %s: too old to relay (%.0f s)", message.hash, age / 1000)
            return
        self.stats.announced += 1
        text = _compact(hash_present(message.hash))
        for peer in self._peers:
            if peer.key != message.peer:
                peer.send(text)

    async def drain(self) -> None:
        """Wait for dispatched handlers (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _compact(frame: dict[str, str]) -> str:
    return stringify(frame)


def _require_typed(data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str) or not data["type"]:
        raise BadParameter("message data must be a JSON object with a non-empty string `type`")
