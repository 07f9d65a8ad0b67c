"""A cluster of running nodes with replicated app data (issue 15): each node is served in
process (`InProcessNode`) with its own managed Syncthing (API port + 2), its own dockerd in
its own network namespace (`NodeDocker`), a devnet for its tier and real gossip. A node can
die (with its Syncthing and its apps) and come back with the same data dir, key and
address, or restart its process alone while its Syncthing keeps running. For
`tests/integration/runtime/test_synced_cluster.py`, `test_synced_replication.py` and
`bench/sync_replication.py`."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxos.runtime.engine import DockerEngine
from tests.support.daemons import DevnetProcess
from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import InProcessNode, eventually, stop_nodes
from tests.support.nodedocker import NodeDocker, node_dockers
from tests.support.syncthing import syncthing_binary

SYNCTHING = {
    "monitor_seconds": 1,
    "sentinel_seconds": 5,
    # the step between candidates is longer than a peer's cached /apps/listrunningapps
    # answer (15 s), so the next candidate never reads a primary that just took over as a
    # vacancy (mainnet: 60 s + i × 180 s)
    "takeover_grace_seconds": 10,
    "takeover_seconds": 20,
}


@dataclass(frozen=True)
class Machines:
    """What a cluster's nodes run on: one devnet for their tiers, a dockerd each."""

    devnet: DevnetProcess
    engines: list[NodeDocker]


@contextmanager
def machines(root: Path, registry_image: str, count: int) -> Iterator[Machines]:
    """A devnet and `count` dockerds, each in its own network namespace and able to pull
    from the test registry that `registry_image` (`host:port/name:tag`) comes from."""
    registry_port = int(registry_image.split("/", 1)[0].rsplit(":", 1)[1])
    devnet = DevnetProcess(root / "devnet").start()
    try:
        with node_dockers(root / "dockers", count, (registry_port,)) as engines:
            yield Machines(devnet, engines)
    finally:
        devnet.stop()


@asynccontextmanager
async def running_cluster(root: Path, on: Machines) -> AsyncIterator[Cluster]:
    """A node on each of `on`'s dockerds, started and joined; its apps removed, its nodes
    stopped on the way out."""
    syncthing_binary()
    made = Cluster(root, on.devnet, on.engines)
    try:
        await made.start()
        yield made
    finally:
        await made.close()


class Cluster:
    """A node per dockerd; a node can die (with its Syncthing and apps) and come back with the same
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
        # the runtime makes a mount point immutable (nothing lands on the host's disk while
        # unmounted); let the temporary directory go
        subprocess.run(["chattr", "-i", str(volume)], capture_output=True, check=False)


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


async def sole_runner(nodes: list[InProcessNode], container: str) -> InProcessNode | None:
    """The one node running a `g:` container while every other's gate says no, else None."""
    found = [node for node in nodes if await running(node, container)]
    others = [node for node in nodes if node not in found]
    settled = all(
        node.node.app_folders is not None and node.node.app_folders.may_run(container) is False
        for node in others
    )
    return found[0] if len(found) == 1 and settled else None


def verified_standby(node: InProcessNode, container: str) -> bool:
    """Its copy is verified (its folder may send) and its gate says it runs nothing; both
    are set in the same pass, the gate last."""
    folders = node.node.app_folders
    return promoted(node, container) and folders is not None and folders.may_run(container) is False
