"""The gossip pipeline with real signatures, a manual clock and recorded peer sockets."""

from __future__ import annotations

import json

import pytest

from fluxos.clock import ManualClock
from fluxos.crypto import PrivateKey
from fluxos.network.envelope import Envelope
from fluxos.network.gossip import Gossip, ReceivedMessage
from fluxos.network.networkstate import NetworkState
from fluxos.network.objecthash import object_hash
from fluxos.network.params import NetworkParams
from fluxos.network.peers import CloseCode, Direction, Peer, PeerManager, Source
from tests.support.fluxnodes import FluxnodeRegistry


class RecordingLink:
    """The websocket edge of a peer: what we sent and how we closed it."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def abort(self) -> None:
        self.closed = (1006, "")


class World:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.params = NetworkParams()
        self.registry = FluxnodeRegistry()
        self.me = self.registry.register("20.0.0.1:16127")
        self.alice = self.registry.register("20.0.0.2:16127")
        self.bob = self.registry.register("20.0.0.3:16127")
        self.state = NetworkState(self.registry.source(self.me.address), self.clock, self.params)
        self.peers = PeerManager(self.clock, self.params)
        self.gossip = Gossip(
            state=self.state,
            peers=self.peers,
            clock=self.clock,
            params=self.params,
            key=self.me.key,
        )
        self.received: list[ReceivedMessage] = []

    async def start(self) -> World:
        await self.state.refresh_list()
        await self.state.refresh_status()
        return self

    def connect(self, address: str, direction: Direction = Direction.OUTBOUND) -> Peer:
        ip, port = address.split(":")
        peer = Peer(
            ip=ip,
            port=int(port),
            direction=direction,
            source=Source.MANUAL,
            link=RecordingLink(),
            connected_at_ms=self.clock.millis(),
            connected_mono=self.clock.monotonic(),
        )
        self.peers.add(peer)
        return peer

    def handle(self, kind: str, relay: bool = True) -> None:
        async def handler(message: ReceivedMessage) -> bool:
            self.received.append(message)
            return relay

        self.gossip.subscribe(kind, handler)

    def signed(self, key: PrivateKey, data: dict, age_ms: int = 0) -> Envelope:
        return Envelope.sign(data, key, self.clock.millis() - age_ms)


async def sent(peer: Peer) -> list[dict]:
    await peer.flushed()
    link = peer.link
    assert isinstance(link, RecordingLink)
    return [json.loads(text) for text in link.sent]


@pytest.fixture
async def world() -> World:
    return await World().start()


async def test_verified_message_is_dispatched_once_and_announced_to_others(world: World) -> None:
    world.handle("testnote")
    a = world.connect(world.alice.address)
    b = world.connect(world.bob.address, Direction.INBOUND)
    envelope = world.signed(world.alice.key, {"type": "testnote", "n": 1})
    await world.gossip.on_frame(a, envelope.to_json())
    await world.gossip.on_frame(a, envelope.to_json())
    await world.gossip.on_frame(b, envelope.to_json())
    await world.gossip.drain()
    assert [m.hash for m in world.received] == [object_hash({"type": "testnote", "n": 1})]
    assert world.gossip.stats.duplicates == 2
    assert await sent(b) == [{"messageHashPresent": world.received[0].hash}]
    assert await sent(a) == []  # never announced back to the peer it came from


async def test_forged_copy_first_does_not_block_the_genuine_message(world: World) -> None:
    world.handle("testnote")
    a = world.connect(world.alice.address)
    data = {"type": "testnote", "n": 2}
    genuine = world.signed(world.alice.key, data)
    forged = dict(genuine.message, signature=world.signed(world.bob.key, data).message["signature"])
    await world.gossip.on_frame(a, json.dumps(forged))
    assert not world.gossip.known(object_hash(data))
    await world.gossip.on_frame(a, genuine.to_json())
    await world.gossip.drain()
    assert len(world.received) == 1
    assert world.received[0].envelope.message["signature"] == genuine.message["signature"]
    assert a.refused_messages == 1


async def test_unlisted_key_is_refused_and_counted_lightly(world: World) -> None:
    world.handle("testnote")
    a = world.connect(world.alice.address)
    stranger = PrivateKey.generate()
    for n in range(19):
        await world.gossip.on_frame(
            a, world.signed(stranger, {"type": "testnote", "n": n}).to_json()
        )
    assert world.received == [] and not a.closed
    assert world.gossip.stats.unknown_origin == 19
    await world.gossip.on_frame(a, world.signed(stranger, {"type": "testnote", "n": 99}).to_json())
    assert a.link.closed == (CloseCode.BAD_ORIGIN_OUTBOUND, "too many bad messages")


async def test_five_bad_signatures_in_ten_minutes_disconnect(world: World) -> None:
    a = world.connect(world.alice.address, Direction.INBOUND)
    for n in range(4):
        bad = world.signed(world.alice.key, {"type": "testnote", "n": n}).message
        bad["data"]["n"] = n + 100
        await world.gossip.on_frame(a, json.dumps(bad))
        world.clock.advance(100)
    assert not a.closed
    world.clock.advance(300)  # the first bad message leaves the 10-minute window
    for n in range(4):
        bad = world.signed(world.alice.key, {"type": "testnote", "n": n + 10}).message
        bad["data"]["n"] = -1
        await world.gossip.on_frame(a, json.dumps(bad))
    assert a.link.closed == (CloseCode.BAD_ORIGIN_INBOUND, "too many bad messages")
    assert a.refused_messages == 8


async def test_pubkey_mismatch_for_an_origin_bound_type(world: World) -> None:
    a = world.connect(world.alice.address)
    data = {
        "type": "fluxappremoved",
        "version": 1,
        "appName": "x",
        "ip": world.bob.address,
        "broadcastedAt": world.clock.millis(),
    }
    await world.gossip.on_frame(a, world.signed(world.alice.key, data).to_json())
    assert world.gossip.stats.refused == 1 and a.refused_messages == 1


async def test_replay_within_five_minutes_is_a_duplicate_and_later_is_stale(world: World) -> None:
    world.handle("testnote")
    a = world.connect(world.alice.address)
    envelope = world.signed(world.alice.key, {"type": "testnote", "n": 3})
    await world.gossip.on_frame(a, envelope.to_json())
    world.clock.advance(200)
    await world.gossip.on_frame(a, envelope.to_json())
    assert world.gossip.stats.duplicates == 1
    world.clock.advance(101)  # cache entry and message both older than five minutes
    await world.gossip.on_frame(a, envelope.to_json())
    await world.gossip.drain()
    assert len(world.received) == 1
    assert world.gossip.stats.stale == 1
    assert await sent(a) == [{"type": "nak", "hash": object_hash(envelope.data), "reason": "stale"}]


async def test_future_timestamp_is_malformed(world: World) -> None:
    a = world.connect(world.alice.address)
    envelope = world.signed(world.alice.key, {"type": "testnote"}, age_ms=-121_000)
    await world.gossip.on_frame(a, envelope.to_json())
    assert world.gossip.stats.refused == 1


async def test_announce_request_and_serve(world: World) -> None:
    world.handle("testnote")
    a = world.connect(world.alice.address)
    b = world.connect(world.bob.address)
    envelope = world.signed(world.alice.key, {"type": "testnote", "n": 4})
    message_hash = object_hash(envelope.data)
    await world.gossip.on_frame(a, json.dumps({"messageHashPresent": message_hash}))
    assert await sent(a) == [{"requestMessageHash": message_hash}]
    await world.gossip.on_frame(a, envelope.to_json())
    await world.gossip.drain()
    await world.gossip.on_frame(b, json.dumps({"requestMessageHash": message_hash}))
    served = await sent(b)
    assert served[-1] == envelope.message
    await world.gossip.on_frame(b, json.dumps({"messageHashPresent": message_hash}))
    assert len(await sent(b)) == len(served)  # known: not requested again


async def test_unknown_hash_request_is_ignored_and_bad_hash_closes(world: World) -> None:
    a = world.connect(world.alice.address)
    await world.gossip.on_frame(a, json.dumps({"requestMessageHash": "0" * 40}))
    assert await sent(a) == []
    await world.gossip.on_frame(a, json.dumps({"messageHashPresent": "short"}))
    assert a.link.closed == (CloseCode.INVALID_MSG_OUTBOUND, "Message not valid, disconnect")


@pytest.mark.parametrize(
    "frame", ["not json", "[1,2]", '{"hello":"world"}', '{"version":1,"timestamp":1,"pubKey":"x"}']
)
async def test_frames_that_are_not_protocol_messages_close_the_connection(
    world: World, frame: str
) -> None:
    a = world.connect(world.alice.address, Direction.INBOUND)
    await world.gossip.on_frame(a, frame)
    assert a.link.closed == (CloseCode.INVALID_MSG_INBOUND, "Message not valid, disconnect")


async def test_tolerated_frames(world: World) -> None:
    a = world.connect(world.alice.address)
    for frame in (
        '{"type":"nak","hash":"' + "a" * 40 + '","reason":"stale"}',
        '{"type":"peerExchange","outbound":[],"inbound":[]}',
        '{"type":"peerUpdate","rm":["1.2.3.4:16127"]}',
        b"\x01" + b"\x00" * 20,
    ):
        await world.gossip.on_frame(a, frame)
    assert not a.closed


async def test_transmission_timestamp_prefix_is_stripped(world: World) -> None:
    world.handle("testnote")
    a = world.connect(world.alice.address)
    envelope = world.signed(world.alice.key, {"type": "testnote", "n": 5})
    await world.gossip.on_frame(a, f"T{world.clock.millis() - 40}|" + envelope.to_json())
    await world.gossip.drain()
    assert len(world.received) == 1 and a.last_transmission_delay_ms == 40


async def test_handlers_decide_relay_and_old_messages_are_not_relayed(world: World) -> None:
    world.handle("quiet", relay=False)
    world.handle("fluxapprunning")
    a = world.connect(world.alice.address)
    b = world.connect(world.bob.address)
    await world.gossip.on_frame(a, world.signed(world.alice.key, {"type": "quiet"}).to_json())
    running = {
        "type": "fluxapprunning",
        "version": 2,
        "apps": [],
        "ip": world.alice.address,
        "broadcastedAt": world.clock.millis(),
        "osUptime": 1,
        "staticIp": False,
    }
    old = world.signed(world.alice.key, running, age_ms=250_000)  # fresh, but past 240 s
    await world.gossip.on_frame(a, old.to_json())
    await world.gossip.drain()
    assert len(world.received) == 2
    assert await sent(b) == []


async def test_broadcast_signs_and_reaches_outbound_then_inbound(world: World) -> None:
    inbound = world.connect(world.bob.address, Direction.INBOUND)
    outbound = world.connect(world.alice.address)
    envelope = await world.gossip.broadcast({"type": "testnote", "n": 6})
    assert (await sent(outbound))[0] == envelope.message == (await sent(inbound))[0]
    assert envelope.verify(world.state.nodes, world.clock.millis()).value == "OK"
    assert world.gossip.known(object_hash(envelope.data))


async def test_flood_is_throttled_then_disconnected(world: World) -> None:
    world.handle("testnote")
    a = world.connect(world.alice.address)
    envelope = world.signed(world.alice.key, {"type": "testnote", "n": 7}).to_json()
    for _second in range(6):
        for _ in range(500):
            await world.gossip.on_frame(a, envelope)
            if a.closed:
                break
        world.clock.advance(1.0)
    assert 2000 < a.frames_dropped < 2500
    assert a.link.closed == (CloseCode.BAD_ORIGIN_OUTBOUND, "too many messages")
