"""How a node's global apps are wired: spec checks and prices, the registry that follows
the chain's payments, the apps' locations (the part of `fluxos.node.Node` they make)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

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
from fluxos.storage.applocations import AppLocationsStore
from fluxos.storage.apps import AppsStore

if TYPE_CHECKING:
    from fluxos.node import Node

log = logging.getLogger(__name__)


def build_apps(node: Node) -> None:
    """The apps service: spec checks and prices against Docker registries and Flux's
    public services, at the synced daemon's height (the latest fork's until then)."""
    settings = node.settings
    params = DEVELOPMENT if settings.development else MAINNET
    node.flux_services = FluxServices(
        FluxServiceUrls(
            helpers=settings.flux_helpers_url,
            stats=settings.flux_stats_url,
            rates=settings.flux_rates_url,
            coingecko=settings.coingecko_url,
        ),
        clock=node.clock,
    )
    node.enterprise_nodes = EnterpriseNodes(settings.data_dir, node.flux_services, node.clock)
    node.add_background("enterprise nodes", node.enterprise_nodes.run)
    node.info.enterprise = node.enterprise_nodes
    node.docker_registry = DockerRegistryClient(params, clock=node.clock)
    node.apps_store = AppsStore(node.database)
    directory = RegistryDirectory(node.apps_store)
    node.app_directory = directory
    heights = SyncedDaemonHeight(node.daemon_liveness, LatestForkHeight(params))
    # A devnet registers without the internet: images and lists it cannot fetch do not
    # refuse a registration there (mainnet fails closed).
    images: ImageRegistry = node.docker_registry
    lists: RepositoryLists = node.flux_services
    if settings.development:
        images, lists = DevnetImageRegistry(images), DevnetRepositoryLists(lists)
    checker = AppSpecChecker(
        params,
        directory=directory,
        images=images,
        repository_lists=lists,
        user_blocked_repositories=settings.blocked_repositories,
    )
    node.apps = AppsService(
        params,
        checker=checker,
        quoter=PriceQuoter(
            params,
            usd=node.flux_services,
            rates=node.flux_services,
            marketplace=node.flux_services,
        ),
        images=node.docker_registry,
        lists=node.flux_services,
        heights=heights,
        clock=node.clock,
        directory=directory,
        previous_specs=directory,
        user_blocked_repositories=settings.blocked_repositories,
    )
    explorer = node.explorer

    async def price_table() -> tuple[PriceEntry, ...]:
        messages = await explorer.queries.chain_messages("p")
        return flux_price_table(params, [(m.height, m.message) for m in messages])

    checks = MessageChecks(params, directory)
    promoter = Promoter(node.apps_store, params, checks, heights, price_table)
    node.app_registry = AppRegistry(
        node.apps_store,
        params,
        checker=checker,
        network=node.network,
        heights=heights,
        clock=node.clock,
        promoter=promoter,
        checks=checks,
        minimums=PeerMinimums(settings.min_outgoing_peers, settings.min_incoming_peers),
    )
    node.app_registry.subscribe()
    node.app_location_store = AppLocationsStore(node.database)
    node.app_locations = LocationBook(
        node.app_location_store,
        node.clock,
        running_lifetime_ms=int(node.settings.runtime.location_seconds * 1000),
    )
    node.app_locations.subscribe(node.network)
    node.payment_follower = PaymentFollower(
        node.app_registry,
        explorer.events,
        node.network,
        node.clock,
        node.network.http,
        report=lambda detail: node.supervisor.report("apps registry", detail),
    )
    node.add_background("apps registry", node.payment_follower.run)
    enterprise = EnterpriseScores(node.network.state.source, node.apps_store, node.clock)
    node.registry = RegistryService(
        node.app_registry,
        node.app_locations,
        node.payment_follower,
        explorer,
        node.clock,
        enterprise_nodes=enterprise,
    )
