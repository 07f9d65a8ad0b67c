"""Install, crash ladder, durable stop and removal against a real dockerd, real loop
volumes and a real registry: a component that serves HTTP on its published port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.clock import ManualClock
from fluxos.errors import NotFound
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.errors import InstallError, Settling
from fluxos.runtime.installer import Installer
from fluxos.runtime.reconciler import Reconciler
from fluxos.runtime.service import RuntimeService
from fluxos.runtime.volumes import Volumes, run_tool
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.localapps import STOPPED, LocalApps
from tests.integration.runtime.conftest import Images
from tests.support.asyncwait import eventually
from tests.support.dockerd import INDEX_TEXT
from tests.support.processes import free_port
from tests.support.runtimeapps import OWNER, HostFacts, web_app


@dataclass
class Runtime:
    engine: DockerEngine
    apps: LocalApps
    volumes: Volumes
    installer: Installer
    reconciler: Reconciler
    clock: ManualClock


@pytest.fixture
async def runtime(engine: DockerEngine, tmp_path: Path) -> AsyncIterator[Runtime]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}", ALL_AREAS)
    await database.open()
    clock = ManualClock()
    apps = LocalApps(database)
    volumes = Volumes(tmp_path / "apps", tmp_path / "volumes")
    reconciler = Reconciler(engine, apps, clock, volumes=volumes)
    installer = Installer(
        engine, apps, volumes, HostFacts(tmp_path), clock,
        on_operator_action=reconciler.operator_acted,
    )  # fmt: skip
    try:
        yield Runtime(engine, apps, volumes, installer, reconciler, clock)
    finally:
        for spec in await apps.all():
            await installer.remove(spec["name"], force=True)
        await database.close()


async def answers(port: int) -> bool:
    async with httpx.AsyncClient() as http:
        reply = await http.get(f"http://127.0.0.1:{port}/", timeout=2)
    return reply.text.strip() == INDEX_TEXT


async def nothing_left(runtime: Runtime, name: str) -> None:
    assert not await runtime.engine.exists(f"fluxweb_{name}")
    names = [network.name for network in await runtime.engine.list_networks()]
    assert f"fluxDockerNetwork_{name}" not in names
    assert not (runtime.volumes.apps_dir / f"fluxweb_{name}").exists()
    assert not runtime.volumes.image(f"fluxweb_{name}").exists()
    assert await runtime.apps.get(name) is None


async def test_install_ladder_stop_remove(runtime: Runtime, images: Images) -> None:
    port = free_port()
    statuses: list[dict[str, Any]] = []
    await runtime.installer.install(web_app("webtest", images.httpd, port), statuses.append)
    assert statuses[-1] == {"status": "Flux App webtest successfully installed and launched"}
    await eventually(lambda: answers(port), within=30)
    container = "fluxweb_webtest"
    inspect = await runtime.engine.inspect(container)
    assert "FLUX_APP_NAME=webtest" in inspect["Config"]["Env"]
    assert "FLUX_NODE_HOST_IP=127.0.0.1" in inspect["Config"]["Env"]
    assert inspect["Config"]["Hostname"] == "web"
    assert runtime.volumes.mounted(container)
    targets = {m["Destination"]: m["Source"] for m in inspect["Mounts"]}
    assert targets["/data"].endswith(f"{container}/appdata")
    assert targets["/etc/conf"].endswith(f"{container}/conf")
    assert (await runtime.apps.get("webtest"))["owner"] == OWNER

    # killed from outside: restarted at once, then only after the ladder's 30 s
    await runtime.engine.kill(container)
    report = await runtime.reconciler.reconcile_once()
    assert report.started == [container]
    await eventually(lambda: answers(port), within=30)
    await runtime.engine.kill(container)
    report = await runtime.reconciler.reconcile_once()
    assert report.waiting == [container]
    runtime.clock.advance(30)
    report = await runtime.reconciler.reconcile_once()
    assert report.started == [container]

    # an exit with code 0 is restarted too
    await runtime.engine.stop(container, grace=1)
    assert (await runtime.engine.inspect(container))["State"]["ExitCode"] in (0, 137, 143)
    runtime.clock.advance(300)
    assert (await runtime.reconciler.reconcile_once()).started == [container]

    # after a reboot the loop mount is gone too: mounted again, then started
    await runtime.engine.stop(container, grace=1)
    await run_tool("umount", str(runtime.volumes.directory(container)))
    assert not runtime.volumes.mounted(container)
    runtime.clock.advance(900)
    assert (await runtime.reconciler.reconcile_once()).started == [container]
    assert runtime.volumes.mounted(container)
    await eventually(lambda: answers(port), within=30)

    # control waits for the first reconciler pass after a start (boot settling)
    booting = Reconciler(runtime.engine, runtime.apps, runtime.clock)
    service = RuntimeService(
        runtime.engine, runtime.apps, runtime.installer, booting, runtime.clock, settle_seconds=45
    )
    with pytest.raises(Settling) as settling:
        await service.stop("webtest")
    assert settling.value.http_status == 503 and settling.value.retry_after == 45
    await booting.reconcile_once()
    assert await service.stop("web_webtest") == "Flux App web_webtest successfully stopped."
    assert await service.start("webtest") == "Application webtest started"

    # an operator stop is durable: this reconciler and a new one (a node restart) leave it
    await runtime.apps.set_desired(container, "webtest", STOPPED, runtime.clock.time())
    runtime.reconciler.operator_acted(container)
    await runtime.engine.stop(container, grace=1)
    assert (await runtime.reconciler.reconcile_once()).started == []
    after_restart = Reconciler(runtime.engine, runtime.apps, runtime.clock)
    assert (await after_restart.reconcile_once()).started == []
    assert (await runtime.engine.inspect(container))["State"]["Running"] is False

    await runtime.installer.remove("webtest")
    await nothing_left(runtime, "webtest")
    with pytest.raises(NotFound):
        await runtime.installer.remove("webtest")


async def test_bad_installs_leave_nothing(runtime: Runtime, images: Images) -> None:
    with pytest.raises(InstallError, match="Insufficient RAM on Flux Node to spawn an application"):
        await runtime.installer.install(web_app("bigram", images.httpd, free_port(), ram=10**7))
    await nothing_left(runtime, "bigram")

    port = free_port()
    await runtime.installer.install(web_app("first", images.httpd, port))
    with pytest.raises(
        InstallError,
        match=f"Flux App second port {port} already used with different application",
    ):
        await runtime.installer.install(web_app("second", images.httpd, port))
    await nothing_left(runtime, "second")

    # a failure halfway (an image that is not there) removes the network and volume made
    with pytest.raises(InstallError):
        await runtime.installer.install(
            web_app("noimage", images.httpd.replace("httpd:1.0", "absent:1"), free_port())
        )
    await nothing_left(runtime, "noimage")
