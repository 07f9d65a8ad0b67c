"""The peer protocol between real nodes in one process: real websockets on loopback,
real signatures, a node list made in the test."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxos.network.gossip import ReceivedMessage
from fluxos.network.objecthash import object_hash
from fluxos.network.peers import CloseCode
from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import InProcessNode, PeerClient, eventually, start_nodes, stop_nodes


@pytest.fixture
async def five(tmp_path: Path) -> AsyncIterator[tuple[FluxnodeRegistry, list[InProcessNode]]]:
    registry = FluxnodeRegistry()
    nodes = await start_nodes(5, tmp_path, registry)
    try:
        yield registry, nodes
    finally:
        await stop_nodes(nodes)


def mesh_complete(nodes: list[InProcessNode]) -> bool:
    everyone = {node.address for node in nodes}
    return all(node.peer_keys() == everyone - {node.address} for node in nodes)


async def test_five_nodes_form_a_full_mesh(five) -> None:
    _registry, nodes = five
    await eventually(lambda: mesh_complete(nodes), within=30)
    peers = await nodes[0].get("/flux/peers")
    assert peers["status"] == "success"
    assert {f"{p['ip']}:{p['port']}" for p in peers["data"]} == {n.address for n in nodes[1:]}
    out = await nodes[0].get("/flux/connectedpeers")
    incoming = await nodes[0].get("/flux/incomingconnections")
    assert len(out["data"]) + len(incoming["data"]) == 4


class Inbox:
    """Counts deliveries of one message type at one node; relays like a real handler."""

    def __init__(self) -> None:
        self.hashes: list[str] = []

    async def __call__(self, message: ReceivedMessage) -> bool:
        self.hashes.append(message.hash)
        return True


async def test_broadcast_reaches_every_node_exactly_once(five) -> None:
    _registry, nodes = five
    await eventually(lambda: mesh_complete(nodes), within=30)
    inboxes = []
    for node in nodes:
        inbox = Inbox()
        node.network.subscribe("testnote", inbox)
        node.network.subscribe("barrier", Inbox())
        inboxes.append(inbox)
    envelope = await nodes[0].network.broadcast({"type": "testnote", "text": "hello"})
    message_hash = object_hash(envelope.data)
    await eventually(lambda: all(inbox.hashes for inbox in inboxes[1:]))
    # a barrier from every node: once each has everyone's barrier, every frame sent
    # before (the hash announcements of the first message) has been processed
    for node in nodes:
        await node.network.broadcast({"type": "barrier", "from": node.address})
    await eventually(lambda: all(n.network.gossip.stats.by_type.get("barrier") == 4 for n in nodes))
    assert inboxes[0].hashes == []  # the originator does not deliver to itself
    assert all(inbox.hashes == [message_hash] for inbox in inboxes[1:])
    assert all(n.network.gossip.stats.by_type["testnote"] == 1 for n in nodes[1:])


async def test_a_message_travels_a_chain_by_hash_announcements(tmp_path: Path) -> None:
    registry = FluxnodeRegistry()
    nodes = [InProcessNode(tmp_path / f"n{i}", registry) for i in range(4)]
    for node in nodes:
        node.network.discovery.enabled = False  # we wire a line: 0 - 1 - 2 - 3
    await asyncio.gather(*(node.start() for node in nodes))
    try:
        await eventually(lambda: all(n.network.state.confirmed for n in nodes))
        for left, right in itertools.pairwise(nodes):
            assert await left.network.dial(right.address)
        inboxes = []
        for node in nodes:
            inbox = Inbox()
            node.network.subscribe("testnote", inbox)
            inboxes.append(inbox)
        envelope = await nodes[0].network.broadcast({"type": "testnote", "hop": "many"})
        await eventually(lambda: inboxes[3].hashes)
        assert [len(inbox.hashes) for inbox in inboxes] == [0, 1, 1, 1]
        assert inboxes[3].hashes == [object_hash(envelope.data)]
        # node 3 got it by asking node 2, which had announced the hash
        assert nodes[3].network.gossip.stats.requested == 1
        assert nodes[2].network.gossip.stats.served == 1
    finally:
        await stop_nodes(nodes)


async def test_unlisted_signer_is_refused_and_counted_against_the_peer(five) -> None:
    _registry, nodes = five
    target = nodes[0]
    await eventually(lambda: target.network.state.confirmed)
    stranger = PeerClient()  # its key is in no fluxnode list entry
    await stranger.connect(target)
    await eventually(lambda: stranger.address in target.peer_keys())
    for n in range(3):
        await stranger.send(stranger.sign({"type": "testnote", "n": n}))
    info = await eventually(
        lambda: _peer_with_bad_messages(target, stranger.address, at_least=3), within=10
    )
    assert info["badMessages"] == 3
    assert target.network.gossip.stats.accepted == 0
    for n in range(3, 40):
        await stranger.send(stranger.sign({"type": "testnote", "n": n}))
    await eventually(stranger.closed, within=10)
    assert stranger.close_code == CloseCode.BAD_ORIGIN_INBOUND
    assert stranger.address not in target.peer_keys()


async def _peer_with_bad_messages(node: InProcessNode, key: str, at_least: int) -> dict | None:
    answer = await node.get(f"/flux/peers/{key}")
    if answer["status"] != "success" or answer["data"]["badMessages"] < at_least:
        return None
    return answer["data"]


async def test_replayed_message_is_dropped(five) -> None:
    registry, nodes = five
    target = nodes[1]
    listed = PeerClient()
    registry.register(listed.address, listed.key)  # a fluxnode that is not running a node
    await eventually(lambda: target.network.state.nodes.at(listed.address) is not None)
    inbox = Inbox()
    target.network.subscribe("testnote", inbox)
    await listed.connect(target)
    envelope = listed.sign({"type": "testnote", "n": "once"})
    await listed.send(envelope)
    await eventually(lambda: inbox.hashes)
    for _ in range(3):
        await listed.send(envelope)  # the same bytes again
    await eventually(lambda: target.network.gossip.stats.duplicates >= 3, within=10)
    assert inbox.hashes == [object_hash(envelope.data)]
    stale = listed.sign({"type": "testnote", "n": "old"}, timestamp_ms=envelope.timestamp - 301_000)
    await listed.send(stale)
    await eventually(lambda: any(f.get("type") == "nak" for f in listed.received), within=10)
    assert {"type": "nak", "hash": object_hash(stale.data), "reason": "stale"} in listed.received
    assert len(inbox.hashes) == 1
    await listed.close()


async def test_flood_is_throttled_and_the_peer_disconnected(five) -> None:
    registry, nodes = five
    target = nodes[2]
    flooder = PeerClient()
    registry.register(flooder.address, flooder.key)
    await eventually(lambda: target.network.state.nodes.at(flooder.address) is not None)
    await flooder.connect(target)
    frame = flooder.sign({"type": "testnote", "n": "flood"}).to_json()
    sent = 0
    while not await flooder.closed() and sent < 100_000:
        try:
            await flooder.send(frame)
        except Exception:
            break
        sent += 1
        if sent % 200 == 0:
            await asyncio.sleep(0.05)
    await eventually(flooder.closed, within=15)
    assert flooder.close_code == CloseCode.BAD_ORIGIN_INBOUND
    assert target.network.limiter.dropped(flooder.address) > 500
    assert target.network.gossip.stats.accepted == 1  # the one copy that was new


async def test_a_stopped_node_is_dropped_and_its_peers_connect_elsewhere(tmp_path: Path) -> None:
    registry = FluxnodeRegistry()
    small = {
        "min_outgoing_peers": 2,
        "outgoing_peer_target": 2,
        "min_incoming_peers": 1,
        "incoming_peer_target": 1,
    }
    nodes = await start_nodes(7, tmp_path, registry, **small)
    try:
        await eventually(lambda: all(len(n.network.peers.outbound()) >= 2 for n in nodes), 30)
        watcher = nodes[0]
        # keep exactly two outbound peers, so losing one puts the watcher under its target
        for extra in watcher.network.peers.outbound()[2:]:
            await watcher.network.disconnect(extra.key, CloseCode.CLOSED_OUTBOUND)
        await eventually(lambda: len(watcher.network.peers.outbound()) == 2)
        before = {p.key for p in watcher.network.peers.outbound()}
        victim = next(n for n in nodes if n.address in before)
        await victim.stop()
        others = [n for n in nodes if n is not victim]
        await eventually(lambda: all(victim.address not in n.peer_keys() for n in others), 30)
        await eventually(lambda: len(watcher.network.peers.outbound()) >= 2, 30)
        after = {p.key for p in watcher.network.peers.outbound()}
        assert victim.address not in after
        assert after - before  # a new outbound peer replaced the stopped one
    finally:
        await stop_nodes(nodes)
