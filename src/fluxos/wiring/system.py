"""How a node's own services are wired: info, metrics, geolocation, settings, software
control, UPnP and the home port's UI (the part of `fluxos.node.Node` they make)."""

from __future__ import annotations

import ipaddress
import logging
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from fluxos.config import Settings
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
from fluxos.system.info import InfoBuilder, InfoSources, NoAppsRuntime
from fluxos.system.metrics import ScrapeSources
from fluxos.system.ownaddress import OwnAddress
from fluxos.system.routerfirewall import adjust_for_router
from fluxos.system.service import SystemService
from fluxos.system.settingsfile import SettingsFile
from fluxos.system.software import SoftwareControl
from fluxos.system.startupreport import StartupReport
from fluxos.system.upnp import MiniupnpcGateway, UpnpService
from fluxos.web.bundle import UiBundles
from fluxos.web.nodestatus import NodeStatus, StatusSources
from fluxos.web.release import TIMEOUT as RELEASE_TIMEOUT
from fluxos.web.release import GithubReleases, UiInstaller

if TYPE_CHECKING:
    from fluxos.node import Node

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def build_system(node: Node) -> None:
    """The node's own routes: info, logs, settings, software control."""
    settings = node.settings
    geo = settings.geolocation
    node.live_settings.on_change(lambda old, new: _settings_changed(node, old, new))
    node.system_http = httpx.AsyncClient(timeout=10)
    # a devnet (embedded, or a `fluxos cluster` node: development) works offline
    devnet = node.daemon.embedded is not None or settings.development
    fallback = f"{settings.ipaddress}:{settings.apiport}" if settings.development else None
    own_address = node.own_address = OwnAddress(node.fluxbench, fallback)
    lookup = geo.lookup if geo.lookup is not None else not devnet
    lookups: list[LocationLookup] = (
        [
            IpApiLookup(node.system_http, geo.ip_api_url),
            FluxStatsLookup(node.system_http, geo.stats_url),
        ]
        if lookup
        else [FixedLocation(geo)]
    )
    node.geolocation = GeolocationService(own_address.get, lookups, node.state, node.clock)
    node.add_background("geolocation", node.geolocation.run)
    node.components = ComponentProbe()
    node.startup_report = StartupReport(
        node.components,
        syncthing_problem=lambda: node.sync.problem,
        syncthing_enabled=lambda: node.sync.enabled,
        clock=node.clock,
    )
    if node.serving:  # `fluxos start`: what an operator must hear about once
        node.add_background("startup report", node.startup_report.run)
    node.fluxd.observer = node.metrics.observe_rpc
    node.fluxbench.observer = node.metrics.observe_rpc
    node.metrics.watch(
        ScrapeSources(
            peers=lambda: (
                len(node.network.peers.outbound()),
                len(node.network.peers.inbound()),
            ),
            gossip=lambda: node.network.gossip.stats,
            frames_rate_limited=lambda: node.network.limiter.total_dropped,
            explorer_height=lambda: node.explorer.scanner.scanned_height,
            daemon_height=lambda: node.daemon_liveness.height,
            loops=node.supervisor.status,
            dos_state=lambda: float(node.network.dos.view()["dosState"]),
        )
    )
    network = node.network
    node.info_sources = InfoSources(
        fluxd=node.fluxd,
        fluxbench=node.fluxbench,
        zmq_enabled=lambda: _zmq_enabled(node),
        version=lambda: node.host.fluxos_version,
        python_version=platform.python_version,
        timezone=node.host.timezone,
        zelid=lambda: node.settings.zelid,
        development=lambda: node.settings.development,
        database_url=lambda: node.settings.database,
        own_ip=own_address.get,
        static_ip=lambda: node.geolocation.static_ip,
        upnp=lambda: node.upnp.is_upnp,
        max_ip_changes=lambda: 0,
        dos=network.dos.view,
        peers=lambda: (len(network.peers.outbound()), len(network.peers.inbound())),
        scanned_height=node.explorer.scanned_height,
        geolocation=node.geolocation_view,
        components=node.components,
        apps=NoAppsRuntime(),
    )
    build_web(node)
    node.software = SoftwareControl(settings.hooks, builtin={"rebuild_ui": node.ui.rebuild})
    node.upnp = build_upnp(node, settings)
    node.add_background("upnp", node.upnp.boot)
    node.system = SystemService(
        live=node.live_settings,
        adjuster=SettingsAdjuster(node.live_settings, SettingsFile(settings.data_dir)),
        software=node.software,
        control=node.daemon.control,
        geolocation=node.geolocation,
        clock_drift=ClockDrift(node.clock),
        own_address=own_address,
        info=InfoBuilder(node.info_sources),
        metrics=node.metrics,
        upnp=node.upnp,
        events=node.events,
        chain=ChainStreamer(
            fluxd=node.fluxd,
            hooks=settings.hooks,
            chain_dir=lambda: _fluxd_data_dir(node),
            embedded=node.daemon.embedded is not None,
        ),
        loops=node.supervisor.status,
    )


def build_web(node: Node) -> None:
    """The home port's UI: installed bundles, the rebuild from the release source, and
    the built-in status page's sources."""
    ui = node.settings.ui
    node.ui_bundles = UiBundles(node.settings.data_dir / "ui")
    node.ui_http = httpx.AsyncClient(timeout=RELEASE_TIMEOUT, follow_redirects=True)
    source = GithubReleases(node.ui_http, ui.release_url, ui.asset) if ui.release_url else None
    node.ui = UiInstaller(node.ui_bundles, source, node.ui_http, ui.max_download_bytes)
    auto = ui.auto_update
    if auto is None:
        # as UPnP: never for a devnet or a node on loopback (tests, clusters)
        serving = node.serving and node.daemon.embedded is None
        auto = serving and not is_loopback(node.settings.host)
    if auto and source is not None:
        interval = ui.update_hours * 3600
        node.add_background("ui updates", lambda: node.ui.keep_updated(node.clock, interval))
    network = node.network
    node.node_status = NodeStatus(
        StatusSources(
            version=node.host.package_version,
            compat_version=node.host.fluxos_version,
            owner_zelid=lambda: node.settings.zelid,
            node_address=lambda: network.own_address,
            node_pubkey=lambda: network.key.public_key.hex() if network.key else "",
            uptime=node.host.uptime,
            liveness=node.daemon_liveness,
            fluxd=node.fluxd,
            fluxbench=node.fluxbench,
            tier=node.node_tier,
            peers=lambda: (len(network.peers.outbound()), len(network.peers.inbound())),
            running_apps=(lambda: _running_containers(node)) if node.apps_enabled else None,
            installed_apps=node.local_apps,
            global_apps=node.app_directory,
            supervisor=node.supervisor,
            log_dir=node.settings.log_dir,
            log_lines=ui.status_log_lines,
        )
    )


async def _running_containers(node: Node) -> list[dict[str, Any]]:
    return await node.runtime.containers(all=False)


def _fluxd_data_dir(node: Node) -> Path:
    """Where fluxd keeps its chain: $FLUXD_PATH, its flux.conf's data dir, ~/.flux."""
    if os.environ.get("FLUXD_PATH"):
        return Path(os.environ["FLUXD_PATH"])
    config = node.daemon.fluxd_config
    if config is not None and config.datadir is not None:
        return config.datadir
    return Path.home() / ".flux"


def build_upnp(node: Node, settings: Settings) -> UpnpService:
    """UPnP is on where configured; unset, on for a serving node with a real fluxd on a
    public address, never for a devnet or a node on loopback (tests, clusters): SSDP
    discovery multicasts on the machine's network."""
    upnp = settings.upnp
    enabled = upnp.enabled
    if enabled is None:
        enabled = bool(upnp.gateway_url) or (
            node.serving and node.daemon.embedded is None and not is_loopback(settings.host)
        )
    return UpnpService(
        MiniupnpcGateway(upnp) if enabled else None,
        node.clock,
        api_port=lambda: node.settings.apiport,
        router_ip=lambda: node.settings.router_ip,
        stop_node=node.software.restarter.stop,
        router_firewall=lambda: adjust_for_router(node.settings.hooks, node.settings.router_ip),
    )


def _settings_changed(node: Node, _old: Settings, new: Settings) -> None:
    node.info.settings = new  # the owner's settings routes answer the new values


def _zmq_enabled(node: Node) -> bool:
    embedded = node.daemon.embedded
    config = embedded.fluxd_config if embedded is not None else node.daemon.fluxd_config
    return bool(config and config.zmq_enabled)
