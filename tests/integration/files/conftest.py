"""One embedded-devnet node for the FluxShare tests, with its owner logged in; an
in-process node with two apps' volumes made by the runtime for the volume browser,
upload and backup tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.clock import ManualClock
from fluxos.config import load_settings
from fluxos.identity import Credentials
from fluxos.node import Node
from fluxos.runtime.components import container_name, plan_mounts
from fluxos.runtime.volumes import Volumes
from tests.integration.system.conftest import start_system_node
from tests.support.daemons import Admin
from tests.support.dockerd import docker_host
from tests.support.identity import Person
from tests.support.inprocess import serving
from tests.support.processes import NodeProcess


@dataclass
class ShareNode:
    node: NodeProcess
    admin: Admin
    headers: dict[str, str]
    tmp: Path

    @property
    def share(self) -> Path:
        return self.node.data_dir / "apps" / "ZelShare"

    def admin_get(self, path: str, **kwargs: Any) -> Any:
        return self.node.get(path, headers=self.headers, **kwargs).json()

    def data(self, path: str) -> Any:
        reply = self.admin_get(path)
        assert reply["status"] == "success", (path, reply)
        return reply["data"]


@pytest.fixture(scope="module")
def share_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShareNode]:
    tmp = tmp_path_factory.mktemp("fluxshare")
    node, admin = start_system_node(tmp)
    try:
        yield ShareNode(node, admin, admin.login(node.url), tmp)
    finally:
        node.stop()


# -- app volumes made by the apps runtime, on an in-process node --------------------------
def app_spec(name: str, owner: str, components: tuple[str, ...] = ("web",)) -> dict[str, Any]:
    """A v8 app as the runtime stores it once installed (no image is pulled for it)."""
    return {
        "version": 8,
        "name": name,
        "description": "files test app",
        "owner": owner,
        "compose": [
            {
                "name": component,
                "description": component,
                "repotag": "fluxfiles/none:1",
                "ports": [],
                "containerPorts": [],
                "environmentParameters": [],
                "commands": [],
                "containerData": "/data|m:conf:/etc/conf",
                "domains": [],
                "cpu": 0.1,
                "ram": 64,
                "hdd": 1,
            }
            for component in components
        ],
        "instances": 3,
        "contacts": [],
        "geolocation": [],
        "expire": 22000,
        "nodes": [],
        "staticip": False,
        "enterprise": "",
        "datacenter": False,
    }


@dataclass
class VolumeNode:
    """A node whose apps `alpha` (owner alice) and `beta` (owner bob) are installed with
    volumes made by the runtime's own code (ext4 images, loop-mounted)."""

    node: Node
    clock: ManualClock
    http: httpx.AsyncClient
    admin: dict[str, str]
    alice: dict[str, str]
    bob: dict[str, str]
    team: dict[str, str]  # the Flux team's identity
    mine: Path  # alpha's component web
    theirs: Path  # beta's component web
    tmp: Path


async def login(http: httpx.AsyncClient, clock: ManualClock, person: Person) -> dict[str, str]:
    phrase = (await http.get("/id/loginphrase")).json()["data"]
    clock.advance(1)
    reply = (await http.post("/id/verifylogin", json=person.login_body(phrase))).json()
    assert reply["status"] == "success", reply
    return {"zelidauth": Credentials(person.zelid, person.sign(phrase), phrase).header_json()}


async def install_volumes(node: Node, spec: dict[str, Any]) -> list[str]:
    """What the installer does for an app's data: its local record, then per component the
    runtime's volume (containers are not the files area's concern)."""
    await node.local_apps.add(str(spec["name"]), spec, node.clock.time())
    made = []
    for index, component in enumerate(spec["compose"]):
        container = container_name(spec, component)
        await node.app_volumes.create(container, 0.05, plan_mounts(spec, index))
        made.append(container)
    return made


@pytest.fixture(scope="session")
def docker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with docker_host(tmp_path_factory.mktemp("dockerd")) as url:
        yield url


@pytest.fixture
def files_settings() -> dict[str, Any]:
    """The node's [files] settings (a test module may override this fixture)."""
    return {"remote_allow_networks": ["127.0.0.0/8"]}


@pytest.fixture
async def volume_node(
    tmp_path: Path, docker_url: str, files_settings: dict[str, Any]
) -> AsyncIterator[VolumeNode]:
    if not Volumes.can_mount():
        pytest.skip("app volumes are loop-mounted ext4 images: root and e2fsprogs needed")
    alice, bob, owner, team = Person(), Person(), Person(), Person()
    settings = load_settings(
        tmp_path / "node",
        {
            "zelid": owner.zelid,
            "flux_team_zelid": team.zelid,
            "daemon": {"embedded": False},
            "runtime": {"docker_host": docker_url, "reconcile_seconds": 3600},
            "files": files_settings,
        },
        environ={},
    )
    clock = ManualClock(start=1_750_000_000.0)
    node = Node(settings, clock=clock, run_apps=True)
    containers: list[str] = []
    try:
        async with serving(node) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            containers += await install_volumes(node, app_spec("alpha", alice.zelid))
            containers += await install_volumes(node, app_spec("beta", bob.zelid))
            mine = node.app_volumes.directory("fluxweb_alpha")
            theirs = node.app_volumes.directory("fluxweb_beta")
            yield VolumeNode(
                node,
                clock,
                http,
                await login(http, clock, owner),
                await login(http, clock, alice),
                await login(http, clock, bob),
                await login(http, clock, team),
                mine,
                theirs,
                tmp_path,
            )
    finally:
        for container in containers:
            await node.app_volumes.remove(container)
