"""The peer protocol between real nodes in one process: real websockets on loopback,
real signatures, a node list made in the test. (Refusals, replays, floods and churn are
exercised end to end against `fluxos cluster` in tests/e2e.)"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxos.errors import FluxError
from fluxos.network.gossip import ReceivedMessage
from fluxos.network.objecthash import object_hash
from fluxos.network.peers import CloseCode
from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import (
    InProcessNode,
    PeerClient,
    eventually,
    start_nodes,
    stop_nodes,
)


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


async def test_a_node_that_loses_its_confirmation_leaves_the_network(tmp_path: Path) -> None:
    registry = FluxnodeRegistry()
    a, b = await start_nodes(2, tmp_path, registry)
    try:
        await eventually(lambda: a.address in b.peer_keys(), within=30)
        registry.drop(b.address)  # fluxd now reports b's fluxnode as merely STARTED
        await eventually(lambda: not b.network.state.confirmed)
        await eventually(lambda: not a.peer_keys() and not b.peer_keys(), within=20)
        with pytest.raises(FluxError, match="not a confirmed fluxnode"):
            await b.network.broadcast({"type": "testnote"})
        knocking = PeerClient()
        await knocking.connect(b)
        await eventually(knocking.closed, within=10)
        assert knocking.close_code == CloseCode.NODE_UNCONFIRMED
        assert not b.peer_keys()
    finally:
        await stop_nodes([a, b])


async def test_mainnet_nodes_refuse_peers_from_private_addresses(tmp_path: Path) -> None:
    registry = FluxnodeRegistry()
    node = InProcessNode(tmp_path / "mainnet", registry, development=False)
    await node.start()
    try:
        await eventually(lambda: node.network.state.confirmed)
        peer = PeerClient()
        await peer.connect(node)
        await eventually(peer.closed, within=10)
        assert peer.close_code == CloseCode.PRIVATE_IP
        assert not node.peer_keys()
    finally:
        await node.stop()
