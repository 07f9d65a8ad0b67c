"""Replicated app data on a cluster of three running nodes (issue 15's Tests): each node is
served in process with its own managed Syncthing (API port + 2), its own dockerd in its own
network namespace, a devnet for its tier and real gossip between them. The apps' data is
written by the apps themselves (a shell in the container, on the `g:`/`r:` volume).

* `g:` app with two instances: the primary's writes reach the standby; the primary's
  machine dies and the standby starts the app with every file; the old primary comes back
  and converges without touching the newer writes; the #1761 scenarios — its volume
  emptied, then unmounted, while its node was down — lose nothing on the healthy replica.
* `r:` app: a new node starts its instance only once its copy is complete; then that node's
  process restarts while its Syncthing and the app keep running, and data keeps flowing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from fluxos.runtime.engine import DockerEngine
from fluxos.sync.process import running_pid
from tests.integration.runtime.conftest import Images
from tests.support.daemons import DevnetProcess
from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import InProcessNode, eventually, stop_nodes
from tests.support.nodedocker import NodeDocker, node_dockers
from tests.support.processes import free_port
from tests.support.runtimeapps import web_app
from tests.support.syncthing import syncthing_binary

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop-mounted volumes and dockerd need root"),
]

SYNC_WITHIN = 150.0
SYNCTHING = {
    "monitor_seconds": 1,
    "sentinel_seconds": 5,
    # longer than a peer's cached /apps/listrunningapps answer (15 s): see
    # test_synced_replication.py (mainnet: 60 s + i × 180 s)
    "takeover_grace_seconds": 10,
    "takeover_seconds": 20,
}


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    process = DevnetProcess(tmp_path_factory.mktemp("cluster-devnet")).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, images: Images) -> Iterator[list[NodeDocker]]:
    registry_port = int(images.httpd.split("/", 1)[0].rsplit(":", 1)[1])
    with node_dockers(tmp_path_factory.mktemp("cluster-dockers"), 3, (registry_port,)) as made:
        yield made


class Cluster:
    """Three nodes; a node can die (with its Syncthing and apps) and come back with the same
    data dir, key and address, or restart its process alone (Syncthing keeps running)."""

    def __init__(self, root: Path, devnet: DevnetProcess, engines: list[NodeDocker]) -> None:
        self.root = root
        self.devnet = devnet
        self.engines = engines
        self.registry = FluxnodeRegistry()
        self.nodes = [self._make(index) for index in range(len(engines))]

    def _make(self, index: int, previous: InProcessNode | None = None) -> InProcessNode:
        return InProcessNode(
            self.root / f"node-{index}",
            self.registry,
            host=previous.host if previous else None,
            key=previous.key if previous else None,
            register=previous is None,
            syncthing=True,
            run_apps=True,
            fluxd_conf=str(self.devnet.conf_path),
            flux_helpers_url="",  # no GitHub here
            runtime={
                "docker_host": self.engines[index].url,
                "reconcile_seconds": 1,
                "settle_seconds": 1,
            },
            syncthing_settings=SYNCTHING,
        )

    async def start(self) -> None:
        for node in self.nodes:
            await node.start()
        for node in self.nodes:
            await self._joined(node)

    async def _joined(self, node: InProcessNode) -> None:
        others = len(self.nodes) - 1
        await eventually(lambda: len(node.network.peers) >= others, within=90)
        await eventually(node.node.sync.device_id, within=90, interval=0.5)

    async def kill(self, node: InProcessNode) -> None:
        """The machine dies: the node, its Syncthing, and its apps (its dockerd lives on,
        as the disk does)."""
        index = self.nodes.index(node)
        await node.stop()
        engine = DockerEngine(self.engines[index].url)
        try:
            for container in await engine.list_containers():
                await engine.stop(container["Id"], grace=1)
        finally:
            engine.close()

    async def come_back(self, node: InProcessNode) -> InProcessNode:
        """Start a stopped node again: same data dir, key and address."""
        index = self.nodes.index(node)
        assert node.stopped
        fresh = self.nodes[index] = self._make(index, node)
        await fresh.start()
        await self._joined(fresh)
        return fresh

    async def close(self) -> None:
        for node in self.nodes:
            if node.stopped:
                _unmount_volumes(node)  # a node that is down cannot remove its apps
                continue
            for spec in await node.node.local_apps.all():
                await node.node.installer.remove(spec["name"], force=True)
        await stop_nodes(self.nodes)
        for node in self.nodes:
            _unmount_volumes(node)


def _unmount_volumes(node: InProcessNode) -> None:
    apps_dir = node.node.app_volumes.directory("x").parent
    for volume in apps_dir.iterdir() if apps_dir.is_dir() else ():
        subprocess.run(["umount", "-l", str(volume)], capture_output=True, check=False)


@pytest.fixture
async def cluster(
    tmp_path: Path, devnet: DevnetProcess, engines: list[NodeDocker]
) -> AsyncIterator[Cluster]:
    syncthing_binary()
    made = Cluster(tmp_path, devnet, engines)
    try:
        await made.start()
        yield made
    finally:
        await made.close()


# -- the apps' data -----------------------------------------------------------------------
def appdata(node: InProcessNode, container: str) -> Path:
    return node.node.app_volumes.directory(container) / "appdata"


def app_files(node: InProcessNode, container: str) -> dict[str, bytes]:
    """What the app wrote (Syncthing's own markers and temporary files left out)."""
    root = appdata(node, container)
    found = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else ():
        relative = path.relative_to(root)
        if relative.parts[0].startswith(".st") or path.name.startswith(".syncthing."):
            continue
        if path.is_file():
            found[str(relative)] = path.read_bytes()
    return found


async def app_writes(node: InProcessNode, container: str, script: str) -> None:
    """The app itself changes its data: a shell in its container, on its `/data` volume."""
    async for _ in node.node.docker.exec_stream(container, ["sh", "-c", f"set -e; {script}"]):
        pass
    await node.node.sync.client.request("post", "/rest/db/scan", params={"folder": container})


async def running(node: InProcessNode, container: str) -> bool:
    if node.stopped:
        return False
    return bool((await node.node.docker.inspect(container))["State"]["Running"])


async def install(nodes: list[InProcessNode], spec: dict[str, Any]) -> None:
    await asyncio.gather(*(node.node.installer.install(spec) for node in nodes))


def promoted(node: InProcessNode, container: str) -> bool:
    folders = node.node.app_folders
    tracked = folders.tracked.get(container) if folders is not None else None
    return tracked is not None and tracked.promoted


async def test_g_app_takeover_return_and_1761(cluster: Cluster, images: Images) -> None:
    a, b, c = cluster.nodes
    spec = web_app("gledger", images.httpd, free_port(), containerData="g:/data")
    container = "fluxweb_gledger"
    await install([a, b], spec)  # two instances; the third node runs nothing of it

    async def one_primary() -> list[InProcessNode]:
        found = [node for node in (a, b) if await running(node, container)]
        others = [node for node in (a, b) if node not in found]
        settled = all(
            node.node.app_folders is not None and node.node.app_folders.may_run(container) is False
            for node in others
        )
        return found if len(found) == 1 and settled else []

    primary = (await eventually(one_primary, within=SYNC_WITHIN, interval=0.5))[0]
    standby = b if primary is a else a

    # data written by the app on the primary appears on the standby, which runs nothing
    await app_writes(
        primary,
        container,
        "for n in 1 2 3 4 5 6; do dd if=/dev/urandom of=/data/row$n.dat bs=4k count=16"
        " 2>/dev/null; done; mkdir -p /data/sub; echo version=1 > /data/sub/config.ini",
    )
    written = app_files(primary, container)
    assert len(written) == 7
    await eventually(lambda: app_files(standby, container) == written, SYNC_WITHIN, 0.5)
    assert not await running(standby, container)
    assert not await c.node.docker.exists(container)  # the third node has no instance

    # the primary's machine dies: the standby starts the app with every file
    await cluster.kill(primary)
    await eventually(lambda: running(standby, container), within=SYNC_WITHIN, interval=0.5)
    assert standby.node.app_folders is not None
    assert "takes over" in standby.node.app_folders.gate(container).reason
    assert app_files(standby, container) == written
    await app_writes(
        standby,
        container,
        "echo newer > /data/row3.dat; rm /data/row5.dat; echo after > /data/after-takeover.dat",
    )
    newest = app_files(standby, container)
    assert newest != written and "row5.dat" not in newest

    # the old primary comes back: it converges to the newer data and never runs
    old = await cluster.come_back(primary)
    await eventually(lambda: app_files(old, container) == newest, SYNC_WITHIN, 0.5)
    await eventually(lambda: promoted(old, container), SYNC_WITHIN, 0.5)
    assert not await running(old, container)
    assert old.node.app_folders is not None and old.node.app_folders.may_run(container) is False
    assert await running(standby, container)
    assert app_files(standby, container) == newest

    # #1761: the old primary's volume is emptied while its node is down
    await cluster.kill(old)
    shutil.rmtree(appdata(old, container))
    appdata(old, container).mkdir()
    old = await cluster.come_back(old)
    await eventually(lambda: app_files(old, container) == newest, SYNC_WITHIN, 0.5)
    assert app_files(standby, container) == newest
    assert not await running(old, container)

    # #1761: unmounted while down: the bare mount point takes no writes, the node mounts
    # its volume again before anything syncs or runs, and the healthy replica loses nothing
    await cluster.kill(old)
    volume = old.node.app_volumes.directory(container)
    await asyncio.to_thread(subprocess.run, ["umount", str(volume)], check=True)
    with pytest.raises(PermissionError):
        (volume / "host-file").write_text("on the host's disk")  # immutable until mounted
    old = await cluster.come_back(old)
    await eventually(lambda: os.path.ismount(volume), within=SYNC_WITHIN, interval=0.5)
    await eventually(lambda: promoted(old, container), SYNC_WITHIN, 0.5)
    assert app_files(old, container) == newest
    assert app_files(standby, container) == newest
    assert not await running(old, container)
    assert await running(standby, container)


async def test_r_app_waits_for_its_copy_and_a_node_restart_keeps_syncthing(
    cluster: Cluster, images: Images
) -> None:
    a, _b, c = cluster.nodes
    spec = web_app("rpages", images.httpd, free_port(), containerData="r:/data")
    container = "fluxweb_rpages"
    await install([a], spec)
    await eventually(lambda: running(a, container), within=SYNC_WITHIN, interval=0.5)  # seeds
    await app_writes(
        a,
        container,
        "for n in 1 2 3 4 5 6 7 8; do dd if=/dev/urandom of=/data/page$n.html bs=64k count=16"
        " 2>/dev/null; done",
    )
    written = app_files(a, container)
    assert len(written) == 8

    # a new node: its instance starts only once its copy is complete
    await install([c], spec)
    early: list[int] = []

    async def complete_before_running() -> bool:
        if not await running(c, container):
            return False
        have = app_files(c, container)
        if have != written:
            early.append(len(have))
        return True

    await eventually(complete_before_running, within=SYNC_WITHIN, interval=0.05)
    assert early == []
    assert app_files(c, container) == written

    # c's node process restarts while its Syncthing (and the app) keep running
    pid = running_pid(c.settings.syncthing_home)
    started_at = (await c.node.docker.inspect(container))["State"]["StartedAt"]
    await c.stop(keep_syncthing=True)
    assert running_pid(c.settings.syncthing_home) == pid
    await app_writes(a, container, "echo while-c-restarts > /data/during.txt")
    during = appdata(c, container) / "during.txt"
    await eventually(during.exists, within=SYNC_WITHIN, interval=0.5)  # its node is down
    assert during.read_text() == "while-c-restarts\n"
    c = await cluster.come_back(c)
    assert running_pid(c.settings.syncthing_home) == pid
    await eventually(lambda: c.node.app_folders and c.node.app_folders.passes >= 2, SYNC_WITHIN)
    assert c.node.app_folders is not None and c.node.app_folders.may_run(container) is True
    state = (await c.node.docker.inspect(container))["State"]
    assert state["Running"] and state["StartedAt"] == started_at  # never restarted
    config: Any = await c.node.sync.client.request("get", f"/rest/config/folders/{container}")
    assert config["type"] == "sendreceive"
    await app_writes(c, container, "echo after-restart > /data/from-c.txt")
    back = appdata(a, container) / "from-c.txt"
    await eventually(back.exists, within=SYNC_WITHIN, interval=0.5)
    assert back.read_text() == "after-restart\n"
