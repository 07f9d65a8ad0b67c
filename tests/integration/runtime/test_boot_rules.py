"""What a node's apps do when it starts again (runtime.bootrules), on an in-process node
served over HTTP with a real devnet and dockerd: after a short clean stop they come back;
after a clean stop longer than the SIGTERM grace (the network has moved them) they are
removed before the reconciler starts anything. And as real `fluxos start` processes: after
a power loss (SIGKILL, no clean stop recorded, its containers gone with it) shorter than a
location's lifetime, the apps stay and the reconciler starts them again."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.clock import ManualClock, SystemClock
from fluxos.config import load_settings
from fluxos.node import Node
from fluxos.runtime.bootrules import HEARTBEAT_KEY
from fluxos.runtime.engine import DockerEngine
from tests.integration.runtime.conftest import Images
from tests.integration.runtime.test_install import answers
from tests.integration.runtime.test_runtime_api import SpecTable, log_in, objects
from tests.support.asyncwait import eventually
from tests.support.daemons import DevnetProcess
from tests.support.identity import Person
from tests.support.inprocess import serving
from tests.support.processes import NodeProcess, free_port
from tests.support.runtimeapps import web_app


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    process = DevnetProcess(tmp_path_factory.mktemp("boot-devnet")).start()
    try:
        yield process
    finally:
        process.stop()


async def test_apps_come_back_or_go_by_the_downtime(
    tmp_path: Path, devnet: DevnetProcess, docker_url: str, images: Images
) -> None:
    admin, port = Person(), free_port()
    settings = load_settings(
        tmp_path,
        {
            "zelid": admin.zelid,
            "fluxd_conf": str(devnet.conf_path),
            "development": True,
            "runtime": {"docker_host": docker_url, "reconcile_seconds": 3600},
        },
        environ={},
    )
    clock = ManualClock(start=1_750_000_000.0)
    specs = SpecTable()
    specs.specs["stays"] = web_app("stays", images.httpd, port)

    def node() -> Node:
        return Node(settings, clock=clock, run_apps=True, install_specs=specs)

    async def settled(running: Node) -> Any:
        await eventually(lambda: running.reconciler.passes > 0, within=60)
        return running.boot_keeper.context

    first = node()
    async with serving(first) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        context = await settled(first)
        assert context is not None and context.first_boot
        credentials = await log_in(http, clock, admin)
        headers = {"zelidauth": credentials.header_qs()}
        streamed = objects((await http.get("/apps/installapplocally/stays", headers=headers)).text)
        assert streamed[-1]["status"] == "success", streamed
    assert (await first_heartbeat(first))["shutdownReason"] == "sigterm"

    # stopped in order a minute ago: the apps stay, the reconciler runs them again
    clock.advance(60)
    again = node()
    async with serving(again):
        context = await settled(again)
        assert context is not None and context.clean and not context.first_boot
        assert context.downtime == pytest.approx(60, abs=2)
        assert [spec["name"] for spec in await again.local_apps.all()] == ["stays"]
        assert again.boot_keeper.removed == 0
        await eventually(lambda: answers(port), within=30)

    # stopped in order eight minutes ago: its peers expired its locations after the
    # 7-minute grace and took its apps; they are removed before anything starts them
    clock.advance(8 * 60)
    late = node()
    async with serving(late):
        context = await settled(late)
        assert context is not None and context.clean and context.downtime > 420
        assert late.boot_keeper.removed == 1
        assert await late.local_apps.all() == []
        assert not await late.docker.exists("fluxweb_stays")


async def first_heartbeat(node: Node) -> dict[str, Any]:
    """The heartbeat the stopped node left (read from its database file again)."""
    await node.database.open()
    try:
        beat = await node.state.get(HEARTBEAT_KEY)
    finally:
        await node.database.close()
    assert isinstance(beat, dict)
    return beat


def boot_decided(node: NodeProcess) -> bool:
    loops = node.get("/flux/loops").json()["data"]
    return any(loop["name"] == "apps reconciler" and loop["state"] != "waiting" for loop in loops)


async def test_apps_outlive_a_short_power_loss(
    tmp_path: Path, devnet: DevnetProcess, docker_url: str, images: Images
) -> None:
    admin, port = Person(), free_port()
    runtime = {"docker_host": docker_url, "reconcile_seconds": 1}
    (tmp_path / "fluxos.toml").write_text(
        f'zelid = "{admin.zelid}"\nfluxd_conf = "{devnet.conf_path}"\ndevelopment = true\n'
    )
    settings = load_settings(tmp_path, {"runtime": runtime}, environ={})
    specs = SpecTable()
    specs.specs["outlives"] = web_app("outlives", images.httpd, port)
    # set-up: the app installed on this data dir (a node process has no spec source but
    # the global registry), then the node stops in order
    first = Node(settings, clock=SystemClock(), run_apps=True, install_specs=specs)
    async with serving(first) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        await eventually(lambda: first.reconciler.passes > 0, within=60)
        headers = await admin_headers(http, admin)
        streamed = objects(
            (await http.get("/apps/installapplocally/outlives", headers=headers)).text
        )
        assert streamed[-1]["status"] == "success", streamed

    node = NodeProcess(tmp_path, env={"FLUXOS_RUNTIME": json.dumps(runtime)})
    engine = DockerEngine(docker_url)
    try:
        node.start()
        # a clean stop leaves the containers running: the app answers all along
        await eventually(lambda: "first boot False, clean stop True" in node.output(), within=60)
        await eventually(lambda: answers(port), within=60)
        # the boot decision is written (this run's heartbeat) once the reconciler may start:
        # a kill before that would leave the clean stop on record
        await eventually(lambda: boot_decided(node), within=60)

        # the machine loses power: the node is killed (no clean stop recorded) and its
        # containers die with it
        assert node.stop(signal.SIGKILL) == -signal.SIGKILL
        await engine.kill("fluxweb_outlives")
        assert not (await engine.inspect("fluxweb_outlives"))["State"]["Running"]
        # back within a location's lifetime (125 min): the network still counts this
        # node's copy, so the boot rules keep it and the reconciler starts it again
        node.start()
        await eventually(lambda: "first boot False, clean stop False" in node.output(), within=60)
        await eventually(lambda: answers(port), within=60)
        assert "locations expired" not in node.output()
        installed = node.get("/apps/installedapps/outlives").json()
        assert [spec["name"] for spec in installed["data"]] == ["outlives"], installed
    finally:
        try:
            if node.process is not None and node.process.poll() is None:
                # the operator removes it (container, network, volume) through the process
                async with httpx.AsyncClient(base_url=node.url, timeout=120) as http:
                    headers = await admin_headers(http, admin)
                    await http.get("/apps/appremove/outlives/true", headers=headers)
        finally:
            node.stop()
        left = await engine.exists("fluxweb_outlives")
        engine.close()
    assert not left


async def admin_headers(http: httpx.AsyncClient, admin: Person) -> dict[str, str]:
    phrase = (await http.get("/id/loginphrase")).json()
    assert phrase["status"] == "success", phrase
    reply = await http.post("/id/verifylogin", json=admin.login_body(phrase["data"]))
    assert reply.json()["status"] == "success", reply.text
    return {"zelidauth": admin.credentials(phrase["data"]).header_qs()}


async def test_control_answers_503_until_the_boot_settles(
    tmp_path: Path, devnet: DevnetProcess, docker_url: str
) -> None:
    if not docker_url.startswith("unix://"):
        pytest.skip("the late engine is a symlink to a unix socket")
    admin, late = Person(), tmp_path / "late.sock"
    settings = load_settings(
        tmp_path,
        {
            "zelid": admin.zelid,
            "fluxd_conf": str(devnet.conf_path),
            "development": True,
            "runtime": {"docker_host": f"unix://{late}", "settle_seconds": 45},
        },
        environ={},
    )
    clock = ManualClock(start=1_750_000_000.0)
    node = Node(settings, clock=clock, run_apps=True, install_specs=SpecTable())
    async with serving(node) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        away = await http.get("/apps/listrunningapps")
        assert away.status_code == 503 and "Docker is not available" in away.text
        # Docker answers before the node's watch has seen it: the boot rules have not
        # decided and the reconciler has not been over the apps, so control waits
        late.symlink_to(docker_url.removeprefix("unix://"))
        credentials = await log_in(http, clock, admin)
        headers = {"zelidauth": credentials.header_qs()}
        settling = await http.get("/apps/appstop/anyapp", headers=headers)
        assert settling.status_code == 503, settling.text
        # what is left of the 45 s settling window (logging in took a second)
        assert settling.headers["retry-after"] == "44"
        assert settling.json()["data"]["message"].startswith("FluxOS is starting")
        # the inventory answers meanwhile
        assert (await http.get("/apps/listrunningapps")).json() == {"status": "success", "data": []}
        clock.advance(10)  # the watch looks again: boot decided, one reconciler pass
        await eventually(lambda: node.reconciler.passes > 0, within=30)
        settled = (await http.get("/apps/appstop/anyapp", headers=headers)).json()
        assert settled["status"] == "error", settled
        assert settled["data"]["message"] == "Flux App anyapp is not installed on this node"
