"""The composition root: builds every service of a node from its settings and runs them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import uvicorn

from fluxos.api.permissions import Authorizer
from fluxos.apps.conflicts import InMemoryDirectory
from fluxos.apps.dockerregistry import DockerRegistryClient
from fluxos.apps.fluxservices import FluxServices, FluxServiceUrls
from fluxos.apps.heights import DaemonHeight, HeightSource, LatestForkHeight, read_flux_conf_rpc
from fluxos.apps.params import DEVELOPMENT, MAINNET
from fluxos.apps.quotes import PriceQuoter
from fluxos.apps.registration import AppSpecChecker
from fluxos.apps.service import AppsService
from fluxos.clock import Clock, SystemClock
from fluxos.config import Settings
from fluxos.crypto import PrivateKey
from fluxos.errors import ConfigError, FluxError
from fluxos.identity import AppOwners, IdentityService, LoginGates, NoAppOwners, PrivilegedIds
from fluxos.identity.gates import DatabaseGate, NodeDosGate
from fluxos.identity.gates import DosState as GateDosState
from fluxos.jsonrpc import JsonRpcClient
from fluxos.network.dos import DosState
from fluxos.network.fluxdsource import FluxdConfig, FluxdNodeSource
from fluxos.network.nodelist import NodeListSource
from fluxos.network.service import NetworkService
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.identity import IdentityStore
from fluxos.storage.nodestate import NodeState
from fluxos.system.hostinfo import HostInfo

log = logging.getLogger(__name__)

BENCH_RPC_PORT = 16224
BENCH_RPC_USER = "fluxbenchuser"
BENCH_RPC_PASSWORD = "fluxbenchpassword"  # noqa: S105 - fluxbenchd's fixed, public credentials
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
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.host = HostInfo(self.clock)
        self.database = Database(settings.database, ALL_AREAS)
        self.state = NodeState(self.database)
        if network_source is None and settings.fluxd_conf is not None:
            # minimal fluxd wiring for the network until the daemon client is composed here
            fluxd = FluxdConfig.read(settings.fluxd_conf, testnet=settings.testnet)
            network_source = FluxdNodeSource(fluxd.client())
            if node_key is None and fluxd.node_key_wif:
                node_key = PrivateKey.from_wif(fluxd.node_key_wif)
        self.network = NetworkService(
            settings,
            clock=self.clock,
            source=network_source,
            key=node_key,
            uptime=self.host.uptime,
        )
        identity_store = IdentityStore(self.database)
        # Login-phrase gates (identity.md §3.2). The database and node DOS gates exist so
        # far; the syncthing, docker, hardware and apps DOS slots are filled in as those
        # areas land.
        self.login_gates = LoginGates(
            database=DatabaseGate(identity_store),
            node_dos=NodeDosGate(_NetworkDos(self.network.dos)),
        )
        self.identity = IdentityService(
            identity_store,
            PrivilegedIds(
                owner=settings.zelid,
                flux_team=settings.flux_team_zelid,
                flux_support_team=settings.flux_support_team_zelid,
            ),
            self.clock,
            self.login_gates,
            # The apps registry will answer who owns an app; until then nobody does.
            app_owners or NoAppOwners(),
        )
        self.authorizer: Authorizer = authorizer or self.identity.authorizer
        self.bench_rpc = JsonRpcClient(
            f"http://127.0.0.1:{BENCH_RPC_PORT}/", BENCH_RPC_USER, BENCH_RPC_PASSWORD, timeout=10
        )
        self._loops: list[tuple[str, BackgroundLoop]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.add_background("identity expiry", self.identity.purge_loop)
        for name, loop in self.network.background_loops():
            self.add_background(name, loop)
        self._build_apps()

    def _build_apps(self) -> None:
        """The apps service: spec checks and prices against Docker registries and Flux's
        public services, at fluxd's height (the latest fork's while fluxd cannot answer)."""
        settings = self.settings
        params = DEVELOPMENT if settings.development else MAINNET
        heights: HeightSource = LatestForkHeight(params)
        self._apps_fluxd: JsonRpcClient | None = None
        if settings.fluxd_conf is not None:
            # until the daemon service is composed here, the apps ask fluxd directly
            try:
                endpoint = read_flux_conf_rpc(settings.fluxd_conf, testnet=settings.testnet)
            except (FluxError, OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"fluxd_conf: {error}") from None
            self._apps_fluxd = endpoint.client()
            heights = DaemonHeight(self._apps_fluxd, fallback=heights)
        self.flux_services = FluxServices(
            FluxServiceUrls(
                helpers=settings.flux_helpers_url,
                stats=settings.flux_stats_url,
                rates=settings.flux_rates_url,
                coingecko=settings.coingecko_url,
            ),
            clock=self.clock,
        )
        self.docker_registry = DockerRegistryClient(params, clock=self.clock)
        directory = InMemoryDirectory()  # the global app registry replaces it
        self.apps = AppsService(
            params,
            checker=AppSpecChecker(
                params,
                directory=directory,
                images=self.docker_registry,
                repository_lists=self.flux_services,
                user_blocked_repositories=settings.blocked_repositories,
            ),
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
            user_blocked_repositories=settings.blocked_repositories,
        )

    def add_background(self, name: str, loop: BackgroundLoop) -> None:
        """Register a long-running coroutine to start with the node and stop with it."""
        self._loops.append((name, loop))

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
        for name, loop in self._loops:
            self._tasks.append(asyncio.create_task(self._supervise(name, loop), name=name))
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
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=SHUTDOWN_SECONDS)
        self._tasks.clear()
        await self.bench_rpc.aclose()
        await self.docker_registry.aclose()
        await self.flux_services.aclose()
        if self._apps_fluxd is not None:
            await self._apps_fluxd.aclose()
        await self.database.close()
        log.info("node stopped")

    async def _supervise(self, name: str, loop: BackgroundLoop) -> None:
        """Run a loop; if it fails, log why and restart it after a pause."""
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task %s failed; restarting it in 5 s", name)
                await asyncio.sleep(5)


class _NetworkDos:
    """The network's DOS state as the login gate reads it."""

    def __init__(self, dos: DosState) -> None:
        self._dos = dos

    async def dos_state(self) -> GateDosState:
        view = self._dos.view()
        return GateDosState(view["dosState"], view["dosMessage"])


def serve(settings: Settings) -> None:
    """Run a node and its API until SIGINT/SIGTERM (blocking)."""
    from fluxos.api.app import create_app

    node = Node(settings)
    for name, loop in node.network.side_port_loops():
        node.add_background(name, loop)
    config = uvicorn.Config(
        create_app(node),
        host=settings.host,
        port=settings.apiport,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        # liveness of inbound peer sockets (ASGI cannot send pings; the server does)
        ws_ping_interval=node.network.params.ping_interval,
        ws_ping_timeout=node.network.params.ping_interval * node.network.params.max_missed_pongs,
        ws_max_size=node.network.params.max_frame_bytes,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(f"fluxos: could not serve on {settings.host}:{settings.apiport}")
