"""`fluxos bench`: measure this machine (with a progress display), then serve the bench RPC.

The RPC server starts first, so clients get `running` instead of a refused connection
while the measurement goes on. Ctrl-C, SIGTERM and the `stop` RPC all end it the same
way: the server drains, a running measurement stops at its next phase, the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fluxos.bench.daemon import BenchRpc
from fluxos.bench.fluxapi import HttpFluxApiProbe
from fluxos.bench.measure import PHASES
from fluxos.bench.service import Benchmarker
from fluxos.bench.settings import DEFAULT_API_PORT, DEFAULT_RPC_PORT, BenchSettings, NetworkFigures
from fluxos.bench.signing import load_bench_key
from fluxos.bench.store import MeasurementStore
from fluxos.bench.tiers import Tier
from fluxos.chain.fluxconf import FluxConf
from fluxos.clock import SystemClock
from fluxos.errors import ConfigError

log = logging.getLogger(__name__)


def run_bench(
    data_dir: Path,
    rpc_port: int = DEFAULT_RPC_PORT,
    assume_tier: str | None = None,
    *,
    public_ip: str | None = None,
    api_port: int = DEFAULT_API_PORT,
    api_host: str = "127.0.0.1",
    download_speed: float | None = None,
    upload_speed: float | None = None,
    ping: float | None = None,
    cpu_seconds: float = 4.0,
    write_test_mb: int = 512,
    write_test_seconds: float = 4.0,
    disk_kind: str = "auto",
    fluxnode_key_wif: str | None = None,
    flux_conf: Path | None = None,
    remeasure: bool = False,
    console: Console | None = None,
) -> None:
    """Measure (unless a fresh stored result exists) and serve until stopped; blocking.

    `assume_tier` (cumulus/nimbus/stratus) forces the reported tier, for devnets on small
    machines. The bench key is `fluxnode_key_wif`, else flux.conf's `zelnodeprivkey`
    (`flux_conf`), else a key generated into the data dir. Raises ConfigError (naming the
    setting) for bad settings and when the port cannot be bound.
    """
    wif = fluxnode_key_wif or _zelnodeprivkey(flux_conf)
    settings = BenchSettings(
        data_dir=data_dir,
        rpc_port=rpc_port,
        assume_tier=Tier.parse(assume_tier, parameter="assume_tier") if assume_tier else None,
        public_ip=public_ip,
        api_port=api_port,
        api_host=api_host,
        network=NetworkFigures(download_speed, upload_speed, ping),
        cpu_seconds=cpu_seconds,
        write_test_mb=write_test_mb,
        write_test_seconds=write_test_seconds,
        disk_kind=disk_kind,
        fluxnode_key_wif=wif,
    )
    asyncio.run(serve_bench(settings, remeasure=remeasure, console=console or Console(stderr=True)))


def _zelnodeprivkey(flux_conf: Path | None) -> str | None:
    if flux_conf is None:
        return None
    try:
        return FluxConf.read(flux_conf).get("zelnodeprivkey") or None
    except OSError as exc:
        raise ConfigError(f"flux_conf: cannot read {flux_conf}: {exc}") from exc


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the bench stops on its own terms."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_bench(settings: BenchSettings, *, remeasure: bool, console: Console) -> None:
    """The bench daemon's life: bind, measure if needed, serve until `stop` or a signal."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Bind first: a second bench on a taken port fails before touching the data dir.
    listener = _bind(settings)
    with listener, _debug_log(settings.debug_log_path):
        clock = SystemClock()
        key = load_bench_key(settings.key_path, settings.fluxnode_key_wif)
        bench = Benchmarker(settings, MeasurementStore(settings.results_path), clock)
        fresh = False if remeasure else bench.load_stored()
        stopping = asyncio.Event()
        rpc = BenchRpc(
            bench,
            key,
            HttpFluxApiProbe(settings.api_host, settings.api_port),
            clock,
            on_stop=stopping.set,
        )
        server = _QuietServer(
            uvicorn.Config(
                rpc.server().app,
                host=settings.rpc_host,
                port=settings.rpc_port,
                log_level="warning",
                lifespan="off",
                access_log=False,
            )
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        serving = loop.create_task(server.serve(sockets=[listener]), name="bench-rpc")
        refresher: asyncio.Task[None] | None = None
        try:
            await _started(server, serving)
            log.info(
                "bench RPC listening on %s:%d (public key %s)",
                settings.rpc_host,
                settings.rpc_port,
                key.public_key.hex(),
            )
            if settings.assume_tier is not None:
                log.warning("tier forced to %s by configuration", settings.assume_tier.name)
            if not fresh:
                with _RichProgress(console) as progress:
                    bench.start_measuring(progress)
                    await _first_of(bench.wait(), stopping.wait())
            if not stopping.is_set():
                _summary(console, bench, settings)
            refresher = loop.create_task(bench.keep_fresh(), name="bench-refresh")
            await _first_of(stopping.wait(), asyncio.shield(serving))
        finally:
            log.info("bench stopping")
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            if refresher is not None:
                refresher.cancel()
            server.should_exit = True
            await asyncio.gather(serving, return_exceptions=True)
            await bench.aclose()
            log.info("bench stopped")


def _bind(settings: BenchSettings) -> socket.socket:
    """The listening socket, bound here so that a taken port is our error, not uvicorn's exit."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((settings.rpc_host, settings.rpc_port))
    except OSError as exc:
        listener.close()
        raise ConfigError(
            f"rpc_port: cannot listen on {settings.rpc_host}:{settings.rpc_port}: {exc.strerror}"
        ) from None
    return listener


async def _started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    while not server.started:
        if serving.done():
            serving.result()  # re-raise what ended the server
            raise ConfigError("rpc: the bench RPC server stopped while starting")
        await asyncio.sleep(0.05)


async def _first_of(*awaitables: object) -> None:
    tasks = [asyncio.ensure_future(a) for a in awaitables]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()


def _summary(console: Console, bench: Benchmarker, settings: BenchSettings) -> None:
    result = bench.benchmarks()
    line = (
        f"bench: status {result['status']}"
        + (f", eps {result['eps']}" if "eps" in result else "")
        + (f", ddwrite {result['ddwrite']} MB/s" if "ddwrite" in result else "")
        + f"; RPC on {settings.rpc_host}:{settings.rpc_port}"
    )
    console.print(line, highlight=False)
    for extra in ("note", "error"):
        if extra in result:
            console.print(f"bench: {result[extra]}", highlight=False)


class _RichProgress:
    """Measurement phases as a live bar on a terminal, as plain lines elsewhere."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live = console.is_terminal
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._bar.add_task("Benchmarking", total=len(PHASES))
        self._seen = 0

    def __enter__(self) -> _RichProgress:
        if self._live:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live:
            self._bar.stop()

    def phase(self, key: str, description: str) -> None:
        log.info("benchmark: %s", description)
        if self._live:
            self._bar.update(self._task, completed=self._seen, description=description)
        else:
            self._console.print(f"bench: {description}", highlight=False)
        self._seen += 1

    def finished(self) -> None:
        if self._live:
            self._bar.update(self._task, completed=len(PHASES), description="Benchmark done")


@contextlib.contextmanager
def _debug_log(path: Path) -> Iterator[None]:
    """Copy fluxos log records to the bench's debug.log (FluxOS serves it to admins)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("fluxos")
    previous_level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        handler.close()
