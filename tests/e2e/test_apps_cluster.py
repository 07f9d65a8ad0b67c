"""Apps across the network end to end: `fluxos cluster` node processes on 127.0.0.2…, a
real devnet, and per node a Docker engine of its own (tests.support.nodedocker: own
dockerd in its own network namespace), images from one real registry.

An owner registers an app for 2 instances with a real signature and pays for it on the
devnet chain; the three nodes' spawners put it on exactly two of them, whose published
port answers on each node's address. A container killed from outside is brought back by
that node's reconciler; when the operator of one node removes its copy, the network is
back to two copies (the spawners fill the gap)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
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
from tests.support.dockerd import INDEX_TEXT, httpd_image
from tests.support.nodedocker import NodeDocker, node_dockers
from tests.support.processes import free_port
from tests.support.registry import ImagePusher, require_tools, running_registry
from tests.unit.apps.spec_samples import component, v8_spec

pytestmark = pytest.mark.slow

NODES = 3
WAIT = 180.0
RUNTIME = {  # a devnet cluster converges in seconds (collision wait 0.18 s, tried 86 s)
    "spawn_time_scale": 0.002,
    "reconcile_seconds": 1.0,
    "settle_seconds": 5.0,
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


@pytest.fixture(scope="module")
def apps_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppsCluster]:
    require_tools()
    work = tmp_path_factory.mktemp("apps-cluster")
    with running_registry(work / "registry") as registry:
        pusher = ImagePusher(registry.url)
        try:
            httpd_image(pusher, "flux/httpd", "1.0")
        finally:
            pusher.close()
        with node_dockers(work / "engines", NODES, (registry.port,)) as engines:
            hosts = [engine.url for engine in engines]
            targets = PeerTargets(min_outgoing=1, min_incoming=1)
            with ClusterHarness(
                work / "cluster", NODES, targets=targets, docker_hosts=hosts, runtime=RUNTIME
            ) as net:
                wait_until(net.is_mesh, timeout=60, interval=0.5)
                yield AppsCluster(net, engines, f"{registry.host}/flux/httpd:1.0")


def answers(address: str, port: int) -> bool:
    try:
        return httpx.get(f"http://{address}:{port}/", timeout=2).text.strip() == INDEX_TEXT
    except httpx.HTTPError:
        return False


def test_every_node_runs_apps_on_its_own_engine(apps_cluster: AppsCluster) -> None:
    net = apps_cluster.net
    for node in net.nodes:
        wait_until(
            lambda node=node: apps_cluster.loops(node.index)["dockerd watch"]["state"] == "running",
            timeout=30,
        )
        running = net.get(node.index, "/apps/listrunningapps", headers=net.admin(node.index))
        assert running == {"status": "success", "data": []}, running
        # the spawner waits for Docker and the global registry, never finishes on its own
        spawner = apps_cluster.loops(node.index)["apps spawner"]
        assert spawner["state"] in ("waiting", "running"), spawner
        assert spawner["after"] == ["registry ready", "dockerd reachable"]


class Owner:
    """An app owner: a ZelID key, a session per node, signed registration messages."""

    def __init__(self) -> None:
        self.key = PrivateKey.generate()
        self.zelid = bitcoin_address(self.key.public_key)

    def headers(self, url: str) -> dict[str, str]:
        signer = Signer(self.zelid, lambda text: sign_message(text, self.key))
        return {"zelidauth": login(url, signer).header_json()}

    def message(self, spec: dict[str, Any]) -> dict[str, Any]:
        timestamp = int(time.time() * 1000)
        formatted = format_spec(spec, DEVELOPMENT)
        signature = sign_spec(formatted, self.key, message_type="fluxappregister",
                              timestamp=timestamp)  # fmt: skip
        return {
            "type": "fluxappregister",
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
        running = fresh(net, node.index, "/apps/listrunningapps")
        if any(f"/{container}" in c["Names"] for c in running):
            found.append(node.index)
    return found


def restarted(engine: docker.DockerClient, container: str, before: str) -> bool:
    state = engine.containers.get(container).attrs["State"]
    return bool(state["Running"]) and state["StartedAt"] != before


def register_and_pay(cluster: AppsCluster, owner: Owner, spec: dict[str, Any]) -> str:
    net = cluster.net
    index = next(
        n.index
        for n in net.nodes
        if fresh(net, n.index, "/flux/connectedpeers")
        and fresh(net, n.index, "/flux/incomingconnections")
    )
    url = net.node(index).url
    body = owner.message(spec)
    reply = httpx.post(
        url + "/apps/appregister", json=body, headers=owner.headers(url), timeout=60
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


def test_a_global_app_runs_on_its_instances_and_keeps_running(apps_cluster: AppsCluster) -> None:
    net, owner, port = apps_cluster.net, Owner(), free_port()
    web = component(
        name="web",
        repotag=apps_cluster.image,
        ports=[port],
        containerPorts=[80],
        domains=[""],
        cpu=0.1,
        ram=100,
        hdd=1,
    )
    spec = v8_spec(name="twoweb", owner=owner.zelid, instances=2, compose=[web])
    paid = register_and_pay(apps_cluster, owner, spec)
    container = "fluxweb_twoweb"

    # exactly two of the three nodes take it, and it answers on both
    hosts = wait_until(
        lambda: (found := hosts_running(apps_cluster, container)) and len(found) >= 2 and found,
        timeout=WAIT,
        interval=1,
    )
    assert len(hosts) == 2, hosts
    for index in hosts:
        address = apps_cluster.engines[index - 1].address
        wait_until(lambda address=address: answers(address, port), timeout=60)
        installed = fresh(net, index, "/apps/installedapps/twoweb", **net.admin(index))
        assert installed[0]["hash"] == paid
    # every node learns both locations, and the third node's spawner leaves it alone
    for node in net.nodes:
        wait_until(
            lambda node=node: len(fresh(net, node.index, "/apps/location/twoweb")) == 2,
            timeout=WAIT,
            interval=0.5,
        )
    idle = next(n.index for n in net.nodes if n.index not in hosts)
    passes = lambda: apps_cluster.loops(idle)["apps spawner"]["detail"]  # noqa: E731
    wait_until(lambda: "no app is missing instances" in str(passes()), timeout=WAIT)
    assert sorted(hosts_running(apps_cluster, container)) == sorted(hosts)

    # killed from outside on one node: its reconciler starts it again
    first = hosts[0]
    engine = docker.DockerClient(base_url=apps_cluster.engines[first - 1].url, version="1.41")
    try:
        before = engine.containers.get(container).attrs["State"]["StartedAt"]
        engine.containers.get(container).kill()
        # the crash ladder's first step is immediate: the container may be up again before
        # we look, so a new start time is the proof that it went down and came back
        wait_until(lambda: restarted(engine, container, before), timeout=60)
    finally:
        engine.close()
    address = apps_cluster.engines[first - 1].address
    wait_until(lambda: answers(address, port), timeout=60)

    # the operator of one node removes its copy: the spawners bring the count back to two
    removed = httpx.get(
        f"{net.node(first).url}/apps/appremove/twoweb", headers=net.admin(first), timeout=120
    )
    assert "was successfuly removed" in removed.text, removed.text
    wait_until(lambda: len(hosts_running(apps_cluster, container)) == 2, timeout=WAIT, interval=1)
    assert len(hosts_running(apps_cluster, container)) == 2
