"""Registration and update over HTTP on whole nodes in one process, and the temporary
messages they gossip: real websockets, real node and owner signatures, real SQLite, images
in a real `docker-registry`, Flux's GitHub lists from a local stand-in."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.apps.formatter import format_spec
from fluxos.apps.messages import message_hash, sign_spec
from fluxos.apps.params import DEVELOPMENT
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message
from fluxos.identity.client import Signer, login
from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.fluxservices import FluxServicesStandIn
from tests.support.network import InProcessNode, PeerClient, eventually, start_nodes, stop_nodes
from tests.support.processes import free_port
from tests.support.registry import LocalRegistry
from tests.support.servers import serving
from tests.unit.apps.spec_samples import component, v8_spec

_fresh = itertools.count()


class Owner:
    """An app owner: a ZelID key, signed-in sessions per node, signed messages."""

    def __init__(self) -> None:
        self.key = PrivateKey.generate()
        self.zelid = bitcoin_address(self.key.public_key)
        self._auth: dict[str, dict[str, str]] = {}

    async def headers(self, node: InProcessNode) -> dict[str, str]:
        if node.url not in self._auth:
            signer = Signer(self.zelid, lambda text: sign_message(text, self.key))
            credentials = await asyncio.to_thread(login, node.url, signer)
            self._auth[node.url] = {"zelidauth": credentials.header_json()}
        return self._auth[node.url]

    def message(
        self, spec: dict[str, Any], kind: str = "fluxappregister", key: PrivateKey | None = None
    ) -> dict[str, Any]:
        timestamp = int(time.time() * 1000)
        formatted = format_spec(spec, DEVELOPMENT)
        signer = key or self.key
        if key is not None:  # a forgery: sign as if the key were the owner's
            formatted = dict(formatted, owner=bitcoin_address(key.public_key))
        signature = sign_spec(formatted, signer, message_type=kind, timestamp=timestamp)
        return {
            "type": kind,
            "version": 1,
            "appSpecification": spec,
            "timestamp": timestamp,
            "signature": signature,
        }

    async def post(self, node: InProcessNode, path: str, body: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.post(
                node.url + path, json=body, headers=await self.headers(node)
            )
        assert response.status_code == 200, response.text
        return response.json()


def expected_hash(body: dict[str, Any]) -> str:
    stored = format_spec(body["appSpecification"], DEVELOPMENT)
    return message_hash(body["type"], 1, stored, body["timestamp"], body["signature"])


async def fresh_get(node: InProcessNode, path: str) -> Any:
    separator = "&" if "?" in path else "?"
    return await node.get(f"{path}{separator}fresh={next(_fresh)}")


async def temporary(node: InProcessNode, message_hash: str) -> list[dict[str, Any]]:
    reply = await fresh_get(node, f"/apps/temporarymessages/{message_hash}")
    assert reply["status"] == "success", reply
    return list(reply["data"])


def mesh_complete(nodes: list[InProcessNode]) -> bool:
    everyone = {node.address for node in nodes}
    return all(node.peer_keys() == everyone - {node.address} for node in nodes)


@pytest.fixture(scope="module")
def services(open_registry: LocalRegistry) -> Iterator[str]:
    with serving(FluxServicesStandIn(blocked=[]).app) as url:
        yield url


@pytest.fixture
async def network(
    tmp_path: Path, services: str
) -> AsyncIterator[tuple[FluxnodeRegistry, list[InProcessNode]]]:
    registry = FluxnodeRegistry()
    nodes = await start_nodes(
        4,
        tmp_path,
        registry,
        flux_helpers_url=f"{services}/helpers",
        flux_stats_url=f"{services}/stats",
        flux_rates_url=f"{services}/rates",
        coingecko_url="",
        min_outgoing_peers=1,
        min_incoming_peers=1,
    )
    try:
        await eventually(lambda: mesh_complete(nodes), within=60)
        yield registry, nodes
    finally:
        await stop_nodes(nodes)


def entry_node(nodes: list[InProcessNode]) -> InProcessNode:
    """A node with peers both ways (what the registration precondition asks for)."""
    for node in nodes:
        if node.network.peers.outbound() and node.network.peers.inbound():
            return node
    raise AssertionError("no node has both outgoing and incoming peers")


def app_spec(owner: Owner, image: str, name: str) -> dict[str, Any]:
    return v8_spec(name=name, owner=owner.zelid, compose=[component(repotag=image)])


async def test_registration_gossips_to_every_node(network, open_registry: LocalRegistry) -> None:
    _registry, nodes = network
    owner = Owner()
    node = entry_node(nodes)
    body = owner.message(app_spec(owner, open_registry.images["amd64"], "gossipapp"))

    reply = await owner.post(node, "/apps/appregister", body)
    assert reply == {"status": "success", "data": expected_hash(body)}, reply
    message_hash = reply["data"]

    async def everywhere() -> bool:
        return all([len(await temporary(n, message_hash)) == 1 for n in nodes])

    await eventually(everywhere, within=30)
    documents = [(await temporary(n, message_hash))[0] for n in nodes]
    first = documents[0]
    assert first["type"] == "fluxappregister" and first["version"] == 1
    assert first["appSpecifications"] == format_spec(body["appSpecification"], DEVELOPMENT)
    assert first["signature"] == body["signature"] and first["timestamp"] == body["timestamp"]
    assert first["expireAt"] > first["receivedAt"]
    for document in documents[1:]:
        assert document["appSpecifications"] == first["appSpecifications"]
        assert document["hash"] == message_hash
    # each node stored it once, whichever peers relayed it
    assert all(n.node.app_registry.counters.refused == 0 for n in nodes)

    others = [n for n in nodes if n is not node]
    seen_before = sum(n.network.gossip.stats.duplicates for n in others)
    sent = len(node.network.peers.outbound()) + len(node.network.peers.inbound())
    again = await owner.post(node, "/apps/appregister", body)
    assert again["status"] == "success" and again["data"] == message_hash
    # the broadcast again reached every neighbour, which knew it already
    await eventually(
        lambda: sum(n.network.gossip.stats.duplicates for n in others) >= seen_before + sent,
        within=20,
    )
    assert all([len(await temporary(n, message_hash)) == 1 for n in nodes])


async def test_forged_and_unknown_messages_are_refused(
    network, open_registry: LocalRegistry
) -> None:
    registry, nodes = network
    owner = Owner()
    node = entry_node(nodes)
    image = open_registry.images["amd64"]
    intruder = PrivateKey.generate()

    # the owner field names the owner, the signature is someone else's
    forged = owner.message(app_spec(owner, image, "forgedapp"))
    forged["signature"] = sign_message("something else", intruder)
    reply = await owner.post(node, "/apps/appregister", forged)
    assert reply["status"] == "error"
    assert reply["data"]["message"] == (
        "Received signature is invalid or Flux App specifications are not properly formatted"
    )

    # an update of an app nobody registered
    update = owner.message(app_spec(owner, image, "nosuchapp"), kind="fluxappupdate")
    reply = await owner.post(node, "/apps/appupdate", update)
    assert reply["status"] == "error"
    assert reply["data"]["message"] == (
        "Flux App update received but application to update does not exist!"
    )

    # a listed node gossips a registration with a bad owner signature: every node refuses
    peer = PeerClient()
    registry.register(peer.address, peer.key)
    for n in nodes:
        await n.network.state.refresh_list()
    await peer.connect(nodes[0])
    try:
        good = owner.message(app_spec(owner, image, "peerforgedapp"))
        spec = format_spec(good["appSpecification"], DEVELOPMENT)
        bad_signature = sign_message("not the spec", owner.key)
        data = {
            "type": "fluxappregister",
            "version": 1,
            "appSpecifications": spec,
            "hash": message_hash("fluxappregister", 1, spec, good["timestamp"], bad_signature),
            "timestamp": good["timestamp"],
            "signature": bad_signature,
        }
        await peer.send(peer.sign(data))
        target = nodes[0].node.app_registry.counters
        await eventually(lambda: target.by_reason.get("invalid", 0) >= 1, within=15)
        assert await temporary(nodes[0], data["hash"]) == []
        # the same message correctly signed is stored and spreads
        data["signature"] = good["signature"]
        data["hash"] = expected_hash(good)
        await peer.send(peer.sign(data))

        async def everywhere() -> bool:
            return all([len(await temporary(n, data["hash"])) == 1 for n in nodes])

        await eventually(everywhere, within=30)
    finally:
        await peer.close()


@pytest.fixture
async def offline_network(tmp_path: Path) -> AsyncIterator[list[InProcessNode]]:
    """Three devnet nodes with no internet: GitHub, Flux's stats and Docker Hub unreachable."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    nodes = await start_nodes(
        3,
        tmp_path,
        FluxnodeRegistry(),
        flux_helpers_url=f"{nowhere}/helpers",
        flux_stats_url=f"{nowhere}/stats",
        flux_rates_url=f"{nowhere}/rates",
        coingecko_url="",
        min_outgoing_peers=1,
        min_incoming_peers=1,
    )
    try:
        await eventually(lambda: mesh_complete(nodes), within=60)
        yield nodes
    finally:
        await stop_nodes(nodes)


async def test_an_offline_devnet_registers(
    offline_network: list[InProcessNode], open_registry: LocalRegistry
) -> None:
    nodes = offline_network
    owner = Owner()
    node = entry_node(nodes)
    unreachable_image = f"127.0.0.1:{free_port()}/flux/app:1.0"
    body = owner.message(app_spec(owner, unreachable_image, "offlineapp"))

    reply = await owner.post(node, "/apps/appregister", body)
    assert reply == {"status": "success", "data": expected_hash(body)}, reply

    async def everywhere() -> bool:
        return all([len(await temporary(n, reply["data"])) == 1 for n in nodes])

    await eventually(everywhere, within=30)
    # a registry that answers is still obeyed: a missing image is refused
    missing = open_registry.images["amd64"].replace("busybox:1.36", "busybox:nosuchtag")
    refused = await owner.post(
        node, "/apps/appregister", owner.message(app_spec(owner, missing, "missingapp"))
    )
    assert refused["status"] == "error" and "not available" in refused["data"]["message"]
