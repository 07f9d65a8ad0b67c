"""The "Daemon" section: every `/daemon/*` route that forwards to fluxd (one table row each,
served by the generic handler), plus the routes that start and stop fluxd itself."""

from __future__ import annotations

from starlette.responses import FileResponse

from fluxos.api.envelope import Message
from fluxos.api.passthrough import DaemonCall, register_rows
from fluxos.api.routing import FluxRouter
from fluxos.api.rpctable import RPC_ROUTES
from fluxos.daemon.service import Daemon

router = FluxRouter("Daemon", lambda node: node.daemon)
register_rows(router, (row for row in RPC_ROUTES if row.target is Daemon.FLUXD))


@router.get("/daemon/start", app_param=None)
@router.get("/flux/startdaemon", app_param=None)
async def start_daemon(call: DaemonCall) -> Message:
    """Start fluxd (the embedded devnet, or the `[hooks] daemon_start` command)."""
    return Message(await call.service.start_daemon())


@router.get("/daemon/restart", app_param=None)
@router.get("/flux/restartdaemon", app_param=None)
async def restart_daemon(call: DaemonCall) -> Message:
    """Restart fluxd (the embedded devnet, or the `[hooks] daemon_restart` command)."""
    return Message(await call.service.restart_daemon())


@router.get("/daemon/reindex", app_param=None)
@router.get("/flux/reindexdaemon", app_param=None)
async def reindex_daemon(call: DaemonCall) -> Message:
    """Reindex fluxd (the embedded devnet rebuilds its indexes; else `[hooks] daemon_reindex`)."""
    return Message(await call.service.reindex_daemon())


@router.get("/flux/daemondebug", app_param=None)
async def daemon_debug(call: DaemonCall) -> FileResponse:
    """Download fluxd's debug.log (the embedded devnet's output when the node runs it)."""
    path = call.service.daemon_log.path()
    return FileResponse(path, filename="debug.log", media_type="text/plain; charset=utf-8")


@router.get("/flux/taildaemondebug", app_param=None)
async def tail_daemon_debug(call: DaemonCall) -> Message:
    """The last 100 lines of fluxd's debug.log."""
    return Message(await call.service.daemon_log.tail())
