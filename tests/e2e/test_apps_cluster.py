"""Apps across the network end to end: `fluxos cluster` node processes on 127.0.0.2…, a
real devnet, and per node a Docker engine of its own (tests.support.nodedocker: own
dockerd in its own network namespace), images from one real registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.cluster import ClusterHarness, wait_until
from tests.support.dockerd import INDEX_TEXT, httpd_image
from tests.support.nodedocker import NodeDocker, node_dockers
from tests.support.registry import ImagePusher, require_tools, running_registry

pytestmark = pytest.mark.slow

NODES = 3
RUNTIME = {  # a devnet cluster converges in seconds
    "spawn_time_scale": 0.01,
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
            with ClusterHarness(
                work / "cluster", NODES, docker_hosts=hosts, runtime=RUNTIME
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
