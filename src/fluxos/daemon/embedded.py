"""The embedded default: a node with no fluxd of its own runs `fluxos devnet` and
`fluxos bench` as supervised children, with their data under its data dir, and points its
RPC clients at them.

The devnet is asked for fluxd's port (16124) and the bench for fluxbenchd's (16224); when
another program holds one, a free port is used instead, so several nodes (or test runs)
on one machine do not collide. The devnet writes its flux.conf (credentials, fluxnode
key); the node reads it each time the devnet has (re)started.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys

from fluxos.chain.fluxd import FLUXBENCH_CREDENTIALS, FLUXBENCH_RPC_PORT, FluxdConfig
from fluxos.chain.rpcclient import DaemonClient, RpcEndpoint
from fluxos.config import Settings
from fluxos.errors import FluxError
from fluxos.system.children import ChildFailed, ChildProcess, ChildSpec

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEVNET = "fluxd"
BENCH = "fluxbench"
# the embedded bench measures briefly: it only has to tell a tier on a developer machine
BENCH_MEASURE_ARGS = ("--cpu-seconds", "1", "--write-mb", "64", "--write-seconds", "1")


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int, host: str = LOOPBACK) -> int:
    """`preferred` when it is free, else any free port."""
    if port_is_free(preferred, host):
        return preferred
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class EmbeddedDaemons:
    """The node's own devnet and bench, and the two clients that talk to them."""

    def __init__(self, settings: Settings, fluxd: DaemonClient, fluxbench: DaemonClient) -> None:
        self.settings = settings
        self.fluxd = fluxd
        self.fluxbench = fluxbench
        self.devnet_dir = settings.data_dir / "devnet"
        self.bench_dir = settings.data_dir / "bench"
        self.conf_path = self.devnet_dir / "flux.conf"
        self.devnet_port = settings.daemon.devnet_rpc_port
        self.bench_port = settings.benchmark.rpc_port or FLUXBENCH_RPC_PORT
        self.fluxd_config: FluxdConfig | None = None
        timeout = settings.daemon.ready_timeout
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.devnet = ChildProcess(
            ChildSpec(
                name="devnet",
                argv=self._devnet_argv,
                # fluxd keeps debug.log beside its flux.conf; /flux/daemondebug serves it
                log_path=self.devnet_dir / "debug.log",
                ready=self._devnet_answers,
                env=env,
            ),
            ready_timeout=timeout,
        )
        self.bench = ChildProcess(
            ChildSpec(
                name="bench",
                argv=self._bench_argv,
                log_path=settings.log_dir / "bench.log",
                ready=self._bench_answers,
                env=env,
            ),
            ready_timeout=timeout,
        )
        fluxd.configure(None, "fluxd (the embedded devnet) is starting")
        fluxbench.configure(None, "fluxbench (the embedded bench) is starting")

    def child(self, target: str) -> ChildProcess:
        """The child behind an RPC target (`fluxd` → the devnet, `fluxbench` → the bench)."""
        return self.devnet if target == DEVNET else self.bench

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start both and wait until they answer. A child that fails to come up is logged
        and left to its supervisor; the node serves regardless (routes say fluxd is down)."""
        try:
            await self.start_devnet()
        except ChildFailed as error:
            log.error("embedded devnet: %s", error)
        try:
            await self.start_bench()
        except ChildFailed as error:
            log.error("embedded bench: %s", error)

    async def stop(self) -> None:
        await asyncio.gather(self.bench.stop(), self.devnet.stop())
        self.fluxd.configure(None, "fluxd (the embedded devnet) is stopped")
        self.fluxbench.configure(None, "fluxbench (the embedded bench) is stopped")

    async def start_devnet(self, extra_args: list[str] | None = None) -> None:
        if not self.devnet.running:
            self.devnet_port = pick_port(self.devnet_port)
        await self.devnet.start(extra_args)

    async def restart_devnet(self, extra_args: list[str] | None = None) -> None:
        await self.devnet.stop()
        await self.start_devnet(extra_args)

    async def start_bench(self) -> None:
        if not self.bench.running:
            self.bench_port = pick_port(self.bench_port)
            self.fluxbench.configure(self._bench_endpoint())
        await self.bench.start()

    async def restart_bench(self) -> None:
        await self.bench.stop()
        await self.start_bench()

    # -- the children ---------------------------------------------------------------------
    def _devnet_argv(self) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "fluxos.devnet",
            "--data-dir",
            str(self.devnet_dir),
            "--rpc-port",
            str(self.devnet_port),
        ]
        block_time = self.settings.daemon.devnet_block_time
        if block_time > 0:
            argv += ["--block-time", f"{block_time:g}"]
        return argv

    def _bench_argv(self) -> list[str]:
        settings = self.settings
        argv = [
            sys.executable,
            "-m",
            "fluxos.bench",
            "--data-dir",
            str(self.bench_dir),
            "--rpc-port",
            str(self.bench_port),
            "--ip",
            settings.ipaddress,
            "--api-port",
            str(settings.apiport),
            "--api-host",
            settings.host,
            *BENCH_MEASURE_ARGS,
        ]
        if settings.benchmark.assume_tier:
            argv += ["--assume-tier", settings.benchmark.assume_tier]
        if self.conf_path.is_file():
            argv += ["--flux-conf", str(self.conf_path)]  # the bench signs with the node key
        return argv

    def _bench_endpoint(self) -> RpcEndpoint:
        user, password = FLUXBENCH_CREDENTIALS
        return RpcEndpoint(f"http://{LOOPBACK}:{self.bench_port}/", user, password)

    async def _devnet_answers(self) -> bool:
        """Read the devnet's flux.conf (it writes it on every start), point the fluxd client
        at it and ask for the block count."""
        if not self.conf_path.is_file():
            return False
        try:
            config = FluxdConfig.read(self.conf_path, testnet=self.settings.testnet, host=LOOPBACK)
        except (OSError, ValueError) as error:
            log.debug("devnet flux.conf not readable yet: %s", error)
            return False
        if config.endpoint.url != f"http://{LOOPBACK}:{self.devnet_port}/":
            return False  # last run's file; the devnet has not rewritten it yet
        self.fluxd_config = config
        self.fluxd.configure(config.endpoint)
        try:
            await self.fluxd.call("getblockcount", use_cache=False)
        except FluxError:
            return False
        return True

    async def _bench_answers(self) -> bool:
        try:
            await self.fluxbench.call("getstatus")
        except FluxError:
            return False
        return True
