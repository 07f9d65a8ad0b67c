"""How a node's apps runtime is wired: apps on Docker, the boot rules, the spawner of its
share of the global apps, the apps' Syncthing folders (the part of `fluxos.node.Node` they make)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fluxos.network.envelope import Envelope
from fluxos.network.gossip import ReceivedMessage
from fluxos.network.objecthash import object_hash
from fluxos.runtime.announcer import NetworkAnnouncer
from fluxos.runtime.bootrules import BootKeeper
from fluxos.runtime.globalcommands import GlobalCommands
from fluxos.runtime.installer import Installer
from fluxos.runtime.monitoring import AppMonitor
from fluxos.runtime.nodefacts import NodeFactsSource
from fluxos.runtime.reconciler import Reconciler
from fluxos.runtime.registryapps import RegistryGlobalApps
from fluxos.runtime.service import InstallableSpecs, RuntimeService
from fluxos.runtime.siblings import SiblingPorts
from fluxos.runtime.spawner import GlobalApps, Spawner, watch_engine
from fluxos.runtime.syncedapps import RuntimeSyncedApps
from fluxos.runtime.tampering import TamperWatch
from fluxos.runtime.volumes import Volumes
from fluxos.storage.tampering import TamperingStore
from fluxos.sync.apps import RegistryLocations
from fluxos.sync.controller import AppFolders
from fluxos.sync.events import FolderEvents
from fluxos.sync.peers import HttpPeers

if TYPE_CHECKING:
    from fluxos.node import Node

log = logging.getLogger(__name__)


def build_runtime(
    node: Node, install_specs: InstallableSpecs | None, registry: RegistryGlobalApps
) -> None:
    """Apps on Docker: installer, the reconciler (the one thing that starts and stops
    containers by itself) and the routes' service. Without dockerd the node serves on
    and these routes say Docker is unavailable."""
    settings = node.settings
    runtime = settings.runtime
    node.app_volumes = Volumes(
        runtime.apps_dir or settings.data_dir / "apps",
        runtime.volumes_dir or settings.data_dir / "appvolumes",
    )
    # what happens to the containers outside the runtime (/apps/tamperingevents)
    node.tampering = TamperWatch(
        node.docker,
        TamperingStore(node.database),
        node.local_apps,
        node.clock,
        interval=runtime.reconcile_seconds,
        uptime=node.host.system_uptime,
        node_status=lambda: node.fluxd.call("getfluxnodestatus", use_cache=False),
    )
    node.reconciler = Reconciler(
        node.docker,
        node.local_apps,
        node.clock,
        interval=runtime.reconcile_seconds,
        volumes=node.app_volumes,
        observer=node.tampering.observe,
    )
    geolocation = node.geolocation
    network = node.network
    node.app_announcer = NetworkAnnouncer(
        network,
        node.local_apps,
        node.clock,
        own_ip=lambda: network.own_address,
        os_uptime=node.host.system_uptime,
        static_ip=lambda: geolocation.static_ip,
        engine=node.docker,
        interval=runtime.broadcast_seconds,
        record=lambda envelope: _record_own(node, envelope),
    )
    node.installer = Installer(
        node.docker,
        node.local_apps,
        node.app_volumes,
        NodeFactsSource(
            node.node_tier,
            node.own_address.get,
            settings.ipaddress,
            node.app_volumes.volumes_dir,
            static_ip=lambda: geolocation.static_ip,
            datacenter=lambda: bool((geolocation.geolocation or {}).get("dataCenter")),
        ),
        node.clock,
        announcer=node.app_announcer,
        blocked_ports=settings.blocked_ports,
        on_operator_action=node.reconciler.operator_acted,
        # the other Flux nodes the fluxnode list puts on this node's IP
        sibling_ports=SiblingPorts(
            lambda: network.state.nodes, lambda: network.own_address, lambda: network.http
        ),
    )
    node.app_monitor = AppMonitor(
        node.docker, node.local_apps, node.clock, interval=runtime.monitor_seconds
    )
    node.tampering.busy = lambda: node.installer.installing
    node.runtime = RuntimeService(
        node.docker,
        node.local_apps,
        node.installer,
        node.reconciler,
        node.clock,
        # the global apps registry answers which spec an install means
        specs=install_specs,
        catalogue=registry,
        # global=true: the registry's locations hear the command with the caller's auth
        commands=GlobalCommands(registry, lambda: network.http),
        monitor=node.app_monitor,
        tampering=node.tampering,
        settle_seconds=runtime.settle_seconds,
    )
    # at start: apps whose locations expired while the node was down are removed,
    # before the reconciler brings the others back (runtime.bootrules)
    settled = node.supervisor.condition("apps boot settled")
    node.boot_keeper = BootKeeper(
        node.state,
        node.clock,
        location_seconds=runtime.location_seconds,
        remove_all=lambda reason: _remove_all_apps(node, reason),
        settled=settled.set,
    )
    if node.apps_enabled:
        node.add_background("apps boot", node.boot_keeper.run, after=("dockerd reachable",))
        node.add_background("apps reconciler", node.reconciler.run, after=("apps boot settled",))
        node.add_background("apps running broadcast", node.app_announcer.run)
        node.add_background("apps monitoring", node.app_monitor.run)
        node.add_background("apps tampering watch", node.tampering.run)


async def _remove_all_apps(node: Node, reason: str) -> int:
    specs = await node.local_apps.all()
    for spec in specs:
        log.warning("apps at boot: removing %s (%s)", spec["name"], reason)
        await node.installer.remove(str(spec["name"]), force=True)
    return len(specs)


async def _record_own(node: Node, envelope: Envelope) -> None:
    """This node's own running/installing/error/removed messages go into its own
    location book too, as upstream stores them before sending."""
    book = node.app_locations
    handlers = {
        "fluxapprunning": book.on_running,
        "fluxappinstalling": book.on_installing,
        "fluxappinstallingerror": book.on_installing_error,
        "fluxappremoved": book.on_removed,
    }
    handler = handlers.get(envelope.type)
    if handler is not None:
        own = ReceivedMessage(
            envelope, object_hash(envelope.data), node.network.own_address, node.clock.millis()
        )
        await handler(own)


def build_spawner(node: Node, global_apps: GlobalApps) -> None:
    """This node's share of the global apps (apps.md §10): the spawner and the
    surplus/expiry cleanup, once the registry is ready and Docker answers."""
    runtime = node.settings.runtime
    liveness, network, geolocation = node.daemon_liveness, node.network, node.geolocation

    async def height() -> int | None:
        return liveness.height if liveness.sync_state().synced else None

    async def not_ready() -> str | None:
        if network.dos.is_dos:
            return "the node is in DOS state"
        if not network.state.confirmed:  # its claims and locations would be refused
            return "this node is not a confirmed fluxnode"
        return None

    def location() -> str | None:
        where = geolocation.geolocation
        if not where:
            return None
        return f"{where.get('continentCode')}_{where.get('countryCode')}_{where.get('regionName')}"

    node.spawner = Spawner(
        global_apps,
        node.installer,
        node.local_apps,
        node.docker,
        node.app_announcer,
        node.installer.facts,
        node.clock,
        height=height,
        own_ip=lambda: network.own_address,
        location=location,
        not_ready=not_ready,
        time_scale=runtime.spawn_time_scale,
        blocked_ports=node.settings.blocked_ports,
        report=lambda detail: node.supervisor.report("apps spawner", detail),
    )
    if not node.apps_enabled:
        return
    reachable = node.supervisor.condition("dockerd reachable")
    node.add_background("dockerd watch", lambda: watch_engine(node.docker, reachable, node.clock))
    ready = node.supervisor.condition("registry ready")
    follower = node.payment_follower

    async def registry_ready() -> None:  # the registry follows the chain's payments
        await follower.ready.wait()
        ready.set()

    node.add_background("registry ready watch", registry_ready)
    if runtime.spawn:
        after = ("registry ready", "dockerd reachable")
        node.add_background("apps spawner", node.spawner.run, after=after)
        node.add_background("apps cleanup", node.spawner.cleanup_loop, after=after)
        node.add_background("apps spec changes", node.spawner.respec_loop, after=after)


def build_app_folders(node: Node) -> None:
    """Syncthing folders for the apps' s:/r:/g: volumes (files-and-sync.md §1.5), and
    the gate the reconciler obeys for them. Nothing to replicate without both."""
    node.app_folders = None
    node.sync_peers = HttpPeers()
    if not (node.sync.enabled and node.apps_enabled):
        return
    network = node.network

    async def own() -> str:
        # the address this node's fluxapprunning gives (the announcer's `ip`), so the
        # controller finds itself among the registry's locations
        return network.own_address

    node.app_folders = AppFolders(
        node.settings,
        node.sync.client,
        node.sync.device_id,
        RuntimeSyncedApps(
            node.local_apps, node.docker, node.app_volumes, held=node.app_holds.holds
        ),
        RegistryLocations(node.app_locations.locations),
        node.sync_peers,
        node.clock,
        own,
    )
    node.reconciler.gate = node.app_folders
    node.sync.app_folders = node.app_folders
    node.app_holds.sync_pass = node.app_folders.monitor_pass
    node.add_background("syncthing app folders", node.app_folders.run)
    events = FolderEvents(node.sync.client, node.app_folders, node.clock)
    node.add_background("syncthing app events", events.run)


class RuntimeControl:
    """The apps runtime as a backup or restore task stops and starts an app (built before
    the runtime, asked only once it runs)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def stop_app(self, app_name: str) -> None:
        await self.node.runtime.stop_app(app_name)

    async def start_app(self, app_name: str) -> None:
        await self.node.runtime.start_app(app_name)
