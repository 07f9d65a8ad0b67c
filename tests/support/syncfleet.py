"""Several nodes' Syncthing sides on one machine, for the app-folder tests: each node has
its real Syncthing (own home, loopback address 127.0.0.x, API port + 2), its
`SyncService` sentinel and its `AppFolders` controller, and its app volumes as real
loop-mounted ext4 images.

The apps runtime (issue 14) is not here yet, so the parts it will own are played by
`VolumeHost`: the synced components installed on a node (real directories) and a
reconciler that starts a component exactly when the controller's gate opens. The
registry's locations are a shared dict; a peer's device id is asked of that node's own
Syncthing, and whether a peer runs a component is that node's `VolumeHost` — what its
`/syncthing/deviceid` and `/apps/listrunningapps` will answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from fluxos.clock import SystemClock
from fluxos.config import Settings
from fluxos.configsections import SyncthingSettings
from fluxos.sync.apps import Location, SyncedComponent, SyncMode, app_identifier
from fluxos.sync.controller import AppFolders
from fluxos.sync.service import SyncService
from tests.support.asyncwait import eventually
from tests.support.syncthing import syncthing_binary

log = logging.getLogger(__name__)
PASS_SECONDS = 0.5


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@dataclass
class Volume:
    """A loop-mounted ext4 image, as the runtime makes one per component."""

    image: Path | None
    mountpoint: Path
    megabytes: int = 24

    @classmethod
    def create(cls, image: Path | None, mountpoint: Path, megabytes: int = 24) -> Volume:
        """`image` None: a tmpfs of that size (cheap, for many folders at once)."""
        if image is not None:
            _run("fallocate", "-l", f"{megabytes}M", str(image))
            _run("mkfs.ext4", "-q", "-F", str(image))
        mountpoint.mkdir(parents=True, exist_ok=True)
        volume = cls(image, mountpoint, megabytes)
        volume.mount()
        return volume

    def mount(self) -> None:
        if self.image is None:
            _run(
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={self.megabytes}m",
                "tmpfs",
                str(self.mountpoint),
            )
        else:
            _run("mount", "-o", "loop", str(self.image), str(self.mountpoint))
        (self.mountpoint / "appdata").mkdir(exist_ok=True)

    def unmount(self) -> None:
        _run("umount", str(self.mountpoint))

    @property
    def appdata(self) -> Path:
        return self.mountpoint / "appdata"


@dataclass
class Installed:
    app: str
    component: str
    mode: SyncMode
    volume: Volume
    running: bool = False
    starts: int = 0


class VolumeHost:
    """`LocalApps` of one node, plus the reconciler's part: run what the gate allows."""

    def __init__(self) -> None:
        self.installed: dict[str, Installed] = {}

    async def synced_components(self) -> list[SyncedComponent] | None:
        return [
            SyncedComponent(i.app, i.component, i.mode, i.volume.mountpoint, i.running)
            for i in self.installed.values()
        ]

    def reconcile(self, folders: AppFolders) -> None:
        for app_id, installed in self.installed.items():
            run = folders.may_run(app_id)
            if run is None:
                continue  # not decided yet: left as it is
            if run and not installed.running:
                installed.starts += 1
            installed.running = run


@dataclass
class FleetNode:
    name: str
    address: str  # ip:port of its API (what the registry lists)
    settings: Settings
    host: VolumeHost = field(default_factory=VolumeHost)
    sync: SyncService | None = None
    folders: AppFolders | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.folders is not None

    def component(self, app: str, component: str) -> Installed:
        return self.host.installed[app_identifier(app, component)]

    def gate_open(self, app: str, component: str) -> bool:
        return (
            self.folders is not None
            and self.folders.may_run(app_identifier(app, component)) is True
        )

    async def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self.sync is not None
        return await self.sync.client.request(method, path, **kwargs)


class Fleet:
    """The nodes, the registry's locations, and the peer answers between them."""

    def __init__(self, root: Path, count: int) -> None:
        binary = syncthing_binary().path
        self.root = root
        self.locations: dict[str, list[str]] = {}
        self.nodes: list[FleetNode] = []
        for index in range(count):
            ip = f"127.0.15.{index + 2}"  # not 127.0.0.x: other tests' clusters
            settings = Settings(
                data_dir=root / f"node{index}",
                host=ip,
                syncthing=SyncthingSettings(
                    binary=binary,
                    monitor_seconds=PASS_SECONDS,
                    sentinel_seconds=3600,
                    takeover_grace_seconds=3,
                    takeover_seconds=4,
                    stall_seconds=20,
                ),
            )
            self.nodes.append(FleetNode(f"node{index}", f"{ip}:16127", settings))
        self.volumes: list[Volume] = []

    # -- what the controller asks (registry, peers) -----------------------------------
    async def locations_of(self, app: str) -> list[Location]:
        return [Location(address) for address in self.locations.get(app, [])]

    def node_at(self, address: str) -> FleetNode | None:
        return next((n for n in self.nodes if n.address == address and n.alive), None)

    async def device_id(self, address: str) -> str | None:
        node = self.node_at(address)
        sync = node.sync if node is not None else None
        if sync is None:
            return None
        try:
            return await sync.device_id()
        except RuntimeError:  # that node is being stopped right now
            return None

    async def runs(self, address: str, app_id: str) -> bool | None:
        node = self.node_at(address)
        if node is None:
            return None
        installed = node.host.installed.get(app_id)
        return installed is not None and installed.running

    # -- apps --------------------------------------------------------------------------
    def install(
        self,
        node: FleetNode,
        app: str,
        component: str,
        mode: SyncMode,
        megabytes: int = 24,
        *,
        tmpfs: bool = False,
    ) -> Installed:
        app_id = app_identifier(app, component)
        base = self.root / node.name
        base.mkdir(parents=True, exist_ok=True)
        image = base / f"{app_id}FLUXFSVOL" if not tmpfs else None
        volume = Volume.create(image, base / "apps" / app_id, megabytes)
        self.volumes.append(volume)
        installed = Installed(app, component, mode, volume)
        node.host.installed[app_id] = installed
        self.locations.setdefault(app, [])
        if node.address not in self.locations[app]:
            self.locations[app].append(node.address)
        return installed

    # -- node lifecycle ----------------------------------------------------------------
    async def start(self, node: FleetNode, *, passes: bool = True) -> None:
        """Start the node's Syncthing side (adopting its Syncthing if it still runs);
        `passes=False`: the caller runs the monitor passes itself."""
        clock = SystemClock()
        node.sync = SyncService(node.settings, clock, managed=True, enabled=True)
        node.folders = AppFolders(
            node.settings,
            node.sync.client,
            node.sync.device_id,
            node.host,
            _Locations(self),
            _Peers(self),
            clock,
            partial(_address, node.address),
        )
        node.tasks = [asyncio.create_task(node.sync.run(), name=f"{node.name} sentinel")]
        sync = node.sync
        await eventually(sync.device_id, within=60, interval=0.25)
        if passes:
            node.tasks.append(asyncio.create_task(self._reconcile(node), name=f"{node.name} pass"))

    async def _reconcile(self, node: FleetNode) -> None:
        assert node.folders is not None
        while True:
            try:
                await node.folders.monitor_pass()
            except Exception:  # keep the node going, as the supervisor would
                log.exception("%s: monitor pass failed", node.name)
            node.host.reconcile(node.folders)
            await asyncio.sleep(PASS_SECONDS)

    async def stop(self, node: FleetNode, *, keep_syncthing: bool = False) -> None:
        """Kill the node (and its Syncthing, unless only the node process restarts)."""
        for task in node.tasks:
            task.cancel()
        for task in node.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        node.tasks = []
        node.folders = None  # no longer answers its peers
        if node.sync is not None:
            if not keep_syncthing:
                await node.sync.stop_process()
                for installed in node.host.installed.values():
                    installed.running = False  # the machine went down with its apps
            await node.sync.aclose()
            node.sync = None

    async def close(self) -> None:
        for node in self.nodes:
            await self.stop(node)
        for volume in self.volumes:
            with contextlib.suppress(subprocess.CalledProcessError):
                volume.unmount()
        shutil.rmtree(self.root, ignore_errors=True)


async def _address(address: str) -> str:
    return address


class _Locations:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    async def locations(self, app: str) -> list[Location]:
        return await self.fleet.locations_of(app)


class _Peers:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    async def device_id(self, address: str) -> str | None:
        return await self.fleet.device_id(address)

    async def runs(self, address: str, app_id: str) -> bool | None:
        return await self.fleet.runs(address, app_id)
