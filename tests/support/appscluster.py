"""Apps across a `fluxos cluster` (tests/e2e, bench/apps_runtime.py): the node
processes on a real devnet, each with its own dockerd in its own network namespace
(tests.support.nodedocker) and images from one real registry; an app owner who registers
with a real signature and pays on the devnet chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fluxos.apps.formatter import format_spec
from fluxos.apps.messages import message_hash, sign_spec
from fluxos.apps.params import DEVELOPMENT
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message
from fluxos.identity.client import Signer, login
from fluxos.network.cluster import PeerTargets
from tests.support.apppayments import pay_for_message
from tests.support.cluster import ClusterHarness, wait_until
from tests.support.devnetprocess import SyncRpc
from tests.support.dockerd import INDEX_TEXT, httpd_image
from tests.support.nodedocker import NodeDocker, node_dockers
from tests.support.registry import ImagePusher, require_tools, running_registry

NODES = 3
WAIT = 180.0
RUNTIME = {  # a devnet cluster converges in seconds (claim wait 2 s, tried cache 86 s)
    "spawn_time_scale": 0.002,
    "reconcile_seconds": 1.0,
    "settle_seconds": 5.0,
    # a dead node's locations are gone 45 s after its last fluxapprunning (every 10 s)
    "broadcast_seconds": 10.0,
    "location_seconds": 45.0,
}


@dataclass
class AppsCluster:
    net: ClusterHarness
    engines: list[NodeDocker]
    image: str

    def loops(self, index: int) -> dict[str, dict[str, object]]:
        answer = self.net.get(index, "/flux/loops")
        assert answer["status"] == "success", answer
        return {loop["name"]: loop for loop in answer["data"]}


@contextmanager
def running_apps_cluster(
    work: Path, nodes: int = NODES, runtime: dict[str, Any] | None = None
) -> Iterator[AppsCluster]:
    """A registry with the httpd image, `nodes` engines and a cluster on them."""
    require_tools()
    with running_registry(work / "registry") as registry:
        pusher = ImagePusher(registry.url)
        try:
            httpd_image(pusher, "flux/httpd", "1.0")
        finally:
            pusher.close()
        with node_dockers(work / "engines", nodes, (registry.port,)) as engines:
            hosts = [engine.url for engine in engines]
            targets = PeerTargets(min_outgoing=1, min_incoming=1)
            with ClusterHarness(
                work / "cluster",
                nodes,
                targets=targets,
                docker_hosts=hosts,
                runtime=runtime or RUNTIME,
            ) as net:
                wait_until(net.is_mesh, timeout=60, interval=0.5)
                cluster = AppsCluster(net, engines, f"{registry.host}/flux/httpd:1.0")
                try:
                    yield cluster
                finally:
                    remove_all(cluster)


def remove_all(cluster: AppsCluster) -> None:
    """Every node removes its apps over its API, so no loop volume outlives the cluster."""
    net = cluster.net
    for node in net.nodes:
        if not node.running:
            continue
        installed = fresh(net, node.index, "/apps/installedapps", **net.admin(node.index))
        for spec in installed:
            httpx.get(
                f"{node.url}/apps/appremove/{spec['name']}/true",
                headers=net.admin(node.index),
                timeout=120,
            )


def answers(address: str, port: int) -> bool:
    try:
        return httpx.get(f"http://{address}:{port}/", timeout=2).text.strip() == INDEX_TEXT
    except httpx.HTTPError:
        return False


class Owner:
    """An app owner: a ZelID key, a session per node, signed registration messages."""

    def __init__(self) -> None:
        self.key = PrivateKey.generate()
        self.zelid = bitcoin_address(self.key.public_key)

    def headers(self, url: str) -> dict[str, str]:
        signer = Signer(self.zelid, lambda text: sign_message(text, self.key))
        return {"zelidauth": login(url, signer).header_json()}

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


def fresh(net: ClusterHarness, index: int, path: str, **headers: str) -> Any:
    answer = net.get(index, path, params={"fresh": time.monotonic_ns()}, headers=headers)
    assert answer["status"] == "success", answer
    return answer["data"]


def hosts_running(cluster: AppsCluster, container: str) -> list[int]:
    """The nodes whose own engine runs `container` (asked over each node's API)."""
    net = cluster.net
    found = []
    for node in net.nodes:
        if not node.running:
            continue
        running = fresh(net, node.index, "/apps/listrunningapps")
        if any(f"/{container}" in c["Names"] for c in running):
            found.append(node.index)
    return found


def register_and_pay(
    cluster: AppsCluster, owner: Owner, spec: dict[str, Any], *, update: bool = False
) -> str:
    """The owner registers `spec` (or, with `update`, updates the registered app to it)
    and pays for the message on the devnet chain; the message's hash."""
    net = cluster.net
    index = next(
        n.index
        for n in net.nodes
        if fresh(net, n.index, "/flux/connectedpeers")
        and fresh(net, n.index, "/flux/incomingconnections")
    )
    url = net.node(index).url
    body = owner.message(spec, "fluxappupdate" if update else "fluxappregister")
    reply = httpx.post(
        url + ("/apps/appupdate" if update else "/apps/appregister"),
        json=body,
        headers=owner.headers(url),
        timeout=60,
    ).json()
    stored = format_spec(spec, DEVELOPMENT)
    expected = message_hash(body["type"], 1, stored, body["timestamp"], body["signature"])
    assert reply == {"status": "success", "data": expected}, reply
    wait_until(
        lambda: all(fresh(net, n.index, f"/apps/temporarymessages/{expected}") for n in net.nodes),
        timeout=WAIT,
        interval=0.5,
    )
    endpoint = net.fluxd(1).endpoint
    wallet = SyncRpc(endpoint.url, endpoint.user, endpoint.password)
    try:
        pay_for_message(wallet, expected, "5")
        wallet.call("generate", 1)
    finally:
        wallet.close()
    return expected
