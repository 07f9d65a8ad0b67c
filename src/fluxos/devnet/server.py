"""A running devnet: the engine, one JSON-RPC server per simulated fluxd, the block timer.

    async with Devnet.open(data_dir, nodes=3) as devnet:
        rpc = JsonRpcClient(devnet.endpoints[0].url, devnet.endpoints[0].user, ...)

Servers are uvicorn instances in the caller's event loop, bound to 127.0.0.1; with
`rpc_port=0` each endpoint takes a free port (tests), otherwise consecutive ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from fluxos.chain.outpoint import OutPoint
from fluxos.chain.params import COINBASE_MATURITY, COLLATERAL, CUMULUS, FLUXNODE_MIN_CONFIRMATION
from fluxos.chain.script import script_for_address
from fluxos.clock import Clock, SystemClock
from fluxos.crypto.keys import PrivateKey
from fluxos.devnet.endpoint import Endpoint, FluxnodeConfEntry
from fluxos.devnet.engine import ChainEngine, ProgressCallback
from fluxos.devnet.fluxnodes import CONFIRMED
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.table import async_methods
from fluxos.errors import ConfigError
from fluxos.jsonrpc import JsonRpcServer

log = logging.getLogger(__name__)

SPENDING_MONEY = 10 * 100_000_000  # what each fluxnode endpoint gets besides its collateral
DEFAULT_START_HEIGHT = 2_200_000


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    """How to reach one simulated fluxd."""

    index: int
    url: str
    user: str
    password: str
    rpc_port: int
    data_dir: Path
    conf_path: Path
    fluxnode_ip: str


def _check_port_free(port: int, index: int) -> None:
    """Fail with a clear message before uvicorn would (it exits the process on bind errors)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigError(
                f"rpc_port: 127.0.0.1:{port} (endpoint {index + 1}) is not available: "
                f"{exc.strerror}; pick another --rpc-port"
            ) from exc


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the devnet owns Ctrl-C/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Devnet:
    """One devnet process: shared chain, N endpoints."""

    def __init__(
        self,
        data_dir: Path,
        *,
        rpc_port: int = 16124,
        nodes: int = 1,
        start_height: int = DEFAULT_START_HEIGHT,
        block_time: float | None = None,
        fluxnodes: bool = True,
        clock: Clock | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError(f"nodes must be at least 1, got {nodes}")
        if start_height < 1:
            raise ValueError(f"start_height must be at least 1, got {start_height}")
        if block_time is not None and block_time <= 0:
            raise ValueError(f"block_time must be positive, got {block_time}")
        if not 0 <= rpc_port <= 65535 - nodes:
            raise ValueError(
                f"rpc_port must leave room for {nodes} ports below 65536, got {rpc_port}"
            )
        self.data_dir = data_dir
        self.rpc_port = rpc_port
        self.nodes = nodes
        self.block_time = block_time
        self.fluxnodes = fluxnodes
        self.progress = progress
        self.engine = ChainEngine(data_dir, start_height, clock or SystemClock())
        self.engine.block_time = block_time
        self.stopped = asyncio.Event()
        self.engine.stop_hooks.append(self._stop_requested)
        self._servers: list[_Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        data_dir: Path,
        *,
        rpc_port: int = 16124,
        nodes: int = 1,
        start_height: int = DEFAULT_START_HEIGHT,
        block_time: float | None = None,
        fluxnodes: bool = True,
        clock: Clock | None = None,
        progress: ProgressCallback | None = None,
    ) -> AsyncIterator[Devnet]:
        """Start a devnet for the duration of the block (same options as the constructor)."""
        devnet = cls(
            data_dir, rpc_port=rpc_port, nodes=nodes, start_height=start_height,
            block_time=block_time, fluxnodes=fluxnodes, clock=clock, progress=progress,
        )  # fmt: skip
        try:
            await devnet.start()
            yield devnet
        finally:
            await devnet.stop()

    # ------------------------------------------------------------------ info
    @property
    def endpoints(self) -> list[EndpointInfo]:
        return [
            EndpointInfo(
                e.index,
                e.url,
                e.rpc_user,
                e.rpc_password,
                e.rpc_port,
                e.data_dir,
                e.conf_path,
                e.fluxnode_ip,
            )
            for e in self.engine.endpoints
        ]

    def _endpoint_dir(self, index: int) -> Path:
        return self.data_dir if self.nodes == 1 else self.data_dir / f"node-{index + 1}"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        engine = self.engine
        await engine.call(self._open_chain)
        for endpoint in engine.endpoints:
            _check_port_free(endpoint.rpc_port, endpoint.index)
        if self.fluxnodes:
            await engine.call(self.ensure_fluxnodes)
        for endpoint in engine.endpoints:
            await self._serve(endpoint)
        if self.block_time is not None:
            self._tasks.append(asyncio.create_task(self._block_timer(self.block_time)))
        log.info(
            "devnet running: height %d, %d endpoint(s) from port %d",
            engine.chain.height,
            len(engine.endpoints),
            engine.endpoints[0].rpc_port,
        )

    def _open_chain(self) -> None:
        for index in range(self.nodes):
            port = self.rpc_port + index if self.rpc_port else 0
            self.engine.add_endpoint(index, self._endpoint_dir(index), port)
        self.engine.load()

    async def _serve(self, endpoint: Endpoint) -> None:
        app = JsonRpcServer(
            async_methods(RpcContext(self.engine, endpoint)),
            user=endpoint.rpc_user,
            password=endpoint.rpc_password,
            name=f"devnet-{endpoint.index}",
        ).app
        config = uvicorn.Config(
            app, host="127.0.0.1", port=endpoint.rpc_port, log_level="warning",
            lifespan="off", access_log=False,
        )  # fmt: skip
        server = _Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()  # raises the bind error
                raise RuntimeError(f"devnet endpoint {endpoint.index} stopped while starting")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        if bound != endpoint.rpc_port:
            endpoint.rpc_port = bound
            await self.engine.call(endpoint.write_conf)
        self._servers.append(server)
        self._tasks.append(task)

    async def _block_timer(self, seconds: float) -> None:
        miner = self.engine.endpoints[0]
        while not self.stopped.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), timeout=seconds)
            if self.stopped.is_set():
                return
            try:
                await self.engine.call(self.engine.generate, 1, miner)
            except Exception:
                log.exception("timer block failed; next attempt in %.1f s", seconds)

    def _stop_requested(self) -> None:
        # called on the chain thread by the `stop` RPC
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.stopped.set)

    async def wait_stopped(self) -> None:
        await self.stopped.wait()

    async def stop(self) -> None:
        self.stopped.set()
        self.engine.stopping = True
        for server in self._servers:
            server.should_exit = True
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._servers.clear()
        self._tasks.clear()
        await asyncio.get_running_loop().run_in_executor(None, self.engine.shutdown)
        log.info("devnet stopped at height %d", self.engine.chain.height)

    # ------------------------------------------------------------------ fluxnode network
    def ensure_fluxnodes(self) -> None:
        """Give every endpoint a confirmed CUMULUS fluxnode at 127.0.0.(i+1):16127 (i = 1..N).

        Runs on the chain thread; idempotent: endpoints that already have a node are left alone.
        """
        engine = self.engine
        needing = [e for e in engine.endpoints if not self._has_node(e)]
        if needing:
            self._fund_and_start(needing)
        for _ in range(3):
            if all(self._confirmed(e) for e in engine.endpoints):
                return
            engine.generate(1, engine.endpoints[0], self.progress)
        missing = [e.index for e in engine.endpoints if not self._confirmed(e)]
        if missing:
            log.warning("fluxnodes of endpoints %s are not confirmed yet", missing)

    def _has_node(self, endpoint: Endpoint) -> bool:
        outpoint = endpoint.fluxnode_outpoint
        return (
            endpoint.fluxnode_key is not None
            and outpoint is not None
            and self.engine.fluxnodes.record(outpoint) is not None
        )

    def _confirmed(self, endpoint: Endpoint) -> bool:
        outpoint = endpoint.fluxnode_outpoint
        record = self.engine.fluxnodes.record(outpoint) if outpoint is not None else None
        return record is not None and record.status == CONFIRMED

    def _fund_and_start(self, needing: list[Endpoint]) -> None:
        engine = self.engine
        funder = engine.endpoints[0]
        collateral = COLLATERAL[CUMULUS]
        target = len(needing) * (collateral + SPENDING_MONEY) + 100_000_000
        self._mine_until(funder, target)
        recipients: list[tuple[bytes, int, bool]] = []
        plan: list[tuple[Endpoint, str]] = []
        for endpoint in needing:
            address = endpoint.wallet.new_key(label="fluxnode collateral").address
            spending = endpoint.wallet.new_key().address
            recipients.append((script_for_address(address), collateral, False))
            recipients.append((script_for_address(spending), SPENDING_MONEY, False))
            plan.append((endpoint, address))
        tx, _fee = funder.wallet.create_transaction(recipients)
        txid = funder.wallet.commit(tx, {"comment": "devnet fluxnode collaterals"})
        engine.generate(1, funder, self.progress)
        for endpoint, address in plan:
            script = script_for_address(address)
            n = next(i for i, out in enumerate(tx.vout) if out.script_pubkey == script)
            endpoint.fluxnode_key = PrivateKey.generate(compressed=False)
            endpoint.fluxnode_outpoint = OutPoint(txid, n)
            endpoint.fluxnode_ip = f"127.0.0.{endpoint.index + 2}:16127"
            endpoint.write_conf()
            endpoint.add_fluxnode_conf(
                FluxnodeConfEntry(
                    alias=f"node{endpoint.index + 1}",
                    address=endpoint.fluxnode_ip,
                    privkey=endpoint.fluxnode_key.to_wif(),
                    txid=txid[::-1].hex(),
                    index=str(n),
                )
            )
        engine.generate(FLUXNODE_MIN_CONFIRMATION, funder, self.progress)
        now = int(engine.clock.time())
        for endpoint in needing:
            entry = endpoint.fluxnode_conf()[-1]
            engine.mempool.accept(endpoint.build_start_tx(entry, now))
        engine.generate(1, funder, self.progress)  # start txs; confirmations follow
        log.info("registered fluxnodes for endpoints %s", [e.index for e in needing])

    def _mine_until(self, endpoint: Endpoint, amount: int) -> None:
        engine = self.engine
        wallet = endpoint.wallet
        reward = max(1, engine.miner.coinbase(engine.chain.height + 1, b"", 0).vout[0].value)
        missing = amount - wallet.balance() - wallet.immature_balance()
        if missing > 0:
            engine.generate(math.ceil(missing / reward), endpoint, self.progress)
        for _ in range(COINBASE_MATURITY + 1):
            if wallet.balance() >= amount:
                return
            engine.generate(1, endpoint, self.progress)
        raise RuntimeError(f"endpoint {endpoint.index} could not mine {amount} satoshis")
