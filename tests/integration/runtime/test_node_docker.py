"""Two nodes' own Docker engines side by side (tests.support.nodedocker): the same app,
with the same subnet and host port, installed on both from the one test registry, answers
on each node's address; a container killed on one node is that node's business only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fluxos.clock import ManualClock
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.installer import Installer
from fluxos.runtime.reconciler import Reconciler
from fluxos.runtime.volumes import Volumes
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.localapps import LocalApps
from tests.integration.runtime.conftest import Images
from tests.support.asyncwait import eventually
from tests.support.dockerd import INDEX_TEXT
from tests.support.nodedocker import NodeDocker, node_dockers
from tests.support.processes import free_port
from tests.support.runtimeapps import HostFacts, web_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, images: Images) -> Iterator[list[NodeDocker]]:
    registry_port = int(images.httpd.split("/", 1)[0].rsplit(":", 1)[1])
    with node_dockers(tmp_path_factory.mktemp("node-dockers"), 2, (registry_port,)) as made:
        yield made


@dataclass
class NodeSide:
    docker: NodeDocker
    engine: DockerEngine
    apps: LocalApps
    installer: Installer
    reconciler: Reconciler


@pytest.fixture
async def sides(engines: list[NodeDocker], tmp_path: Path) -> AsyncIterator[list[NodeSide]]:
    made: list[NodeSide] = []
    databases: list[Database] = []
    clock = ManualClock()
    for index, docker in enumerate(engines):
        home = tmp_path / f"node{index}"
        database = Database(f"sqlite+aiosqlite:///{tmp_path / f'node{index}.db'}", ALL_AREAS)
        await database.open()
        databases.append(database)
        engine = DockerEngine(docker.url)
        apps = LocalApps(database)
        volumes = Volumes(home / "apps", home / "volumes")
        reconciler = Reconciler(engine, apps, clock, volumes=volumes)
        installer = Installer(engine, apps, volumes, HostFacts(tmp_path), clock)
        made.append(NodeSide(docker, engine, apps, installer, reconciler))
    try:
        yield made
    finally:
        for side in made:
            for spec in await side.apps.all():
                await side.installer.remove(spec["name"], force=True)
            side.engine.close()
        for database in databases:
            await database.close()


async def answers(address: str, port: int) -> bool:
    async with httpx.AsyncClient() as http:
        try:
            reply = await http.get(f"http://{address}:{port}/", timeout=2)
        except httpx.HTTPError:
            return False
    return reply.text.strip() == INDEX_TEXT


async def test_same_app_on_two_engines(sides: list[NodeSide], images: Images) -> None:
    port = free_port()
    spec = web_app("twice", images.httpd, port)
    for side in sides:
        await side.installer.install(spec)
    for side in sides:
        await eventually(lambda side=side: answers(side.docker.address, port), within=60)
        network = next(
            n for n in await side.engine.list_networks() if n.name == "fluxDockerNetwork_twice"
        )
        assert network.subnets == ["172.23.1.0/24"]  # the same subnet on both: no clash
    # each engine lists only its own node's container
    for side in sides:
        names = [c["Names"] for c in await side.engine.list_containers(all=True)]
        assert names == [["/fluxweb_twice"]]

    # killed on the first node: that node's reconciler brings it back; the other is untouched
    first, second = sides
    second_started = (await second.engine.inspect("fluxweb_twice"))["State"]["StartedAt"]
    await first.engine.kill("fluxweb_twice")
    assert not await answers(first.docker.address, port)
    assert (await first.reconciler.reconcile_once()).started == ["fluxweb_twice"]
    await eventually(lambda: answers(first.docker.address, port), within=60)
    assert (await second.reconciler.reconcile_once()).started == []
    assert (await second.engine.inspect("fluxweb_twice"))["State"]["StartedAt"] == second_started
