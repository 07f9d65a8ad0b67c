"""The composition root: builds every service of a node from its settings and runs them."""

from __future__ import annotations

import ipaddress
import logging
import os
import platform
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx

from fluxos.apps.appmessages import MessageChecks
from fluxos.apps.directory import RegistryDirectory
from fluxos.apps.dockerregistry import DockerRegistryClient
from fluxos.apps.enterprisenodes import EnterpriseNodes
from fluxos.apps.enterprisescores import EnterpriseScores
from fluxos.apps.fluxservices import FluxServices, FluxServiceUrls
from fluxos.apps.hashsync import PaymentFollower
from fluxos.apps.heights import LatestForkHeight, SyncedDaemonHeight
from fluxos.apps.images import (
    DevnetImageRegistry,
    DevnetRepositoryLists,
    ImageRegistry,
    RepositoryLists,
)
from fluxos.apps.locations import LocationBook
from fluxos.apps.params import DEVELOPMENT, MAINNET, PriceEntry
from fluxos.apps.promotion import Promoter
from fluxos.apps.quotes import PriceQuoter, flux_price_table
from fluxos.apps.registration import AppSpecChecker
from fluxos.apps.registry import AppRegistry, PeerMinimums
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
from fluxos.network.envelope import Envelope
from fluxos.network.fluxdsource import FluxdNodeSource
from fluxos.network.gossip import ReceivedMessage
from fluxos.network.nodelist import NodeListSource
from fluxos.network.objecthash import object_hash
from fluxos.network.service import NetworkService
from fluxos.payments.service import PaymentService
from fluxos.runtime.announcer import NetworkAnnouncer
from fluxos.runtime.bootrules import BootKeeper
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.globalcommands import GlobalCommands
from fluxos.runtime.installer import Installer
from fluxos.runtime.monitoring import AppMonitor
from fluxos.runtime.nodefacts import NodeFactsSource
from fluxos.runtime.owners import InstalledAppOwners, RegistryThenInstalled
from fluxos.runtime.reconciler import Reconciler
from fluxos.runtime.registryapps import RegistryGlobalApps
from fluxos.runtime.service import InstallableSpecs, RuntimeService
from fluxos.runtime.siblings import SiblingPorts
from fluxos.runtime.spawner import GlobalApps, Spawner, watch_engine
from fluxos.runtime.syncedapps import RuntimeSyncedApps
from fluxos.runtime.tampering import TamperWatch
from fluxos.runtime.volumes import Volumes
from fluxos.storage.apps import AppsStore
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.identity import IdentityStore
from fluxos.storage.localapps import LocalApps
from fluxos.storage.nodestate import NodeState
from fluxos.storage.payments import PaymentStore
from fluxos.storage.tampering import TamperingStore
from fluxos.sync.apps import RegistryLocations
from fluxos.sync.controller import AppFolders
from fluxos.sync.events import FolderEvents
from fluxos.sync.peers import HttpPeers
from fluxos.sync.service import SyncService
from fluxos.system.adjustments import SettingsAdjuster
from fluxos.system.chainstream import ChainStreamer
from fluxos.system.clockdrift import ClockDrift
from fluxos.system.components import ComponentProbe
from fluxos.system.geolocation import (
    FixedLocation,
    FluxStatsLookup,
    GeolocationService,
    IpApiLookup,
    LocationLookup,
)
from fluxos.system.hostinfo import HostInfo
from fluxos.system.info import InfoBuilder, InfoSources, NoAppsRuntime
from fluxos.system.livesettings import LiveSettings
from fluxos.system.metrics import NodeMetrics, ScrapeSources
from fluxos.system.nodeinfo import NodeInfo
from fluxos.system.nodetier import HostHardware, NodeTier
from fluxos.system.ownaddress import OwnAddress
from fluxos.system.routerfirewall import adjust_for_router
from fluxos.system.service import SystemService
from fluxos.system.settingsfile import SettingsFile
from fluxos.system.software import SoftwareControl
from fluxos.system.startupreport import StartupReport
from fluxos.system.supervisor import DEFAULT_BACKOFF, Backoff, Supervisor
from fluxos.system.upnp import MiniupnpcGateway, UpnpService
from fluxos.web.bundle import UiBundles
from fluxos.web.nodestatus import NodeStatus, StatusSources
from fluxos.web.release import TIMEOUT as RELEASE_TIMEOUT
from fluxos.web.release import GithubReleases, UiInstaller
from fluxos.wire.permissions import Authorizer

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


SHUTDOWN_SECONDS = 5.0

BackgroundLoop = Callable[[], Awaitable[None]]


class Node:
    """One Flux node: its settings, services and background loops.

    Build it, then `async with node.running():` to open storage and start the loops; the
    API application (`fluxos.api.app.create_app`) does that in its lifespan.
    """

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
        self._serving = manage_daemons
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
        self._build_apps()

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
            control=_RuntimeControl(self),
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
        self._build_system()
        registry_view = RegistryGlobalApps(self.apps_store, self.clock)
        self._build_runtime(install_specs or registry_view, registry_view)
        self._build_spawner(global_apps or registry_view)
        self._build_app_folders()

    @property
    def settings(self) -> Settings:
        """The settings in force now (adjustments apply without a restart where upstream's
        hot reload does)."""
        return self.live_settings.current

    def _build_system(self) -> None:
        """The node's own routes: info, logs, settings, software control."""
        settings = self.settings
        geo = settings.geolocation
        self.live_settings.on_change(self._settings_changed)
        self.system_http = httpx.AsyncClient(timeout=10)
        # a devnet (embedded, or a `fluxos cluster` node: development) works offline
        devnet = self.daemon.embedded is not None or settings.development
        fallback = f"{settings.ipaddress}:{settings.apiport}" if settings.development else None
        own_address = self.own_address = OwnAddress(self.fluxbench, fallback)
        lookup = geo.lookup if geo.lookup is not None else not devnet
        lookups: list[LocationLookup] = (
            [
                IpApiLookup(self.system_http, geo.ip_api_url),
                FluxStatsLookup(self.system_http, geo.stats_url),
            ]
            if lookup
            else [FixedLocation(geo)]
        )
        self.geolocation = GeolocationService(own_address.get, lookups, self.state, self.clock)
        self.add_background("geolocation", self.geolocation.run)
        self.components = ComponentProbe()
        self.startup_report = StartupReport(
            self.components,
            syncthing_problem=lambda: self.sync.problem,
            syncthing_enabled=lambda: self.sync.enabled,
            clock=self.clock,
        )
        if self._serving:  # `fluxos start`: what an operator must hear about once
            self.add_background("startup report", self.startup_report.run)
        self.fluxd.observer = self.metrics.observe_rpc
        self.fluxbench.observer = self.metrics.observe_rpc
        self.metrics.watch(
            ScrapeSources(
                peers=lambda: (
                    len(self.network.peers.outbound()),
                    len(self.network.peers.inbound()),
                ),
                gossip=lambda: self.network.gossip.stats,
                frames_rate_limited=lambda: self.network.limiter.total_dropped,
                explorer_height=lambda: self.explorer.scanner.scanned_height,
                daemon_height=lambda: self.daemon_liveness.height,
                loops=self.supervisor.status,
                dos_state=lambda: float(self.network.dos.view()["dosState"]),
            )
        )
        network = self.network
        self.info_sources = InfoSources(
            fluxd=self.fluxd,
            fluxbench=self.fluxbench,
            zmq_enabled=self._zmq_enabled,
            version=lambda: self.host.fluxos_version,
            python_version=platform.python_version,
            timezone=self.host.timezone,
            zelid=lambda: self.settings.zelid,
            development=lambda: self.settings.development,
            database_url=lambda: self.settings.database,
            own_ip=own_address.get,
            static_ip=lambda: self.geolocation.static_ip,
            upnp=lambda: self.upnp.is_upnp,
            max_ip_changes=lambda: 0,
            dos=network.dos.view,
            peers=lambda: (len(network.peers.outbound()), len(network.peers.inbound())),
            scanned_height=self.explorer.scanned_height,
            geolocation=self.geolocation_view,
            components=self.components,
            apps=NoAppsRuntime(),
        )
        self._build_web()
        self.software = SoftwareControl(settings.hooks, builtin={"rebuild_ui": self.ui.rebuild})
        self.upnp = self._build_upnp(settings)
        self.add_background("upnp", self.upnp.boot)
        self.system: SystemService = SystemService(
            live=self.live_settings,
            adjuster=SettingsAdjuster(self.live_settings, SettingsFile(settings.data_dir)),
            software=self.software,
            control=self.daemon.control,
            geolocation=self.geolocation,
            clock_drift=ClockDrift(self.clock),
            own_address=own_address,
            info=InfoBuilder(self.info_sources),
            metrics=self.metrics,
            upnp=self.upnp,
            events=self.events,
            chain=ChainStreamer(
                fluxd=self.fluxd,
                hooks=settings.hooks,
                chain_dir=self._fluxd_data_dir,
                embedded=self.daemon.embedded is not None,
            ),
            loops=self.supervisor.status,
        )

    def _build_web(self) -> None:
        """The home port's UI: installed bundles, the rebuild from the release source, and
        the built-in status page's sources."""
        ui = self.settings.ui
        self.ui_bundles = UiBundles(self.settings.data_dir / "ui")
        self.ui_http = httpx.AsyncClient(timeout=RELEASE_TIMEOUT, follow_redirects=True)
        source = GithubReleases(self.ui_http, ui.release_url, ui.asset) if ui.release_url else None
        self.ui = UiInstaller(self.ui_bundles, source, self.ui_http, ui.max_download_bytes)
        auto = ui.auto_update
        if auto is None:
            # as UPnP: never for a devnet or a node on loopback (tests, clusters)
            serving = self._serving and self.daemon.embedded is None
            auto = serving and not is_loopback(self.settings.host)
        if auto and source is not None:
            interval = ui.update_hours * 3600
            self.add_background("ui updates", lambda: self.ui.keep_updated(self.clock, interval))
        network = self.network
        self.node_status = NodeStatus(
            StatusSources(
                version=self.host.package_version,
                compat_version=self.host.fluxos_version,
                owner_zelid=lambda: self.settings.zelid,
                node_address=lambda: network.own_address,
                node_pubkey=lambda: network.key.public_key.hex() if network.key else "",
                uptime=self.host.uptime,
                liveness=self.daemon_liveness,
                fluxd=self.fluxd,
                fluxbench=self.fluxbench,
                tier=self.node_tier,
                peers=lambda: (len(network.peers.outbound()), len(network.peers.inbound())),
                running_apps=self._running_containers if self.apps_enabled else None,
                installed_apps=self.local_apps,
                global_apps=self.app_directory,
                supervisor=self.supervisor,
                log_dir=self.settings.log_dir,
                log_lines=ui.status_log_lines,
            )
        )

    async def _running_containers(self) -> list[dict[str, Any]]:
        return await self.runtime.containers(all=False)

    def _fluxd_data_dir(self) -> Path:
        """Where fluxd keeps its chain: $FLUXD_PATH, its flux.conf's data dir, ~/.flux."""
        if os.environ.get("FLUXD_PATH"):
            return Path(os.environ["FLUXD_PATH"])
        config = self.daemon.fluxd_config
        if config is not None and config.datadir is not None:
            return config.datadir
        return Path.home() / ".flux"

    def _build_upnp(self, settings: Settings) -> UpnpService:
        """UPnP is on where configured; unset, on for a serving node with a real fluxd on a
        public address, never for a devnet or a node on loopback (tests, clusters): SSDP
        discovery multicasts on the machine's network."""
        upnp = settings.upnp
        enabled = upnp.enabled
        if enabled is None:
            enabled = bool(upnp.gateway_url) or (
                self._serving and self.daemon.embedded is None and not is_loopback(settings.host)
            )
        return UpnpService(
            MiniupnpcGateway(upnp) if enabled else None,
            self.clock,
            api_port=lambda: self.settings.apiport,
            router_ip=lambda: self.settings.router_ip,
            stop_node=self.software.restarter.stop,
            router_firewall=lambda: adjust_for_router(self.settings.hooks, self.settings.router_ip),
        )

    def _settings_changed(self, _old: Settings, new: Settings) -> None:
        self.info.settings = new  # the owner's settings routes answer the new values

    async def geolocation_view(self) -> dict[str, Any] | None:
        await self.geolocation.restore()
        return self.geolocation.geolocation

    def _zmq_enabled(self) -> bool:
        embedded = self.daemon.embedded
        config = embedded.fluxd_config if embedded is not None else self.daemon.fluxd_config
        return bool(config and config.zmq_enabled)

    def _build_apps(self) -> None:
        """The apps service: spec checks and prices against Docker registries and Flux's
        public services, at the synced daemon's height (the latest fork's until then)."""
        settings = self.settings
        params = DEVELOPMENT if settings.development else MAINNET
        self.flux_services = FluxServices(
            FluxServiceUrls(
                helpers=settings.flux_helpers_url,
                stats=settings.flux_stats_url,
                rates=settings.flux_rates_url,
                coingecko=settings.coingecko_url,
            ),
            clock=self.clock,
        )
        self.enterprise_nodes = EnterpriseNodes(settings.data_dir, self.flux_services, self.clock)
        self.add_background("enterprise nodes", self.enterprise_nodes.run)
        self.info.enterprise = self.enterprise_nodes
        self.docker_registry = DockerRegistryClient(params, clock=self.clock)
        self.apps_store = AppsStore(self.database)
        directory = RegistryDirectory(self.apps_store)
        self.app_directory = directory
        heights = SyncedDaemonHeight(self.daemon_liveness, LatestForkHeight(params))
        # A devnet registers without the internet: images and lists it cannot fetch do not
        # refuse a registration there (mainnet fails closed).
        images: ImageRegistry = self.docker_registry
        lists: RepositoryLists = self.flux_services
        if settings.development:
            images, lists = DevnetImageRegistry(images), DevnetRepositoryLists(lists)
        checker = AppSpecChecker(
            params,
            directory=directory,
            images=images,
            repository_lists=lists,
            user_blocked_repositories=settings.blocked_repositories,
        )
        self.apps: AppsService = AppsService(
            params,
            checker=checker,
            quoter=PriceQuoter(
                params,
                usd=self.flux_services,
                rates=self.flux_services,
                marketplace=self.flux_services,
            ),
            images=self.docker_registry,
            lists=self.flux_services,
            heights=heights,
            clock=self.clock,
            directory=directory,
            previous_specs=directory,
            user_blocked_repositories=settings.blocked_repositories,
        )
        explorer = self.explorer

        async def price_table() -> tuple[PriceEntry, ...]:
            messages = await explorer.queries.chain_messages("p")
            return flux_price_table(params, [(m.height, m.message) for m in messages])

        checks = MessageChecks(params, directory)
        promoter = Promoter(self.apps_store, params, checks, heights, price_table)
        self.app_registry = AppRegistry(
            self.apps_store,
            params,
            checker=checker,
            network=self.network,
            heights=heights,
            clock=self.clock,
            promoter=promoter,
            checks=checks,
            minimums=PeerMinimums(settings.min_outgoing_peers, settings.min_incoming_peers),
        )
        self.app_registry.subscribe()
        self.app_locations = LocationBook(
            self.apps_store,
            self.clock,
            running_lifetime_ms=int(self.settings.runtime.location_seconds * 1000),
        )
        self.app_locations.subscribe(self.network)
        self.payment_follower = PaymentFollower(
            self.app_registry,
            explorer.events,
            self.network,
            self.clock,
            self.network.http,
            report=lambda detail: self.supervisor.report("apps registry", detail),
        )
        self.add_background("apps registry", self.payment_follower.run)
        enterprise = EnterpriseScores(self.network.state.source, self.apps_store, self.clock)
        self.registry: RegistryService = RegistryService(
            self.app_registry,
            self.app_locations,
            self.payment_follower,
            explorer,
            self.clock,
            enterprise_nodes=enterprise,
        )

    def _build_runtime(
        self, install_specs: InstallableSpecs | None, registry: RegistryGlobalApps
    ) -> None:
        """Apps on Docker: installer, the reconciler (the one thing that starts and stops
        containers by itself) and the routes' service. Without dockerd the node serves on
        and these routes say Docker is unavailable."""
        settings = self.settings
        runtime = settings.runtime
        self.app_volumes = Volumes(
            runtime.apps_dir or settings.data_dir / "apps",
            runtime.volumes_dir or settings.data_dir / "appvolumes",
        )
        # what happens to the containers outside the runtime (/apps/tamperingevents)
        self.tampering = TamperWatch(
            self.docker,
            TamperingStore(self.database),
            self.local_apps,
            self.clock,
            interval=runtime.reconcile_seconds,
            uptime=self.host.system_uptime,
        )
        self.reconciler = Reconciler(
            self.docker,
            self.local_apps,
            self.clock,
            interval=runtime.reconcile_seconds,
            volumes=self.app_volumes,
            observer=self.tampering.observe,
        )
        geolocation = self.geolocation
        network = self.network
        self.app_announcer = NetworkAnnouncer(
            network,
            self.local_apps,
            self.clock,
            own_ip=lambda: network.own_address,
            os_uptime=self.host.system_uptime,
            static_ip=lambda: geolocation.static_ip,
            engine=self.docker,
            interval=runtime.broadcast_seconds,
            record=self._record_own,
        )
        self.installer = Installer(
            self.docker,
            self.local_apps,
            self.app_volumes,
            NodeFactsSource(
                self.node_tier,
                self.own_address.get,
                settings.ipaddress,
                self.app_volumes.volumes_dir,
                static_ip=lambda: geolocation.static_ip,
                datacenter=lambda: bool((geolocation.geolocation or {}).get("dataCenter")),
            ),
            self.clock,
            announcer=self.app_announcer,
            blocked_ports=settings.blocked_ports,
            on_operator_action=self.reconciler.operator_acted,
            # the other Flux nodes the fluxnode list puts on this node's IP
            sibling_ports=SiblingPorts(
                lambda: network.state.nodes, lambda: network.own_address, lambda: network.http
            ),
        )
        self.app_monitor = AppMonitor(
            self.docker, self.local_apps, self.clock, interval=runtime.monitor_seconds
        )
        self.tampering.busy = lambda: self.installer.installing
        self.runtime: RuntimeService = RuntimeService(
            self.docker,
            self.local_apps,
            self.installer,
            self.reconciler,
            self.clock,
            # the global apps registry answers which spec an install means
            specs=install_specs,
            catalogue=registry,
            # global=true: the registry's locations hear the command with the caller's auth
            commands=GlobalCommands(registry, lambda: network.http),
            monitor=self.app_monitor,
            tampering=self.tampering,
            settle_seconds=runtime.settle_seconds,
        )
        # at start: apps whose locations expired while the node was down are removed,
        # before the reconciler brings the others back (runtime.bootrules)
        settled = self.supervisor.condition("apps boot settled")
        self.boot_keeper = BootKeeper(
            self.state,
            self.clock,
            location_seconds=runtime.location_seconds,
            remove_all=self._remove_all_apps,
            settled=settled.set,
        )
        if self.apps_enabled:
            self.add_background("apps boot", self.boot_keeper.run, after=("dockerd reachable",))
            self.add_background(
                "apps reconciler", self.reconciler.run, after=("apps boot settled",)
            )
            self.add_background("apps running broadcast", self.app_announcer.run)
            self.add_background("apps monitoring", self.app_monitor.run)
            self.add_background("apps tampering watch", self.tampering.run)

    async def _remove_all_apps(self, reason: str) -> int:
        specs = await self.local_apps.all()
        for spec in specs:
            log.warning("apps at boot: removing %s (%s)", spec["name"], reason)
            await self.installer.remove(str(spec["name"]), force=True)
        return len(specs)

    async def _record_own(self, envelope: Envelope) -> None:
        """This node's own running/installing/error/removed messages go into its own
        location book too, as upstream stores them before sending."""
        book = self.app_locations
        handlers = {
            "fluxapprunning": book.on_running,
            "fluxappinstalling": book.on_installing,
            "fluxappinstallingerror": book.on_installing_error,
            "fluxappremoved": book.on_removed,
        }
        handler = handlers.get(envelope.type)
        if handler is not None:
            own = ReceivedMessage(
                envelope, object_hash(envelope.data), self.network.own_address, self.clock.millis()
            )
            await handler(own)

    def _build_spawner(self, global_apps: GlobalApps) -> None:
        """This node's share of the global apps (apps.md §10): the spawner and the
        surplus/expiry cleanup, once the registry is ready and Docker answers."""
        runtime = self.settings.runtime
        liveness, network, geolocation = self.daemon_liveness, self.network, self.geolocation

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
            return (
                f"{where.get('continentCode')}_{where.get('countryCode')}_{where.get('regionName')}"
            )

        self.spawner = Spawner(
            global_apps,
            self.installer,
            self.local_apps,
            self.docker,
            self.app_announcer,
            self.installer.facts,
            self.clock,
            height=height,
            own_ip=lambda: network.own_address,
            location=location,
            not_ready=not_ready,
            time_scale=runtime.spawn_time_scale,
            blocked_ports=self.settings.blocked_ports,
            report=lambda detail: self.supervisor.report("apps spawner", detail),
        )
        if not self.apps_enabled:
            return
        reachable = self.supervisor.condition("dockerd reachable")
        self.add_background(
            "dockerd watch", lambda: watch_engine(self.docker, reachable, self.clock)
        )
        ready = self.supervisor.condition("registry ready")
        follower = self.payment_follower

        async def registry_ready() -> None:  # the registry follows the chain's payments
            await follower.ready.wait()
            ready.set()

        self.add_background("registry ready watch", registry_ready)
        if runtime.spawn:
            after = ("registry ready", "dockerd reachable")
            self.add_background("apps spawner", self.spawner.run, after=after)
            self.add_background("apps cleanup", self.spawner.cleanup_loop, after=after)
            self.add_background("apps spec changes", self.spawner.respec_loop, after=after)

    def _build_app_folders(self) -> None:
        """Syncthing folders for the apps' s:/r:/g: volumes (files-and-sync.md §1.5), and
        the gate the reconciler obeys for them. Nothing to replicate without both."""
        self.app_folders: AppFolders | None = None
        self.sync_peers = HttpPeers()
        if not (self.sync.enabled and self.apps_enabled):
            return
        network = self.network

        async def own() -> str:
            # the address this node's fluxapprunning gives (the announcer's `ip`), so the
            # controller finds itself among the registry's locations
            return network.own_address

        self.app_folders = AppFolders(
            self.settings,
            self.sync.client,
            self.sync.device_id,
            RuntimeSyncedApps(
                self.local_apps, self.docker, self.app_volumes, held=self.app_holds.holds
            ),
            RegistryLocations(self.app_locations.locations),
            self.sync_peers,
            self.clock,
            own,
        )
        self.reconciler.gate = self.app_folders
        self.sync.app_folders = self.app_folders
        self.app_holds.sync_pass = self.app_folders.monitor_pass
        self.add_background("syncthing app folders", self.app_folders.run)
        events = FolderEvents(self.sync.client, self.app_folders, self.clock)
        self.add_background("syncthing app events", events.run)

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


class _RuntimeControl:
    """The apps runtime as a backup or restore task stops and starts an app (built before
    the runtime, asked only once it runs)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def stop_app(self, app_name: str) -> None:
        await self.node.runtime.stop_app(app_name)

    async def start_app(self, app_name: str) -> None:
        await self.node.runtime.start_app(app_name)


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
