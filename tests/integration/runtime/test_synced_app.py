"""A `g:` app installed by the real runtime (real dockerd, registry, loop volume) with the
node's real Syncthing: the reconciler obeys the Syncthing controller's gate. Alone on
its node the app seeds its folder (over the whole mounted volume) and runs; the folder
goes when the app is removed, and a node restart leaves the running app alone."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxos.clock import ManualClock, SystemClock
from fluxos.config import Settings
from fluxos.configsections import SyncthingSettings
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.installer import Installer
from fluxos.runtime.reconciler import Reconciler
from fluxos.runtime.service import RuntimeService
from fluxos.runtime.syncedapps import RuntimeSyncedApps
from fluxos.runtime.volumes import Volumes
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.localapps import LocalApps
from fluxos.sync.apps import OnlyThisNode, SyncMode
from fluxos.sync.controller import AppFolders
from fluxos.sync.peers import HttpPeers
from fluxos.sync.service import SyncService
from tests.integration.runtime.conftest import Images
from tests.support.asyncwait import eventually
from tests.support.processes import free_port
from tests.support.runtimeapps import HostFacts, web_app
from tests.support.syncthing import syncthing_binary

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop-mounted app volumes need root"),
]
ADDRESS = "127.0.15.20:16127"
CONTAINER = "fluxweb_gwiki"


async def own_address() -> str:
    return ADDRESS


@pytest.fixture
async def syncthing(tmp_path: Path) -> AsyncIterator[SyncService]:
    settings = Settings(
        data_dir=tmp_path / "node",
        host="127.0.15.20",
        syncthing=SyncthingSettings(
            binary=syncthing_binary().path, sentinel_seconds=3600, takeover_grace_seconds=1
        ),
    )
    sync = SyncService(settings, SystemClock(), managed=True, enabled=True)
    sentinel = asyncio.create_task(sync.run())
    try:
        await eventually(sync.device_id, within=60, interval=0.25)
        yield sync
    finally:
        sentinel.cancel()
        await sync.stop_process()
        await sync.aclose()


def folders_for(
    sync: SyncService, apps: LocalApps, engine: DockerEngine, volumes: Volumes, peers: HttpPeers
) -> AppFolders:
    return AppFolders(
        sync.settings,
        sync.client,
        sync.device_id,
        RuntimeSyncedApps(apps, engine, volumes),
        OnlyThisNode(own_address),
        peers,
        SystemClock(),
        own_address,
    )


async def test_reconciler_runs_a_g_app_only_through_the_gate(
    engine: DockerEngine, images: Images, syncthing: SyncService, tmp_path: Path
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}", ALL_AREAS)
    await database.open()
    clock = ManualClock()
    apps = LocalApps(database)
    volumes = Volumes(tmp_path / "apps", tmp_path / "volumes")
    peers = HttpPeers()
    folders = folders_for(syncthing, apps, engine, volumes, peers)
    reconciler = Reconciler(engine, apps, clock, gate=folders)
    installer = Installer(engine, apps, volumes, HostFacts(tmp_path), clock)
    spec = web_app("gwiki", images.httpd, free_port(), containerData="g:/data")
    try:
        await installer.install(spec)
        components = await RuntimeSyncedApps(apps, engine, volumes).synced_components()
        assert components is not None and [c.mode for c in components] == [SyncMode.PRIMARY]
        assert components[0].volume == volumes.directory(CONTAINER)

        # undecided (the controller has not looked yet): the reconciler leaves it alone
        assert folders.may_run(CONTAINER) is None
        assert (await reconciler.reconcile_once()).stopped == []
        # and an operator's start leaves it to the gate too (a standby never runs briefly)
        service = RuntimeService(engine, apps, installer, reconciler, clock)
        assert await service.start("gwiki") == "Application gwiki started"
        assert await service.restart("web_gwiki") == (
            "Flux App web_gwiki was stopped, successfully started."
        )
        assert not (await engine.inspect(CONTAINER))["State"]["Running"]

        async def running() -> bool:
            await folders.monitor_pass()
            await reconciler.reconcile_once()
            state = (await engine.inspect(CONTAINER))["State"]
            return bool(state["Running"]) and folders.may_run(CONTAINER) is True

        # alone on its node: receive-only first (stopped), then it seeds and runs
        await eventually(running, within=60, interval=0.5)
        assert "candidate #0" in folders.gate(CONTAINER).reason
        folder = await syncthing.client.request("get", f"/rest/config/folders/{CONTAINER}")
        assert folder["path"] == str(volumes.directory(CONTAINER))
        assert folder["type"] == "sendreceive"
        assert (volumes.directory(CONTAINER) / ".stfolder").is_dir()

        # the node restarts (Syncthing and the container keep running): nothing stops
        again = folders_for(syncthing, apps, engine, volumes, peers)
        reconciler.gate = again
        await again.monitor_pass()
        assert again.may_run(CONTAINER) is True
        assert (await reconciler.reconcile_once()).stopped == []

        await installer.remove("gwiki")
        await again.monitor_pass()
        assert await syncthing.client.request("get", "/rest/config/folders") == []
    finally:
        for installed in await apps.all():
            await installer.remove(installed["name"], force=True)
        await peers.aclose()
        await database.close()
