"""The Flux network end to end: `fluxos cluster` processes on 127.0.0.2…, a real devnet,
real logins; test peers are websocket clients on other loopback addresses."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from fluxos.network.objecthash import object_hash
from fluxos.network.peers import CloseCode
from tests.support.cluster import ClusterHarness, wait_until
from tests.support.network import PeerClient, eventually

NODES = 5
SPARE = NODES + 1  # a listed fluxnode (127.0.0.7) with no node: test peers sign with its key
NO_HANDLER = "no handler for this type"


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterHarness]:
    with ClusterHarness(tmp_path_factory.mktemp("cluster5"), NODES, spare_fluxnodes=1) as net:
        wait_until(net.is_mesh, timeout=60, interval=0.5)
        yield net


def test_five_nodes_form_a_connected_mesh(five: ClusterHarness) -> None:
    for node in five.nodes:
        others = {n.address for n in five.nodes} - {node.address}
        peers = five.peers(node.index)
        assert set(peers) >= others
        assert all(peers[key]["isAlive"] for key in others)
    out = sum(len(five.get(i, "/flux/connectedpeers")["data"]) for i in range(1, NODES + 1))
    # (connectedpeers is cached 30 s; the mesh was complete before this first call)
    assert out == NODES * (NODES - 1) // 2  # one connection per pair


def test_cluster_nodes_ask_no_internet_service_where_they_are(five: ClusterHarness) -> None:
    # a `fluxos cluster` node is a devnet with its own external devnet daemon: it reports
    # the configured location, as the embedded devnet does, instead of asking ip-api.com
    for node in five.nodes:
        location = wait_until(
            lambda node=node: five.get(node.index, "/flux/geolocation").get("data"), timeout=20
        )
        assert location["country"] == "Local devnet", location
        assert location["ip"] == node.address.rpartition(":")[0]


def test_broadcast_reaches_every_other_node_exactly_once(five: ClusterHarness) -> None:
    data = {"type": "e2enote", "nonce": time.time_ns()}
    message_hash = object_hash(data)
    sent = five.post(1, "/flux/broadcastmessage", json=data, headers=five.admin(1))
    assert sent["status"] == "success", sent
    others = range(2, NODES + 1)
    wait_until(lambda: all(five.log_count(i, message_hash) for i in others), timeout=20)
    # barriers from every node: once each has all of them, earlier frames were processed
    barrier = time.time_ns()
    for i in range(1, NODES + 1):
        body = {"type": "e2ebarrier", "round": barrier, "from": i}
        assert (
            five.post(i, "/flux/broadcastmessage", json=body, headers=five.admin(i))["status"]
            == "success"
        )
    barrier_hashes = [
        object_hash({"type": "e2ebarrier", "round": barrier, "from": i})
        for i in range(1, NODES + 1)
    ]
    wait_until(
        lambda: all(
            five.log_count(i, h) == 1
            for i in range(1, NODES + 1)
            for j, h in enumerate(barrier_hashes, start=1)
            if j != i
        ),
        timeout=20,
    )
    assert five.log_count(1, message_hash) == 0
    assert all(five.log_count(i, message_hash) == 1 for i in others)
    line = next(line for line in five.log(2).splitlines() if message_hash in line)
    assert "(e2enote)" in line and NO_HANDLER in line


async def test_unlisted_signer_is_refused_and_counted(five: ClusterHarness) -> None:
    stranger = PeerClient(host="127.0.0.50")  # a key no fluxnode entry holds
    await stranger.connect(five.node(2).host)
    key = stranger.address
    await eventually(lambda: key in five.peers(2), within=10)
    for n in range(3):
        await stranger.send(stranger.sign({"type": "e2enote", "n": n}))
    info = await eventually(lambda: _bad(five, 2, key, 3), within=10)
    assert info["badMessages"] == 3
    assert five.log_count(2, "NODE_NOT_FOUND") >= 3
    for n in range(3, 30):
        await stranger.send(stranger.sign({"type": "e2enote", "n": n}))
    await eventually(stranger.closed, within=10)
    assert stranger.close_code == CloseCode.BAD_ORIGIN_INBOUND
    assert key not in five.peers(2)


def _bad(net: ClusterHarness, index: int, key: str, at_least: int) -> dict | None:
    peer = net.peers(index).get(key)
    return peer if peer and peer["badMessages"] >= at_least else None


async def test_replayed_message_is_dropped(five: ClusterHarness) -> None:
    spare = PeerClient(five.fluxnode_key(SPARE), host="127.0.0.7")
    await spare.connect(five.node(3).host)
    envelope = spare.sign({"type": "e2enote", "replay": time.time_ns()})
    message_hash = object_hash(envelope.data)
    await spare.send(envelope)
    await eventually(lambda: five.log_count(3, message_hash) == 1, within=10)
    for _ in range(3):
        await spare.send(envelope)
    stale = spare.sign({"type": "e2enote", "replay": "old"}, envelope.timestamp - 301_000)
    await spare.send(stale)  # sent after the copies: once it is answered, they were handled
    nak = {"type": "nak", "hash": object_hash(stale.data), "reason": "stale"}
    await eventually(lambda: nak in spare.received, within=10)
    assert five.log_count(3, message_hash) == 1
    await spare.close()


async def test_flood_is_throttled_and_the_peer_disconnected(five: ClusterHarness) -> None:
    flooder = PeerClient(five.fluxnode_key(SPARE), host="127.0.0.7")
    await flooder.connect(five.node(4).host)
    frame = json.dumps(flooder.sign({"type": "e2enote", "flood": time.time_ns()}).message)
    sent = 0
    while not await flooder.closed() and sent < 200_000:
        try:
            await flooder.send(frame)
        except Exception:
            break
        sent += 1
        if sent % 250 == 0:
            await asyncio.sleep(0.02)
    await eventually(flooder.closed, within=20)
    assert flooder.close_code == CloseCode.BAD_ORIGIN_INBOUND
    assert five.log_count(4, "127.0.0.7:16127: flooding") == 1


def test_a_killed_node_is_dropped_by_its_peers(five: ClusterHarness) -> None:
    victim = five.node(NODES)
    five.cluster.kill_node(victim)
    survivors = range(1, NODES)
    wait_until(lambda: all(victim.address not in five.peers(i) for i in survivors), timeout=30)
    assert five.is_mesh(list(survivors))
