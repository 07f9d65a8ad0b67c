"""The "Daemon" section: every `/daemon/*` route that forwards to fluxd (one table row each,
served by the generic handler), plus the routes that start and stop fluxd itself."""

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
router: FluxRouter[Any] = FluxRouter("Daemon", lambda node: node)
register_rows(router, (row for row in RPC_ROUTES if row.target is Target.FLUXD))


@router.get("/daemon/start", app_param=None)
@router.get("/flux/startdaemon", app_param=None)
async def start_daemon(call: Call) -> Message:
    """Start fluxd (the embedded devnet, or the `[hooks] daemon_start` command)."""
    return Message(await call.node.control.start_daemon())


@router.get("/daemon/restart", app_param=None)
@router.get("/flux/restartdaemon", app_param=None)
async def restart_daemon(call: Call) -> Message:
    """Restart fluxd (the embedded devnet, or the `[hooks] daemon_restart` command)."""
    return Message(await call.node.control.restart_daemon())


@router.get("/daemon/reindex", app_param=None)
@router.get("/flux/reindexdaemon", app_param=None)
async def reindex_daemon(call: Call) -> Message:
    """Reindex fluxd (the embedded devnet rebuilds its indexes; else `[hooks] daemon_reindex`)."""
    return Message(await call.node.control.reindex_daemon())


@router.get("/flux/daemondebug", app_param=None)
async def daemon_debug(call: Call) -> FileResponse:
    """Download fluxd's debug.log (the embedded devnet's output when the node runs it)."""
    path = call.node.daemon_log.path()
    return FileResponse(path, filename="debug.log", media_type="text/plain; charset=utf-8")


@router.get("/flux/taildaemondebug", app_param=None)
async def tail_daemon_debug(call: Call) -> Message:
    """The last 100 lines of fluxd's debug.log."""
    return Message(await call.node.daemon_log.tail())
