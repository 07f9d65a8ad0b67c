"""The daemon service: fluxd and the benchmark daemon as the rest of the node and the API
see them (spec daemon.md, system.md §3, §5).

It owns the two RPC clients, the embedded devnet and bench when the node runs them, the
start/restart/reindex controls, both debug logs and the stored benchmark. The `/daemon/*`
and `/benchmark/*` routes (passthrough rows included) are served by it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from fluxos.chain.fluxd import (
    FluxdConfig,
    discover_flux_conf,
    flux_conf_candidates,
    fluxbench_client,
    fluxbench_endpoint,
    fluxd_client,
)
from fluxos.chain.rpcclient import DaemonClient
from fluxos.clock import Clock
from fluxos.config import Settings
from fluxos.daemon.benchmarks import StoredBenchmark
from fluxos.daemon.control import ProcessControl
from fluxos.daemon.embedded import EmbeddedDaemons
from fluxos.daemon.logs import DaemonLog, bench_log, daemon_log
from fluxos.errors import ConfigError, FluxError
from fluxos.storage.nodestate import NodeState

log = logging.getLogger(__name__)

Loop = Callable[[], Awaitable[None]]


class Daemon(StrEnum):
    """Which daemon a call goes to (also the embedded child's name)."""

    FLUXD = "fluxd"
    FLUXBENCH = "fluxbench"


class DaemonService:
    """fluxd and fluxbenchd: RPC, process control, debug logs, the stored benchmark."""

    def __init__(
        self,
        *,
        fluxd: DaemonClient,
        fluxbench: DaemonClient,
        control: ProcessControl,
        daemon_log: DaemonLog,
        bench_log: DaemonLog,
        stored_benchmark: StoredBenchmark,
        fluxd_config: FluxdConfig | None = None,
        embedded: EmbeddedDaemons | None = None,
    ) -> None:
        self.fluxd = fluxd
        self.fluxbench = fluxbench
        self.control = control
        self.daemon_log = daemon_log
        self.bench_log = bench_log
        self.stored_benchmark = stored_benchmark
        self.fluxd_config = fluxd_config
        self.embedded = embedded

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock,
        state: NodeState,
        home: Path,
        manage_daemons: bool,
    ) -> DaemonService:
        """fluxd from flux.conf (`fluxd_conf`, `~/.flux/flux.conf`, `~/.zelcash/zelcash.conf`);
        with none found and `manage_daemons`, the embedded devnet and bench (unless
        `[daemon] embedded = false`), else a fluxd client that says why it is not there."""
        conf_path = discover_flux_conf(settings.fluxd_conf, home)
        fluxd_config: FluxdConfig | None = None
        if conf_path is not None:
            try:
                fluxd_config = FluxdConfig.read(
                    conf_path, testnet=settings.testnet, host=settings.daemon.host
                )
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"fluxd_conf: cannot read {conf_path}: {error}") from None
        fluxd = fluxd_client(clock, fluxd_config)
        fluxbench = fluxbench_client()
        embedded: EmbeddedDaemons | None = None
        bench_dir = settings.benchmark.bench_dir or home / ".fluxbenchmark"
        if conf_path is not None:
            endpoint = fluxd_config.endpoint.url if fluxd_config else "?"
            log.info("fluxd: using %s (%s)", conf_path, endpoint)
        elif manage_daemons and settings.daemon.embedded:
            embedded = EmbeddedDaemons(settings, fluxd, fluxbench)
        else:
            looked = ", ".join(str(p) for p in flux_conf_candidates(home))
            fluxd.configure(
                None,
                f"fluxd is not configured: no flux.conf found ({looked}) and this node does "
                "not run the embedded devnet",
            )
        if embedded is None:
            fluxbench.configure(
                fluxbench_endpoint(
                    testnet=settings.testnet,
                    bench_dir=bench_dir,
                    port=settings.benchmark.rpc_port,
                    host=settings.daemon.host,
                )
            )
            logs = (
                daemon_log(fluxd_config.datadir if fluxd_config else None),
                bench_log(bench_dir),
            )
        else:
            logs = (daemon_log(embedded.devnet_dir), bench_log(embedded.bench_dir))
        return cls(
            fluxd=fluxd,
            fluxbench=fluxbench,
            control=ProcessControl(embedded, settings.hooks, conf_path),
            daemon_log=logs[0],
            bench_log=logs[1],
            stored_benchmark=StoredBenchmark(state, clock),
            fluxd_config=fluxd_config,
            embedded=embedded,
        )

    def background_loops(self) -> list[tuple[str, Loop]]:
        """The embedded devnet and bench start beside the API: until they answer, the
        daemon routes say they are starting."""
        if self.embedded is None:
            return []
        return [("embedded-daemons", self.embedded.start)]

    # -- RPC -----------------------------------------------------------------------------
    def client(self, daemon: Daemon) -> DaemonClient:
        return self.fluxd if daemon is Daemon.FLUXD else self.fluxbench

    async def call(
        self,
        daemon: Daemon,
        method: str,
        params: Sequence[Any] = (),
        *,
        fresh: bool = False,
        stops: Daemon | None = None,
    ) -> Any:
        """Call `method` on `daemon` (cached unless `fresh`); fluxd's own errors raise as
        they are. A call that `stops` a daemon the node runs first tells its supervisor
        not to restart it (taken back if the call fails)."""
        if stops is not None:
            self.control.expect_exit(stops.value)
        try:
            result = await self.client(daemon).call(method, *params, use_cache=not fresh)
        except FluxError:
            if stops is not None:
                self.control.expect_exit(stops.value, expected=False)
            raise
        return result

    async def tip_height(self, daemon: Daemon = Daemon.FLUXD) -> int:
        """The chain tip's height as `daemon` reports it (`getblockcount`)."""
        return int(await self.client(daemon).call("getblockcount"))

    async def remember_benchmark(self, benchmarks: Any) -> None:
        """Keep a `getbenchmarks` answer that passed a tier (at most once a day)."""
        await self.stored_benchmark.remember(benchmarks)

    async def stored_benchmarks(self) -> dict[str, Any]:
        """The last benchmark that passed a tier, as this node stored it: `{benchmark, tier}`."""
        return await self.stored_benchmark.stored()

    # -- process control -----------------------------------------------------------------
    async def start_daemon(self) -> str:
        return await self.control.start_daemon()

    async def restart_daemon(self) -> str:
        return await self.control.restart_daemon()

    async def reindex_daemon(self) -> str:
        return await self.control.reindex_daemon()

    async def start_bench(self) -> str:
        return await self.control.start_bench()

    async def restart_bench(self) -> str:
        return await self.control.restart_bench()

    # -- lifecycle -----------------------------------------------------------------------
    async def close(self) -> None:
        if self.embedded is not None:
            await self.embedded.stop()
        await self.fluxd.aclose()
        await self.fluxbench.aclose()
