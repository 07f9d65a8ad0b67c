"""In-process Flux nodes on loopback addresses, for protocol tests.

Each `InProcessNode` is a complete `Node` served by its own uvicorn server on
`127.x.y.z:16127` (plus the health port; with `syncthing=True` its real Syncthing listens
on 16129), its fluxd replaced
by a `FluxnodeRegistry` made in the test. Peers talk over real websockets; messages are
really signed and verified. `PeerClient` is a bare websocket peer a test drives by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from websockets.asyncio.client import ClientConnection

from fluxos.api.app import create_app
from fluxos.clock import SystemClock
from fluxos.config import load_settings
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message
from fluxos.identity.client import Signer, login
from fluxos.network.envelope import Envelope
from fluxos.network.service import NetworkService
from fluxos.node import Node
from fluxos.sync.process import stop_syncthing
from fluxos.web.home import HomeServer
from fluxos.wire.jsvalues import stringify
from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.processes import free_loopback_host


async def eventually(
    predicate: Callable[[], Any | Awaitable[Any]], within: float = 20.0, interval: float = 0.05
) -> Any:
    """Await until `predicate` (sync or async) is truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        last = value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s (last value: {last!r})")


class InProcessNode:
    """A node served in this event loop."""

    def __init__(
        self,
        data_dir: Path,
        registry: FluxnodeRegistry,
        *,
        host: str | None = None,
        key: PrivateKey | None = None,
        register: bool = True,
        syncthing: bool = False,
        syncthing_settings: dict[str, Any] | None = None,
        run_apps: bool = False,
        **settings: Any,
    ) -> None:
        self.host = host or free_loopback_host()
        self.address = f"{self.host}:16127"
        self.key = key or PrivateKey.generate()
        self.owner = PrivateKey.generate()  # the node operator's ZelID key: admin privilege
        if register:
            registry.register(self.address, self.key)
        overrides = {
            "ipaddress": self.host,
            "host": self.host,
            "apiport": 16127,
            "development": True,
            "log_console": False,
            "zelid": bitcoin_address(self.owner.public_key),
            **({"syncthing": syncthing_settings} if syncthing_settings else {}),
            **settings,
        }
        self.settings = load_settings(data_dir, overrides, environ={})
        # `syncthing`: the node runs its own real Syncthing (listening on API port + 2, the
        # port peers probe), stopped again by `stop()`: a node never stops its own
        self.syncthing = syncthing
        self.node = Node(
            self.settings,
            network_source=registry.source(self.address),
            node_key=self.key,
            manage_syncthing=syncthing,
            run_apps=run_apps,  # `runtime.docker_host` names the node's own dockerd
        )
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def network(self) -> NetworkService:
        return self.node.network

    @property
    def stopped(self) -> bool:
        """Started once and stopped since (or never started)."""
        return self._server is None

    @property
    def url(self) -> str:
        return f"http://{self.host}:16127"

    async def start(self) -> InProcessNode:
        home = HomeServer(self.host, self.node.settings.home_port)
        self.node.add_background("home port", home.run)
        params = self.network.params
        config = uvicorn.Config(
            create_app(self.node),
            host=self.host,
            port=16127,
            ws="websockets-sansio",
            ws_ping_interval=params.ping_interval,
            ws_ping_timeout=params.ping_interval * params.max_missed_pongs,
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(), name=f"uvicorn {self.host}")
        await eventually(lambda: self._server is not None and self._server.started, within=15)
        return self

    async def stop(self, *, keep_syncthing: bool = False) -> None:
        """Stop the node, and its Syncthing unless `keep_syncthing` (only the node process
        restarts, as `systemctl restart` of the node would: upstream #1238)."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=15)
        self._server = None
        if self.syncthing and not keep_syncthing:
            await stop_syncthing(self.settings.syncthing_home, SystemClock())

    async def get(self, path: str, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(self.url + path, **kwargs)
        return response.json()

    async def admin_headers(self) -> dict[str, str]:
        """Log in as the node's owner (a real login round trip); the `zelidauth` header."""
        owner = self.owner
        signer = Signer(bitcoin_address(owner.public_key), lambda text: sign_message(text, owner))
        credentials = await asyncio.to_thread(login, self.url, signer)
        return {"zelidauth": credentials.header_json()}

    def peer_keys(self) -> set[str]:
        return {peer.key for peer in self.network.peers}


class PeerClient:
    """A websocket peer driven by the test: connects from its own loopback address."""

    def __init__(self, key: PrivateKey | None = None, host: str | None = None) -> None:
        self.key = key or PrivateKey.generate()
        self.host = host or free_loopback_host()
        self.address = f"{self.host}:16127"
        self.ws: ClientConnection | None = None
        self.received: list[Any] = []
        self._reader: asyncio.Task[None] | None = None

    async def connect(
        self, node: InProcessNode | str, headers: dict[str, str] | None = None
    ) -> None:
        target = node.host if isinstance(node, InProcessNode) else node
        self.ws = await websockets.connect(
            f"ws://{target}:16127/ws/flux/16127",
            additional_headers=headers or {},
            local_addr=(self.host, 0),
            ping_interval=None,
            max_size=None,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            async for frame in self.ws:
                self.received.append(json.loads(frame) if isinstance(frame, str) else frame)

    def sign(self, data: dict[str, Any], timestamp_ms: int | None = None) -> Envelope:
        stamp = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        return Envelope.sign(data, self.key, stamp)

    async def send(self, frame: str | dict[str, Any] | Envelope) -> None:
        assert self.ws is not None
        if isinstance(frame, Envelope):
            frame = frame.to_json()
        elif isinstance(frame, dict):
            frame = json.dumps(frame)
        await self.ws.send(frame)

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code if self.ws is not None else None

    async def closed(self) -> bool:
        return self.ws is not None and self._reader is not None and self._reader.done()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


async def start_nodes(
    count: int, tmp_path: Path, registry: FluxnodeRegistry, **settings: Any
) -> list[InProcessNode]:
    """Register `count` nodes in the list first (so each sees all), then start them."""
    nodes = [InProcessNode(tmp_path / f"node-{i}", registry, **settings) for i in range(count)]
    await asyncio.gather(*(node.start() for node in nodes))
    return nodes


async def stop_nodes(nodes: list[InProcessNode]) -> None:
    await asyncio.gather(*(node.stop() for node in nodes), return_exceptions=True)


@contextlib.asynccontextmanager
async def running_nodes(
    count: int, tmp_path: Path, *, connected: bool = False, **settings: Any
) -> AsyncIterator[list[InProcessNode]]:
    """`count` started nodes in one fresh node list, stopped afterwards (`connected`: once
    each holds a peer connection)."""
    nodes = await start_nodes(count, tmp_path, FluxnodeRegistry(), **settings)
    try:
        if connected:
            await eventually(lambda: all(len(n.network.peers) >= 1 for n in nodes), within=30)
        yield nodes
    finally:
        await stop_nodes(nodes)


def signed_body(body: dict[str, Any], key: PrivateKey) -> dict[str, Any]:
    """`body` with `pubKey` and the signature of its JavaScript JSON, as the node-signed
    /flux routes (checkappavailability, keepupnpportsopen) expect."""
    unsigned = {**body, "pubKey": key.public_key.hex()}
    return {**unsigned, "signature": sign_message(stringify(unsigned), key)}
