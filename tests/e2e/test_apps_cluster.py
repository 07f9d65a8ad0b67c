"""Apps across the network end to end: `fluxos cluster` node processes on 127.0.0.2…, a
real devnet, and per node a Docker engine of its own (tests.support.nodedocker: own
dockerd in its own network namespace), images from one real registry.

An owner registers an app for 3 instances with a real signature and pays for it on the
devnet chain; the four nodes' spawners put it on exactly three of them, whose published
port answers on each node's address. A container killed from outside is brought back by
that node's reconciler; the owner stops and restarts it on every node at once
(`global=true` on one node), and updates its spec, which every node running it redeploys.
When the operator of one node removes its copy, the network is
back to three copies (the spawners fill the gap). When a node running an app dies, the
spare node takes its place once its location expires; when that machine comes back from
the power loss, its boot rules remove the stale copy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import httpx
import pytest

from tests.support.appscluster import (
    WAIT,
    AppsCluster,
    Owner,
    answers,
    fresh,
    hosts_running,
    register_and_pay,
    running_apps_cluster,
)
from tests.support.cluster import wait_until
from tests.support.runtimeapps import free_app_port
from tests.unit.apps.spec_samples import component, v8_spec

pytestmark = pytest.mark.slow
NODES, INSTANCES = 4, 3


@pytest.fixture(scope="module")
def apps_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppsCluster]:
    with running_apps_cluster(tmp_path_factory.mktemp("apps-cluster"), nodes=NODES) as cluster:
        yield cluster


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


@dataclass
class Placed:
    owner: Owner
    port: int
    spec: dict[str, Any]
    container: str
    hosts: list[int]
    paid: str  # the registration's hash


def placed(apps_cluster: AppsCluster, name: str, at_least: int = INSTANCES, **env: str) -> Placed:
    """A web app of INSTANCES registered and paid for by a new owner, once `at_least`
    nodes run it (and with INSTANCES, exactly that many)."""
    owner, port = Owner(), free_app_port()
    web = component(
        name="web", repotag=apps_cluster.image, ports=[port], containerPorts=[80],
        domains=[""], cpu=0.1, ram=100, hdd=1,
        environmentParameters=[f"{key}={value}" for key, value in env.items()],
    )  # fmt: skip
    spec = v8_spec(name=name, owner=owner.zelid, instances=INSTANCES, compose=[web])
    paid = register_and_pay(apps_cluster, owner, spec)
    container = f"fluxweb_{name}"
    hosts = wait_until(
        lambda: (
            (found := hosts_running(apps_cluster, container)) and len(found) >= at_least and found
        ),
        timeout=WAIT,
        interval=1,
    )
    if at_least == INSTANCES:
        assert len(hosts) == INSTANCES, hosts
    return Placed(owner, port, spec, container, hosts, paid)


def engine_of(apps_cluster: AppsCluster, index: int) -> docker.DockerClient:
    return docker.DockerClient(base_url=apps_cluster.engines[index - 1].url, version="1.41")


def on_engines(apps_cluster: AppsCluster, hosts: list[int], container: str) -> list[Any]:
    """`container`'s Docker attributes on each host's own engine."""
    found = []
    for index in hosts:
        engine = engine_of(apps_cluster, index)
        try:
            found.append(engine.containers.get(container).attrs)
        finally:
            engine.close()
    return found


def restarted(engine: docker.DockerClient, container: str, before: str) -> bool:
    state = engine.containers.get(container).attrs["State"]
    return bool(state["Running"]) and state["StartedAt"] != before


def test_a_global_app_runs_on_its_instances_and_keeps_running(apps_cluster: AppsCluster) -> None:
    net = apps_cluster.net
    app = placed(apps_cluster, "threeweb", FLAVOUR="first")
    hosts, port, container, paid = app.hosts, app.port, app.container, app.paid
    for index in hosts:
        address = apps_cluster.engines[index - 1].address
        wait_until(lambda address=address: answers(address, port), timeout=60)
        installed = fresh(net, index, "/apps/installedapps/threeweb", **net.admin(index))
        assert installed[0]["hash"] == paid
        assert installed[0]["owner"] == app.owner.zelid
    # every node learns the three locations, and the fourth node's spawner leaves it alone
    for node in net.nodes:
        wait_until(
            lambda node=node: len(fresh(net, node.index, "/apps/location/threeweb")) == INSTANCES,
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

    # global control: the owner stops the app on one node with global=true, and every node
    # running it stops its copy on its own engine; a global restart brings them all back
    first_url = net.node(first).url
    owner_auth = app.owner.headers(first_url)
    stop = httpx.get(f"{first_url}/apps/appstop/threeweb/true", headers=owner_auth, timeout=60)
    assert stop.json()["status"] == "success", stop.text
    wait_until(
        lambda: not any(a["State"]["Running"] for a in on_engines(apps_cluster, hosts, container)),
        timeout=WAIT,
        interval=1,
    )
    again = httpx.get(f"{first_url}/apps/apprestart/threeweb/true", headers=owner_auth, timeout=60)
    assert again.json()["status"] == "success", again.text
    wait_until(
        lambda: all(a["State"]["Running"] for a in on_engines(apps_cluster, hosts, container)),
        timeout=WAIT,
        interval=1,
    )

    # the owner updates the spec (a new environment value) and pays: every node running
    # it redeploys, and the new value is in each running container
    web = {**app.spec["compose"][0], "environmentParameters": ["FLAVOUR=second"]}
    updated = {**app.spec, "compose": [web]}
    new_hash = register_and_pay(apps_cluster, app.owner, updated, update=True)
    assert new_hash != paid

    def redeployed() -> bool:
        attrs = on_engines(apps_cluster, hosts, container)
        return all(a["State"]["Running"] and "FLAVOUR=second" in a["Config"]["Env"] for a in attrs)

    wait_until(redeployed, timeout=WAIT, interval=1)
    for index in hosts:
        installed = fresh(net, index, "/apps/installedapps/threeweb", **net.admin(index))
        assert installed[0]["hash"] == new_hash
        address = apps_cluster.engines[index - 1].address
        wait_until(lambda address=address: answers(address, port), timeout=60)

    # the operator of one node removes its copy: the spawners bring the count back to three
    removed = httpx.get(
        f"{net.node(first).url}/apps/appremove/threeweb", headers=net.admin(first), timeout=120
    )
    assert "was successfuly removed" in removed.text, removed.text
    wait_until(
        lambda: len(hosts_running(apps_cluster, container)) == INSTANCES, timeout=WAIT, interval=1
    )
    assert len(hosts_running(apps_cluster, container)) == INSTANCES


def test_an_operator_stop_outlasts_a_node_restart(apps_cluster: AppsCluster) -> None:
    net = apps_cluster.net
    hosts = placed(apps_cluster, "heldweb", at_least=1).hosts
    index = hosts[0]
    node = net.node(index)
    stopped = net.get(index, "/apps/appstop/heldweb", headers=net.admin(index))
    assert stopped["data"]["message"] == "Application heldweb stopped", stopped

    # the node stops in order and starts again within the grace: its apps stay, and the
    # reconciler leaves the operator's stop in place
    net.cluster.stop_node(node)
    net.cluster.start_node(node)

    def settled_and_still_stopped() -> bool:
        answer = net.get(index, "/apps/appstop/web_heldweb", headers=net.admin(index))
        return answer["status"] == "success"  # 503 while the node settles

    wait_until(settled_and_still_stopped, timeout=WAIT, interval=1)
    again = net.get(index, "/apps/appstop/web_heldweb", headers=net.admin(index))
    assert again["data"]["message"] == "Flux App web_heldweb is already stopped.", again
    held = fresh(net, index, "/apps/heldcomponents", **net.admin(index))
    assert {"name": "web_heldweb", "desired": "stopped"} in held
    assert fresh(net, index, "/apps/installedapps/heldweb", **net.admin(index))
    boot = apps_cluster.loops(index)["apps boot"]
    assert boot["state"] in ("running", "waiting"), boot
    wait_until(net.is_mesh, timeout=WAIT, interval=1)  # back among its peers for the next test


def test_a_dead_nodes_copy_moves_to_another_node(apps_cluster: AppsCluster) -> None:
    net = apps_cluster.net
    app = placed(apps_cluster, "movingweb")
    hosts, port, container = app.hosts, app.port, app.container
    spare = next(n.index for n in net.nodes if n.index not in hosts)

    # one host's machine dies: its node is killed, its container goes with it
    dead, survivors = hosts[0], hosts[1:]
    net.cluster.kill_node(net.node(dead))
    engine = docker.DockerClient(base_url=apps_cluster.engines[dead - 1].url, version="1.41")
    try:
        engine.containers.get(container).kill()
    finally:
        engine.close()
    # once its location expires (nobody renews it), the spare node's spawner takes its place
    try:
        wait_until(
            lambda: sorted(hosts_running(apps_cluster, container)) == sorted([*survivors, spare]),
            timeout=2 * WAIT,
            interval=1,
        )
    except AssertionError as error:  # say what the spare's spawner was doing
        spawner = apps_cluster.loops(spare)["apps spawner"]
        raise AssertionError(f"{error}; spare node {spare}'s spawner: {spawner}") from error
    address = apps_cluster.engines[spare - 1].address
    wait_until(lambda: answers(address, port), timeout=60)
    wait_until(
        lambda: (
            {loc["ip"].split(":")[0] for loc in fresh(net, spare, "/apps/location/movingweb")}
            == {net.node(i).host for i in [*survivors, spare]}
        ),
        timeout=WAIT,
        interval=1,
    )

    # the machine comes back after a power loss (no clean stop recorded) longer than a
    # location's lifetime: the boot rules remove its copy before the reconciler starts it
    net.cluster.start_node(net.node(dead))
    wait_until(lambda: "locations expired" in net.log(dead), timeout=WAIT, interval=1)
    assert "first boot False, clean stop False" in net.log(dead)
    wait_until(
        lambda: fresh(net, dead, "/apps/installedapps/movingweb", **net.admin(dead)) == [],
        timeout=WAIT,
        interval=1,
    )
    assert container not in [
        name.lstrip("/") for c in fresh(net, dead, "/apps/listallapps") for name in c["Names"]
    ]
    assert sorted(hosts_running(apps_cluster, container)) == sorted([*survivors, spare])
