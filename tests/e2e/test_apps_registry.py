"""The global apps registry end to end: `fluxos cluster` node processes on 127.0.0.2…, a
real devnet. An owner registers with a real signature on one node, pays on the devnet chain
(a real transaction to the app-payment address, mined), and every node holds the same
permanent message and global spec, read over HTTP. The devnet has no internet: its image
checks must not refuse the registration (the image's registry is on a closed port)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from fluxos.apps.formatter import format_spec
from fluxos.apps.messages import message_hash, sign_spec, signed_text
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


def both_ways(net: ClusterHarness, index: int) -> bool:
    """Node `index` has peers both ways (what registration asks for)."""
    outbound = fresh(net, index, "/flux/connectedpeers")
    return bool(outbound and fresh(net, index, "/flux/incomingconnections"))


def entry(net: ClusterHarness) -> int:
    """A running node with peers both ways."""
    for node in net.nodes:
        if node.running and both_ways(net, node.index):
            return node.index
    raise AssertionError("no node has both outgoing and incoming peers")


def registering(net: ClusterHarness, index: int) -> int:
    """Node `index`, once it may take registrations (peers both ways)."""
    wait_until(lambda: both_ways(net, index), timeout=WAIT, interval=0.5)
    return index


def fresh(net: ClusterHarness, index: int, path: str, **headers: str) -> Any:
    """A route's answer past its cache (a query of its own is kept)."""
    separator = "&" if "?" in path else "?"
    answer = net.get(index, f"{path}{separator}fresh={time.monotonic_ns()}", headers=headers)
    assert answer["status"] == "success", answer
    return answer["data"]


def spec_of(owner: Owner, name: str, **fields: Any) -> dict[str, Any]:
    image = f"127.0.0.1:{free_port()}/flux/{name}:1.0"  # no registry answers there
    return v8_spec(name=name, owner=owner.zelid, compose=[component(repotag=image)], **fields)


def register(net: ClusterHarness, owner: Owner, name: str) -> tuple[int, str]:
    body = owner.message(spec_of(owner, name))
    index = entry(net)
    url = net.node(index).url
    reply = httpx.post(
        url + "/apps/appregister", json=body, headers=owner.headers(url), timeout=60
    ).json()
    assert reply == {"status": "success", "data": hash_of(body)}, reply
    return index, str(reply["data"])


def everywhere(net: ClusterHarness, path: str, count: int = 1) -> list[Any]:
    def check() -> list[Any] | None:
        found = [fresh(net, node.index, path) for node in net.nodes if node.running]
        return found if all(len(f) == count for f in found) else None

    result: list[Any] = wait_until(check, timeout=WAIT, interval=0.5)
    return result


def registered(net: ClusterHarness, owner: Owner, name: str) -> str:
    """`name` registered on a node that takes registrations; its message hash, once every
    running node holds the temporary message."""
    _index, hash_ = register(net, owner, name)
    everywhere(net, f"/apps/temporarymessages/{hash_}")
    return hash_


def paid_until_global(net: ClusterHarness, wallet: SyncRpc, hash_: str) -> None:
    """The registration paid in full and mined; returns once its spec is global everywhere."""
    pay_for_message(wallet, hash_, "5")
    wallet.call("generate", 1)
    everywhere(net, f"/apps/globalappsspecifications/{hash_}")


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
    cheap_hash = registered(net, owner, "cheapapp")
    txid = pay_for_message(wallet, cheap_hash, "0.02")  # above the minimum, below the price
    wallet.call("generate", 1)
    # stored as permanent regardless of the amount (§7.3), but never global
    permanents = everywhere(net, f"/apps/permanentmessages/{cheap_hash}")
    assert all(p[0]["txid"] == txid and p[0]["valueSat"] == 2_000_000 for p in permanents)
    wallet.call("generate", 1)
    for node in net.nodes:
        assert fresh(net, node.index, "/apps/globalappsspecifications?appname=cheapapp") == []

    # counted, and shown beside the registry's loop on every node
    def counted(index: int) -> bool:
        loops = {loop["name"]: loop for loop in fresh(net, index, "/flux/loops")}
        detail = loops["apps registry"].get("detail") or ""
        found = re.search(r"(\d+) underpaid", detail)
        with_reason = re.search(r"reasons: .*underpaid [1-9]", detail)
        return found is not None and int(found.group(1)) >= 1 and with_reason is not None

    for node in net.nodes:
        wait_until(lambda: counted(node.index), timeout=WAIT, interval=0.5)  # noqa: B023


def test_an_update_with_its_payment_replaces_the_global_spec_everywhere(
    net: ClusterHarness, wallet: SyncRpc
) -> None:
    owner = Owner()
    first_hash = registered(net, owner, "grownapp")
    paid_until_global(net, wallet, first_hash)

    updated = spec_of(owner, "grownapp", description="more memory")
    body = owner.message(updated, kind="fluxappupdate")
    url = net.node(entry(net)).url
    reply = httpx.post(
        url + "/apps/appupdate", json=body, headers=owner.headers(url), timeout=60
    ).json()
    assert reply == {"status": "success", "data": hash_of(body)}, reply
    update_hash = str(reply["data"])
    everywhere(net, f"/apps/temporarymessages/{update_hash}")
    pay_for_message(wallet, update_hash, "5")
    wallet.call("generate", 1)
    specs = everywhere(net, f"/apps/globalappsspecifications/{update_hash}")
    assert all(s[0]["description"] == "more memory" and s[0]["name"] == "grownapp" for s in specs)
    assert all(s == specs[0] for s in specs)
    for node in net.nodes:  # one app, its two paid messages
        assert fresh(net, node.index, "/apps/globalappsspecifications?appname=grownapp") == specs[0]
        messages = fresh(net, node.index, "/apps/permanentmessages?appname=grownapp")
        assert [m["hash"] for m in messages] == [first_hash, update_hash]


def post(url: str, path: str, body: dict[str, Any], owner: Owner) -> Any:
    return httpx.post(url + path, json=body, headers=owner.headers(url), timeout=60).json()


def test_forged_and_replayed_signatures_are_refused_by_every_node(
    net: ClusterHarness, wallet: SyncRpc
) -> None:
    owner, thief = Owner(), Owner()
    spec = spec_of(owner, "forgedapp")
    # signed by another key than the owner's
    forged = owner.message(spec)
    text = signed_text("fluxappregister", 1, format_spec(spec, DEVELOPMENT), forged["timestamp"])
    forged["signature"] = sign_message(text, thief.key)
    for node in net.nodes:
        registering(net, node.index)
        answer = post(node.url, "/apps/appregister", forged, thief)
        assert answer["status"] == "error", (node.index, answer)
        assert "signature" in answer["data"]["message"].lower(), (node.index, answer)
        assert fresh(net, node.index, f"/apps/temporarymessages/{hash_of(forged)}") == []
    # a valid message sent again: unpaid, it is the same message (the same hash to pay)
    _index, hash_ = register(net, owner, "replayedapp")
    original = fresh(net, _index, f"/apps/temporarymessages/{hash_}")[0]
    replay = {key: original[key] for key in ("type", "version", "timestamp", "signature")}
    replay["appSpecification"] = original["appSpecifications"]
    for node in net.nodes:
        registering(net, node.index)
        answer = post(node.url, "/apps/appregister", replay, owner)
        assert answer == {"status": "success", "data": hash_}, (node.index, answer)
    # a new timestamp under the old signature no longer matches it
    retimed = dict(replay, timestamp=replay["timestamp"] + 1)
    for node in net.nodes:
        registering(net, node.index)
        answer = post(node.url, "/apps/appregister", retimed, owner)
        assert answer["status"] == "error", (node.index, answer)
        assert "signature" in answer["data"]["message"].lower(), (node.index, answer)
        assert fresh(net, node.index, f"/apps/temporarymessages/{hash_of(retimed)}") == []
    # paid, the owner's signature replayed registers nothing anywhere
    paid_until_global(net, wallet, hash_)
    for node in net.nodes:
        registering(net, node.index)
        answer = post(node.url, "/apps/appregister", replay, owner)
        assert answer["status"] == "error", (node.index, answer)
        assert "replayedapp" in answer["data"]["message"], answer


def test_a_node_down_during_the_payment_and_a_node_with_an_empty_database_catch_up(
    net: ClusterHarness, wallet: SyncRpc
) -> None:
    late, wiped = net.node(NODES), net.node(NODES - 1)
    net.cluster.stop_node(late)
    owner = Owner()
    hash_ = registered(net, owner, "lateapp")
    paid_until_global(net, wallet, hash_)

    net.cluster.stop_node(wiped)
    for path in wiped.data_dir.glob("fluxos.db*"):
        path.unlink()
    wallet.call("generate", 1)  # more chain for both to catch up on
    net.cluster.start_node(late)
    net.cluster.start_node(wiped)
    wait_until(net.is_mesh, timeout=WAIT, interval=0.5)

    def same(path: str) -> list[Any] | None:
        found = [fresh(net, node.index, path) for node in net.nodes]
        return found[0] if found[0] and all(f == found[0] for f in found) else None

    permanents = wait_until(lambda: same("/apps/permanentmessages"), timeout=WAIT, interval=1)
    assert hash_ in {m["hash"] for m in permanents}
    specs = wait_until(lambda: same("/apps/globalappsspecifications"), timeout=WAIT, interval=1)
    assert "lateapp" in {s["name"] for s in specs}
    hashes = [
        {h["hash"]: h["message"] for h in fresh(net, n.index, "/apps/hashes")} for n in net.nodes
    ]
    assert all(h == hashes[0] for h in hashes)


def test_enterprise_nodes_are_the_devnets_fluxnodes_by_score(
    net: ClusterHarness, wallet: SyncRpc
) -> None:
    listed = wallet.call("viewdeterministicfluxnodelist")
    # a node listed with a port cannot host an enterprise app (it needs the whole IP):
    # this devnet lists its nodes as 127.0.0.x:16127, so none qualifies
    whole_ips = {n["ip"] for n in listed if n["ip"] and ":" not in n["ip"]}
    assert len(listed) >= NODES
    for node in net.nodes:
        scored = fresh(net, node.index, "/apps/enterprisenodes")
        assert {n["ip"] for n in scored} == whole_ips
        assert [n["score"] for n in scored] == sorted((n["score"] for n in scored), reverse=True)
        for entry in scored:
            parts = ("collateralPoints", "maturityPoints", "pubKeyPoints", "enterprisePoints")
            assert entry["enterpriseApps"] == 0  # no enterprise app pins a node here
            assert entry["score"] == sum(entry[p] for p in parts) > 0


def fluxos_apps(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fluxos", "apps", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=WAIT + 60)


def test_fluxos_apps_deploy_registers_pays_and_waits_until_global(
    net: ClusterHarness, tmp_path: Path
) -> None:
    owner = Owner()
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec_of(owner, "deployedapp")))
    endpoint = net.fluxd(1).endpoint
    parts = urlsplit(endpoint.url)
    wallet_url = f"http://{endpoint.user}:{endpoint.password}@{parts.hostname}:{parts.port}/"

    def key() -> list[str]:  # a node that takes registrations now
        url = net.node(entry(net)).url
        return ["--key", owner.key.to_wif(), "--url", url, "--development"]

    done = fluxos_apps("deploy", str(spec_path), *key(), "--pay-from", wallet_url, "--mine")
    assert done.returncode == 0, done.stderr + done.stdout
    deployed = json.loads(done.stdout)
    assert deployed["name"] == "deployedapp" and deployed["owner"] == owner.zelid
    steps = [line.split(":")[0] for line in done.stderr.splitlines()]
    shown_steps = [step for step in steps if step in ("payment", "paid", "global")]
    assert shown_steps == ["payment", "paid", "global"], done.stderr
    specs = everywhere(net, f"/apps/globalappsspecifications/{deployed['hash']}")
    assert all(s[0]["height"] == deployed["height"] for s in specs)

    shown = fluxos_apps("status", "deployedapp", "--url", net.node(1).url, "--development")
    assert shown.returncode == 0, shown.stderr + shown.stdout
    status = json.loads(shown.stdout)
    assert status["hash"] == deployed["hash"] and status["expireHeight"] == deployed["expireHeight"]
    assert status["expireHeight"] > status["height"] and status["locations"] == []
    assert 0 < status["blocksLeft"] <= status["expireHeight"] - status["height"]

    # an update of the same app at the node's price
    spec_path.write_text(json.dumps(spec_of(owner, "deployedapp", description="second")))
    updated = fluxos_apps("deploy", str(spec_path), *key(), "--pay-from", wallet_url, "--mine")
    assert updated.returncode == 0, updated.stderr + updated.stdout
    assert "fluxappupdate: deployedapp sent" in updated.stderr
    assert json.loads(updated.stdout)["description"] == "second"

    # underpaid: the command says how far it got and fails
    spec_path.write_text(json.dumps(spec_of(owner, "cheapdeploy")))
    cheap = fluxos_apps(
        "deploy", str(spec_path), *key(), "--pay-from", wallet_url, "--mine", "--amount", "0.02",
        "--timeout", "15",
    )  # fmt: skip
    assert cheap.returncode == 1, cheap.stdout
    assert "paid: 2000000 satoshis" in cheap.stderr, cheap.stderr + cheap.stdout
    assert "underpaid" in json.loads(cheap.stdout)["data"]["message"]
    missing = fluxos_apps("status", "nosuchapp", "--url", net.node(2).url, "--development")
    assert missing.returncode == 1 and "nosuchapp" in missing.stdout


def test_getpublickey_needs_a_user_then_owner_and_name_and_an_arcane_node(
    net: ClusterHarness,
) -> None:
    user = Owner()
    url = net.node(1).url
    anonymous = httpx.post(url + "/apps/getpublickey", json={"owner": user.zelid, "name": "a"})
    assert anonymous.json()["status"] == "error"
    assert anonymous.json()["data"]["code"] == 401, anonymous.text
    nameless = post(url, "/apps/getpublickey", {"owner": user.zelid}, user)
    assert nameless["status"] == "error" and "name" in nameless["data"]["message"], nameless
    answer = post(url, "/apps/getpublickey", {"owner": user.zelid, "name": "myapp"}, user)
    assert answer["status"] == "error" and "Arcane OS" in answer["data"]["message"], answer


def test_rescans_from_an_earlier_height_give_the_same_registry(
    net: ClusterHarness, wallet: SyncRpc
) -> None:
    owner = Owner()
    hash_ = registered(net, owner, "rescannedapp")
    pay_for_message(wallet, hash_, "5")
    wallet.call("generate", 1)
    paid = everywhere(net, f"/apps/permanentmessages/{hash_}")[0][0]
    wallet.call("generate", 2)
    index = 1
    before = (
        fresh(net, index, "/apps/permanentmessages"),
        fresh(net, index, "/apps/globalappsspecifications"),
    )
    earlier = paid["height"] - 1

    # the registry's own rescan, removing the global specs from there
    path = f"/apps/rescanglobalappsinformation/{earlier}/true"
    answer = net.get(index, path, headers=net.admin(index))
    assert answer["status"] == "success", answer
    after = (
        fresh(net, index, "/apps/permanentmessages"),
        fresh(net, index, "/apps/globalappsspecifications"),
    )
    assert after == before

    # the explorer's rescan with the apps: payments found again, messages asked of peers
    forgotten = "permanent app messages above it forgotten"
    count = net.log_count(index, forgotten)
    answer = net.get(index, f"/explorer/rescan/{earlier}/true", headers=net.admin(index))
    assert answer["status"] == "success", answer
    wait_until(lambda: net.log_count(index, forgotten) > count, timeout=WAIT, interval=0.5)

    def same_again() -> bool:
        return (
            fresh(net, index, "/apps/permanentmessages"),
            fresh(net, index, "/apps/globalappsspecifications"),
        ) == before

    wait_until(same_again, timeout=WAIT, interval=1)


def test_placement_before_payment_counts_the_listed_nodes_that_fit(
    net: ClusterHarness, wallet: SyncRpc
) -> None:
    listed = wallet.call("viewdeterministicfluxnodelist")
    owner = Owner()
    url = net.node(1).url
    small = spec_of(owner, "placedapp", instances=3)
    answer = httpx.post(url + "/apps/placementfeasibility", json=small, timeout=60).json()
    assert answer["status"] == "success", answer
    fit = answer["data"]
    assert fit["eligible"] == len(listed) and fit["instances"] == 3 and fit["feasible"] is True
    assert sum(fit["eligibleByTier"].values()) == len(listed) and fit["unchecked"] == []
    many = spec_of(owner, "placedapp", instances=len(listed) + 1)
    wrapped = {"appSpecification": many}
    answer = httpx.post(url + "/apps/placementfeasibility", json=wrapped, timeout=60).json()
    assert answer["data"]["feasible"] is False and answer["data"]["eligible"] == len(listed)
    nameless = {key: value for key, value in small.items() if key != "name"}
    answer = httpx.post(url + "/apps/placementfeasibility", json=nameless, timeout=60).json()
    assert answer["status"] == "error" and "name" in answer["data"]["message"], answer

    # a registered, paid app: every listed node could take it, none runs it here
    hash_ = registered(net, owner, "placedapp")
    paid_until_global(net, wallet, hash_)
    where = fresh(net, 2, "/apps/placementlocations/placedapp")
    assert where["name"] == "placedapp" and where["running"] == []
    assert sorted(n["ip"] for n in where["candidates"]) == sorted(n["ip"] for n in listed)
    unknown = net.get(2, "/apps/placementlocations/nosuchapp")
    assert unknown["status"] == "error" and "nosuchapp" in unknown["data"]["message"]
