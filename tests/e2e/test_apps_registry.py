"""The global apps registry end to end: `fluxos cluster` node processes on 127.0.0.2…, a
real devnet. An owner registers with a real signature on one node, pays on the devnet chain
(a real transaction to the app-payment address, mined), and every node holds the same
permanent message and global spec, read over HTTP. The devnet has no internet: its image
checks must not refuse the registration (the image's registry is on a closed port)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fluxos.apps.formatter import format_spec
from fluxos.apps.messages import message_hash, sign_spec
from fluxos.apps.params import DEVELOPMENT
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message
from fluxos.identity.client import Signer, login
from fluxos.network.cluster import PeerTargets
from tests.support.apppayments import pay_for_message
from tests.support.cluster import ClusterHarness, wait_until
from tests.support.devnetprocess import SyncRpc
from tests.support.processes import free_port
from tests.unit.apps.spec_samples import component, v8_spec

pytestmark = pytest.mark.slow

NODES = 4
WAIT = 90.0


class Owner:
    """An app owner: a ZelID key, a session per node, signed registration messages."""

    def __init__(self) -> None:
        self.key = PrivateKey.generate()
        self.zelid = bitcoin_address(self.key.public_key)
        self._auth: dict[str, dict[str, str]] = {}

    def headers(self, url: str) -> dict[str, str]:
        if url not in self._auth:
            signer = Signer(self.zelid, lambda text: sign_message(text, self.key))
            self._auth[url] = {"zelidauth": login(url, signer).header_json()}
        return self._auth[url]

    def message(self, spec: dict[str, Any], kind: str = "fluxappregister") -> dict[str, Any]:
        timestamp = int(time.time() * 1000)
        formatted = format_spec(spec, DEVELOPMENT)
        signature = sign_spec(formatted, self.key, message_type=kind, timestamp=timestamp)
        return {
            "type": kind,
            "version": 1,
            "appSpecification": spec,
            "timestamp": timestamp,
            "signature": signature,
        }


def hash_of(body: dict[str, Any]) -> str:
    stored = format_spec(body["appSpecification"], DEVELOPMENT)
    return message_hash(body["type"], 1, stored, body["timestamp"], body["signature"])


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterHarness]:
    targets = PeerTargets(min_outgoing=1, min_incoming=1)
    with ClusterHarness(tmp_path_factory.mktemp("registry"), NODES, targets=targets) as net:
        wait_until(net.is_mesh, timeout=WAIT, interval=0.5)
        yield net


@pytest.fixture(scope="module")
def wallet(net: ClusterHarness) -> Iterator[SyncRpc]:
    endpoint = net.fluxd(1).endpoint
    rpc = SyncRpc(endpoint.url, endpoint.user, endpoint.password)
    yield rpc
    rpc.close()


def entry(net: ClusterHarness) -> int:
    """A node with peers both ways (what registration asks for)."""
    for node in net.nodes:
        outbound = fresh(net, node.index, "/flux/connectedpeers")
        inbound = fresh(net, node.index, "/flux/incomingconnections")
        if outbound and inbound:
            return node.index
    raise AssertionError("no node has both outgoing and incoming peers")


def fresh(net: ClusterHarness, index: int, path: str, **headers: str) -> Any:
    """A route's answer past its cache (a query of its own is kept)."""
    separator = "&" if "?" in path else "?"
    answer = net.get(index, f"{path}{separator}fresh={time.monotonic_ns()}", headers=headers)
    assert answer["status"] == "success", answer
    return answer["data"]


def register(net: ClusterHarness, owner: Owner, name: str) -> tuple[int, str]:
    image = f"127.0.0.1:{free_port()}/flux/{name}:1.0"  # no registry answers there
    spec = v8_spec(name=name, owner=owner.zelid, compose=[component(repotag=image)])
    body = owner.message(spec)
    index = entry(net)
    url = net.node(index).url
    reply = httpx.post(
        url + "/apps/appregister", json=body, headers=owner.headers(url), timeout=60
    ).json()
    assert reply == {"status": "success", "data": hash_of(body)}, reply
    return index, str(reply["data"])


def everywhere(net: ClusterHarness, path: str, count: int = 1) -> list[Any]:
    def check() -> list[Any] | None:
        found = [fresh(net, node.index, path) for node in net.nodes]
        return found if all(len(f) == count for f in found) else None

    result: list[Any] = wait_until(check, timeout=WAIT, interval=0.5)
    return result


def test_a_paid_registration_becomes_global_on_every_node(
    net: ClusterHarness, wallet: SyncRpc
) -> None:
    owner = Owner()
    _index, paid_hash = register(net, owner, "paidapp")
    temporaries = everywhere(net, f"/apps/temporarymessages/{paid_hash}")
    assert all(t[0]["hash"] == paid_hash for t in temporaries)

    txid = pay_for_message(wallet, paid_hash, "5")
    wallet.call("generate", 1)
    height = wallet.call("getblockcount")
    permanents = everywhere(net, f"/apps/permanentmessages/{paid_hash}")
    first = permanents[0][0]
    assert first["txid"] == txid and first["height"] == height
    assert first["valueSat"] == 500_000_000
    assert all(p == permanents[0] for p in permanents)

    specs = everywhere(net, "/apps/globalappsspecifications?appname=paidapp")
    assert specs[0][0]["hash"] == paid_hash and specs[0][0]["height"] == height
    assert specs[0][0]["owner"] == owner.zelid
    assert all(s == specs[0] for s in specs)
    hashes = [fresh(net, n.index, "/apps/hashes") for n in net.nodes]
    assert all(any(h["hash"] == paid_hash and h["message"] for h in found) for found in hashes)
    assert {fresh(net, n.index, "/apps/appowner/paidapp") for n in net.nodes} == {owner.zelid}

    # the appowner level resolves the owner from the registry on every node
    stranger = Owner()
    for node in net.nodes:
        path = "/apps/appspecifications/paidapp"
        mine = net.get(node.index, path, headers=owner.headers(node.url))
        assert mine["status"] == "success" and mine["data"]["hash"] == paid_hash, mine
        theirs = net.get(node.index, path, headers=stranger.headers(node.url))
        assert theirs["status"] == "error", theirs


def test_an_underpaid_registration_never_becomes_global(
    net: ClusterHarness, wallet: SyncRpc
) -> None:
    owner = Owner()
    _index, cheap_hash = register(net, owner, "cheapapp")
    everywhere(net, f"/apps/temporarymessages/{cheap_hash}")
    txid = pay_for_message(wallet, cheap_hash, "0.02")  # above the minimum, below the price
    wallet.call("generate", 1)
    # stored as permanent regardless of the amount (§7.3), but never global
    permanents = everywhere(net, f"/apps/permanentmessages/{cheap_hash}")
    assert all(p[0]["txid"] == txid and p[0]["valueSat"] == 2_000_000 for p in permanents)
    wallet.call("generate", 1)
    for node in net.nodes:
        assert fresh(net, node.index, "/apps/globalappsspecifications?appname=cheapapp") == []
