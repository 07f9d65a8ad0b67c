"""The "Benchmark" section: `/benchmark/*` routes forwarding to fluxbenchd (table rows), the
stored benchmark, and the routes that start and restart the bench itself."""

from __future__ import annotations

from typing import Any

from starlette.responses import FileResponse

from fluxos.api.envelope import Message
from fluxos.api.passthrough import DaemonCall, register_rows
from fluxos.api.routing import FluxRouter
from fluxos.api.rpctable import RPC_ROUTES
from fluxos.daemon.service import Daemon

router = FluxRouter("Benchmark", lambda node: node.daemon)
register_rows(router, (row for row in RPC_ROUTES if row.target is Daemon.FLUXBENCH))


@router.get("/benchmark/getstoredbenchmark", app_param=None)
async def stored_benchmark(call: DaemonCall) -> dict[str, Any]:
    """The last benchmark that passed a tier, as this node stored it: `{benchmark, tier}`."""
    return await call.service.stored_benchmarks()


@router.get("/benchmark/start", app_param=None)
@router.get("/flux/startbenchmark", app_param=None)
async def start_bench(call: DaemonCall) -> Message:
    """Start the benchmark daemon (the embedded bench, or `[hooks] bench_start`)."""
    return Message(await call.service.start_bench())


@router.get("/benchmark/restart", app_param=None)
@router.get("/flux/restartbenchmark", app_param=None)
async def restart_bench(call: DaemonCall) -> Message:
    """Restart the benchmark daemon (the embedded bench, or `[hooks] bench_restart`)."""
    return Message(await call.service.restart_bench())


@router.get("/flux/benchmarkdebug", app_param=None)
async def benchmark_debug(call: DaemonCall) -> FileResponse:
    """Download the benchmark daemon's debug.log."""
    path = call.service.bench_log.path()
    return FileResponse(path, filename="debug.log", media_type="text/plain; charset=utf-8")


@router.get("/flux/tailbenchmarkdebug", app_param=None)
async def tail_benchmark_debug(call: DaemonCall) -> Message:
    """The last 100 lines of the benchmark daemon's debug.log."""
    return Message(await call.service.bench_log.tail())
