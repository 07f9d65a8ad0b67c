"""The composition root: builds every service of a node from its settings and runs them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx

from fluxos.apps.directory import RegistryDirectory
from fluxos.apps.dockerregistry import DockerRegistryClient
from fluxos.apps.enterprisenodes import EnterpriseNodes
from fluxos.apps.fluxservices import FluxServices
from fluxos.apps.hashsync import PaymentFollower
from fluxos.apps.locations import LocationBook
from fluxos.apps.registry import AppRegistry
from fluxos.apps.registryservice import RegistryService
from fluxos.apps.service import AppsService
from fluxos.chain.liveness import DaemonLiveness
from fluxos.chain.rpcclient import DaemonClient
from fluxos.clock import Clock, SystemClock
from fluxos.config import Settings
from fluxos.crypto import PrivateKey
from fluxos.daemon.service import DaemonService
from fluxos.events import EventBus
from fluxos.explorer.scanner import ScannerOptions
from fluxos.explorer.service import Explorer
from fluxos.files.backups import CLEAN_EVERY_SECONDS
from fluxos.files.backuptasks import AppHolds
from fluxos.files.service import FilesService
from fluxos.files.volumes import AppVolumes, InstalledAppVolumes
from fluxos.identity import AppOwners, IdentityService, LoginGates, PrivilegedIds
from fluxos.identity.gates import (
    DatabaseGate,
    DockerGate,
    HardwareGate,
    NodeDosGate,
    SyncthingGate,
)
from fluxos.identity.gates import DosState as GateDosState
from fluxos.network.dos import DosState
from fluxos.network.fluxdsource import FluxdNodeSource
from fluxos.network.nodelist import NodeListSource
from fluxos.network.service import NetworkService
from fluxos.payments.service import PaymentService
from fluxos.runtime.announcer import NetworkAnnouncer
from fluxos.runtime.bootrules import BootKeeper
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.installer import Installer
from fluxos.runtime.monitoring import AppMonitor
from fluxos.runtime.owners import InstalledAppOwners, RegistryThenInstalled
from fluxos.runtime.reconciler import Reconciler
from fluxos.runtime.registryapps import RegistryGlobalApps
from fluxos.runtime.service import InstallableSpecs, RuntimeService
from fluxos.runtime.spawner import GlobalApps, Spawner
from fluxos.runtime.tampering import TamperWatch
from fluxos.runtime.volumes import Volumes
from fluxos.storage.applocations import AppLocationsStore
from fluxos.storage.apps import AppsStore
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.identity import IdentityStore
from fluxos.storage.localapps import LocalApps
from fluxos.storage.nodestate import NodeState
from fluxos.storage.payments import PaymentStore
from fluxos.sync.controller import AppFolders
from fluxos.sync.peers import HttpPeers
from fluxos.sync.service import SyncService
from fluxos.system.components import ComponentProbe
from fluxos.system.geolocation import (
    GeolocationService,
)
from fluxos.system.hostinfo import HostInfo
from fluxos.system.info import InfoSources
from fluxos.system.livesettings import LiveSettings
from fluxos.system.metrics import NodeMetrics
from fluxos.system.nodeinfo import NodeInfo
from fluxos.system.nodetier import HostHardware, NodeTier
from fluxos.system.ownaddress import OwnAddress
from fluxos.system.service import SystemService
from fluxos.system.software import SoftwareControl
from fluxos.system.startupreport import StartupReport
from fluxos.system.supervisor import DEFAULT_BACKOFF, Backoff, Supervisor
from fluxos.system.upnp import UpnpService
from fluxos.web.bundle import UiBundles
from fluxos.web.nodestatus import NodeStatus
from fluxos.web.release import UiInstaller
from fluxos.wire.permissions import Authorizer
from fluxos.wiring.apps import build_apps
from fluxos.wiring.runtime import RuntimeControl, build_app_folders, build_runtime, build_spawner
from fluxos.wiring.system import build_system

log = logging.getLogger(__name__)


SHUTDOWN_SECONDS = 5.0

BackgroundLoop = Callable[[], Awaitable[None]]


class Node:
    """One Flux node: its settings, services and background loops.

    Build it, then `async with node.running():` to open storage and start the loops; the
    API application (`fluxos.api.app.create_app`) does that in its lifespan.
    """

    # Built area by area by `fluxos.wiring` (each module names what it reads of the node).
    # system
    system_http: httpx.AsyncClient
    own_address: OwnAddress
    geolocation: GeolocationService
    components: ComponentProbe
    startup_report: StartupReport
    info_sources: InfoSources
    software: SoftwareControl
    upnp: UpnpService
    system: SystemService
    ui_bundles: UiBundles
    ui_http: httpx.AsyncClient
    ui: UiInstaller
    node_status: NodeStatus
    # global apps
    flux_services: FluxServices
    enterprise_nodes: EnterpriseNodes
    docker_registry: DockerRegistryClient
    apps_store: AppsStore
    app_location_store: AppLocationsStore
    app_directory: RegistryDirectory
    apps: AppsService
    app_registry: AppRegistry
    app_locations: LocationBook
    payment_follower: PaymentFollower
    registry: RegistryService
    # apps runtime
    app_volumes: Volumes
    tampering: TamperWatch
    reconciler: Reconciler
    app_announcer: NetworkAnnouncer
    installer: Installer
    app_monitor: AppMonitor
    runtime: RuntimeService
    boot_keeper: BootKeeper
    spawner: Spawner
    app_folders: AppFolders | None
    sync_peers: HttpPeers

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        authorizer: Authorizer | None = None,
        app_owners: AppOwners | None = None,
        network_source: NodeListSource | None = None,
        node_key: PrivateKey | None = None,
        home: Path | None = None,
        manage_daemons: bool = False,
        manage_syncthing: bool = False,
        file_volumes: AppVolumes | None = None,
        run_apps: bool = False,
        install_specs: InstallableSpecs | None = None,
        global_apps: GlobalApps | None = None,
    ) -> None:
        self.live_settings = LiveSettings(settings)
        self.clock = clock or SystemClock()
        self.host = HostInfo(self.clock)
        self.database = Database(settings.database, ALL_AREAS)
        self.state = NodeState(self.database)
        self.supervisor = Supervisor(self.clock)
        self.metrics = NodeMetrics()
        self.serving = manage_daemons  # `fluxos start`, not a node built in-process
        self.daemon: DaemonService = DaemonService.from_settings(
            settings,
            clock=self.clock,
            state=self.state,
            home=home or Path.home(),
            manage_daemons=manage_daemons,
        )
        for name, loop in self.daemon.background_loops():
            self.add_background(name, loop)
        self.fluxd: DaemonClient = self.daemon.fluxd
        self.fluxbench: DaemonClient = self.daemon.fluxbench
        self.daemon_liveness = DaemonLiveness(self.fluxd, self.clock, testnet=settings.testnet)
        self.add_background("daemon-liveness", self.daemon_liveness.run)

        fluxd_config = self.daemon.fluxd_config
        if node_key is None and fluxd_config and fluxd_config.zelnodeprivkey:
            node_key = PrivateKey.from_wif(fluxd_config.zelnodeprivkey)
        self.network: NetworkService = NetworkService(
            settings,
            clock=self.clock,
            source=network_source or FluxdNodeSource(self.fluxd),
            key=node_key,
            uptime=self.host.uptime,
        )
        for name, loop in self.network.background_loops():
            self.add_background(name, loop)
        self.events = EventBus(settings.test_event_stream)
        self.network.peers.events = self.events

        # Syncthing: a serving node (`manage_syncthing`) starts or adopts its own; a node
        # built in-process (tests) has none unless asked, and then no Syncthing login gate.
        self.sync: SyncService = SyncService(
            settings, self.clock, managed=settings.syncthing.managed, enabled=manage_syncthing
        )
        self.add_background(
            "syncthing", lambda: self.sync.run(lambda d: self.supervisor.report("syncthing", d))
        )
        self.add_background("syncthing metrics", self.sync.metrics_loop)

        self.explorer: Explorer = Explorer(
            self.database,
            self.fluxd,
            development=settings.development,
            options=ScannerOptions(
                start_height=settings.explorer.start_height,
                poll_seconds=settings.explorer.poll_seconds,
            ),
            clock=self.clock,
        )
        self.add_background("explorer", self.explorer.run)
        self.node_tier = NodeTier(self.fluxd)
        self.info: NodeInfo = NodeInfo(settings, self.host, self.node_tier, self.fluxbench)
        build_apps(self)

        identity_store = IdentityStore(self.database)
        # Login-phrase gates (identity.md §3.2): database, hardware and node DOS are wired;
        # the docker and apps DOS slots are filled in as those areas land.
        # The hardware gate asks fluxd which chain it runs: a regtest chain (any devnet,
        # embedded or not) has no real tier to live up to.
        # Apps on Docker: a serving node (`run_apps`) runs them unless `[runtime] enabled`
        # says no; a node built in-process (tests) runs none unless asked.
        self.apps_enabled = run_apps and settings.runtime.enabled
        off_reason = None
        if not self.apps_enabled:
            off_reason = (
                "apps are off ([runtime] enabled = false)"
                if run_apps
                else "this node was started without its apps runtime"
            )
        self.docker = DockerEngine(settings.runtime.docker_host, off_reason=off_reason)
        self.local_apps = LocalApps(self.database)
        self.login_gates = LoginGates(
            database=DatabaseGate(identity_store),
            syncthing=SyncthingGate(self.sync) if self.sync.enabled else None,
            docker=DockerGate(self.docker) if self.apps_enabled else None,
            hardware=HardwareGate(HostHardware(self.node_tier)),
            node_dos=NodeDosGate(_NetworkDos(self.network.dos)),
        )
        self.identity: IdentityService = IdentityService(
            identity_store,
            PrivilegedIds(
                owner=settings.zelid,
                flux_team=settings.flux_team_zelid,
                flux_support_team=settings.flux_support_team_zelid,
            ),
            self.clock,
            self.login_gates,
            # Who owns an app: the global registry, then the apps installed here (upstream
            # falls back to them too).
            app_owners
            or RegistryThenInstalled(self.app_directory, InstalledAppOwners(self.local_apps)),
        )
        self.authorizer: Authorizer = authorizer or self.identity.authorizer
        self.add_background("identity expiry", self.identity.purge_loop)
        self.payments = PaymentService(PaymentStore(self.database), self.clock)
        self.add_background("payment requests expiry", self.payments.purge_loop)
        # App volumes are the runtime's: an installed app's component, in the runtime's
        # own directory for its container (built below with the runtime).
        self.app_holds = AppHolds()
        self.files: FilesService = FilesService(
            control=RuntimeControl(self),
            holds=self.app_holds,
            restore_max_download=settings.files.restore_max_download,
            remote_allowed=tuple(settings.files.remote_allow_networks),
            database=self.database,
            share_folder=settings.share_folder,
            apps_folder=settings.apps_folder,
            volumes=file_volumes
            or InstalledAppVolumes(
                self.local_apps,
                lambda container: self.app_volumes.directory(container),
                require_mount=settings.files.require_mount,
            ),
            tier=_CollateralTier(self.node_tier),
            clock=self.clock,
            share_max_upload=settings.files.share_max_upload,
            upload_max=settings.files.upload_max,
            zip_stall_seconds=settings.files.zip_stall_seconds,
        )
        self.add_background("local backups housekeeping", self._clean_local_backups)
        build_system(self)
        registry_view = RegistryGlobalApps(self.apps_store, self.app_location_store, self.clock)
        build_runtime(self, install_specs or registry_view, registry_view)
        build_spawner(self, global_apps or registry_view)
        build_app_folders(self)

    @property
    def settings(self) -> Settings:
        """The settings in force now (adjustments apply without a restart where upstream's
        hot reload does)."""
        return self.live_settings.current

    async def geolocation_view(self) -> dict[str, Any] | None:
        await self.geolocation.restore()
        return self.geolocation.geolocation

    async def _clean_local_backups(self) -> None:
        """Every 25 min, the apps' `backup/local` files older than a day go (upstream)."""
        while True:
            # An app under a backup or restore keeps its archives until the task ends.
            names = [
                str(spec["name"])
                for spec in await self.local_apps.all()
                if not self.app_holds.holds(str(spec["name"]))
            ]
            for path in await self.files.backups.clean_local(names, self.clock.time()):
                log.info("local backup %s is older than a day: removed", path)
            await self.clock.sleep(CLEAN_EVERY_SECONDS)

    def add_background(
        self,
        name: str,
        loop: BackgroundLoop,
        *,
        after: tuple[str, ...] = (),
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        """Register a long-running coroutine to start with the node (once the conditions
        in `after` hold) and stop with it; the supervisor restarts it if it fails."""
        self.supervisor.add(name, loop, after=after, backoff=backoff)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Node]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.database.open()
        self.files.start()
        await self.supervisor.start()
        log.info(
            "node started: data dir %s, api port %d", self.settings.data_dir, self.settings.apiport
        )
        missing = self.login_gates.missing()
        if missing:
            log.warning(
                "login phrases are issued without the %s checks: not wired yet",
                ", ".join(missing),
            )

    async def stop(self) -> None:
        await self.network.close()
        await self.supervisor.stop(SHUTDOWN_SECONDS)
        if self.apps_enabled:
            await self.boot_keeper.stopped()  # a clean stop, for the next start's decision
        await self.daemon.close()
        await self.docker_registry.aclose()
        self.docker.close()
        await self.flux_services.aclose()
        await self.system_http.aclose()
        await self.ui_http.aclose()
        self.components.close()
        await self.files.aclose()
        self.upnp.close()
        await self.sync.aclose()  # Syncthing itself keeps running (upstream #1238)
        await self.sync_peers.aclose()
        await self.database.close()
        log.info("node stopped")


class _CollateralTier:
    """The node's tier as FluxShare's space rule names it (upstream's getNewNodeTier)."""

    _NAMES: ClassVar[dict[str, str]] = {"basic": "cumulus", "super": "nimbus", "bamf": "stratus"}

    def __init__(self, tier: NodeTier) -> None:
        self._tier = tier

    async def tier(self) -> str | None:
        try:
            collateral = await self._tier.collateral()
        except Exception as error:  # fluxd down, no collateral yet: unknown, not fatal
            log.info("node tier unknown: %s", error)
            return None
        return self._NAMES.get(collateral.internal_tier)


class _NetworkDos:
    """The network's DOS state as the login gate reads it."""

    def __init__(self, dos: DosState) -> None:
        self._dos = dos

    async def dos_state(self) -> GateDosState:
        view = self._dos.view()
        return GateDosState(view["dosState"], view["dosMessage"])
