"""The "Benchmark" section: `/benchmark/*` routes forwarding to fluxbenchd (table rows), the
stored benchmark, and the routes that start and restart the bench itself."""

from __future__ import annotations

from typing import Any

from starlette.responses import FileResponse

from fluxos.api.envelope import Message
from fluxos.api.passthrough import register_rows
from fluxos.api.routing import Call, FluxRouter
from fluxos.api.rpcroutes import Target
from fluxos.api.rpctable import RPC_ROUTES

# Transitional: handlers still reach services through the node (issue 11 gives each
# router its own typed service).
router: FluxRouter[Any] = FluxRouter("Benchmark", lambda node: node)
register_rows(router, (row for row in RPC_ROUTES if row.target is Target.FLUXBENCH))


@router.get("/benchmark/getstoredbenchmark", app_param=None)
async def stored_benchmark(call: Call) -> dict[str, Any]:
    """The last benchmark that passed a tier, as this node stored it: `{benchmark, tier}`."""
    return await call.node.stored_benchmark.stored()


@router.get("/benchmark/start", app_param=None)
@router.get("/flux/startbenchmark", app_param=None)
async def start_bench(call: Call) -> Message:
    """Start the benchmark daemon (the embedded bench, or `[hooks] bench_start`)."""
    return Message(await call.node.control.start_bench())


@router.get("/benchmark/restart", app_param=None)
@router.get("/flux/restartbenchmark", app_param=None)
async def restart_bench(call: Call) -> Message:
    """Restart the benchmark daemon (the embedded bench, or `[hooks] bench_restart`)."""
    return Message(await call.node.control.restart_bench())


@router.get("/flux/benchmarkdebug", app_param=None)
async def benchmark_debug(call: Call) -> FileResponse:
    """Download the benchmark daemon's debug.log."""
    path = call.node.bench_log.path()
    return FileResponse(path, filename="debug.log", media_type="text/plain; charset=utf-8")


@router.get("/flux/tailbenchmarkdebug", app_param=None)
async def tail_benchmark_debug(call: Call) -> Message:
    """The last 100 lines of the benchmark daemon's debug.log."""
    return Message(await call.node.bench_log.tail())
