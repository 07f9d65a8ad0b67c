"""The node's own `/flux/*` routes: information, log files, settings adjustments and
software control (spec system.md §2, §3, §5, §6). Handlers parse and call the system
service; the rules live in `fluxos.system`."""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, JSONResponse, Response

from fluxos.api.envelope import JSON_MEDIA_TYPE, Message, render, success_body
from fluxos.api.routing import Call, FluxRouter
from fluxos.api.streams import Streamed
from fluxos.errors import FluxError
from fluxos.events import last_event_id
from fluxos.system.arcane import check_arcane_request
from fluxos.system.chainstream import Refused
from fluxos.system.metrics import CONTENT_TYPE
from fluxos.system.service import SystemService
from fluxos.system.software import RESTARTING
from fluxos.system.upnp import port_number
from fluxos.wire.permissions import Permission

router: FluxRouter[SystemService] = FluxRouter("Flux", lambda node: node.system)
SystemCall = Call[SystemService]
TEXT = "text/plain; charset=utf-8"


# -- information --------------------------------------------------------------------------
@router.get("/flux/info")
async def info(call: SystemCall) -> dict[str, Any]:
    """Everything about the node; a part that fails is null and listed in `errors`."""
    return await call.service.node_info()


@router.get("/flux/ip")
async def ip(call: SystemCall) -> str | None:
    """The node's `ip:port` as the benchmark daemon reports it (null when unknown)."""
    return await call.service.ip()


@router.get("/flux/staticip")
async def static_ip(call: SystemCall) -> bool:
    """Whether the node's IP is judged static."""
    return call.service.static_ip()


@router.get("/flux/geolocation")
async def geolocation(call: SystemCall) -> dict[str, Any] | None:
    """Where the node is (null before the first lookup)."""
    return await call.service.node_geolocation()


@router.get("/flux/pgp")
async def pgp(call: SystemCall) -> str:
    """The node's armored PGP public key ('' when none is configured)."""
    return call.service.pgp_public_key()


@router.get("/flux/clockdrift")
async def clock_drift(call: SystemCall) -> dict[str, Any]:
    """`{source, offset, time}`: the host clock against NTP (chrony or timesyncd)."""
    return await call.service.drift()


@router.get("/flux/currentbranch", permission=Permission.PUBLIC, params=(), cache_seconds=30)
async def current_branch(call: SystemCall) -> str:
    """The git branch the node runs from, else its installed version."""
    source = call.service.source()
    return source.branch or source.version


@router.get("/flux/currentcommitid", permission=Permission.PUBLIC, params=(), cache_seconds=30)
async def current_commit(call: SystemCall) -> str:
    """The git commit the node runs from, else its installed version."""
    source = call.service.source()
    return source.commit or source.version


@router.get("/metrics", permission=Permission.PUBLIC, params=(), app_param=None)
async def metrics(call: SystemCall) -> Response:
    """The node's metrics in the Prometheus text format."""
    return Response(call.service.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/flux/loops", permission=Permission.PUBLIC, params=(), app_param=None)
async def loops(call: SystemCall) -> list[dict[str, object]]:
    """The node's background loops (fluxos only; `fluxos status` prints it): name, state,
    what it waits for, restarts; the last error's text for admins, its type for others."""
    return call.service.loops(with_errors=await call.authorized(Permission.ADMIN))


@router.get("/flux/eventstream", permission=Permission.PUBLIC, params=(), response="stream")
async def event_stream(call: SystemCall) -> Response | Streamed:
    """The node's events as Server-Sent Events (`Last-Event-ID` replays the missed ones);
    404 unless `testEventStream` is on, as upstream."""
    events = call.service.events
    if not events.enabled:
        return JSONResponse(
            {"status": "error", "data": {"message": "Event stream not enabled"}}, status_code=404
        )
    return Streamed(
        events.frames(last_event_id(call.request.headers.get("last-event-id"))),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


# -- log files ----------------------------------------------------------------------------
def _download(call: SystemCall, name: str) -> FileResponse:
    path = call.service.log_path(name)
    return FileResponse(path, filename=f"{name}.log", media_type=TEXT)


@router.get("/flux/debuglog", app_param=None)
async def debug_log(call: SystemCall) -> FileResponse:
    """Download the node's debug.log (every line)."""
    return _download(call, "debug")


@router.get("/flux/infolog", app_param=None)
async def info_log(call: SystemCall) -> FileResponse:
    """Download the node's info.log."""
    return _download(call, "info")


@router.get("/flux/warnlog", app_param=None)
async def warn_log(call: SystemCall) -> FileResponse:
    """Download the node's warn.log."""
    return _download(call, "warn")


@router.get("/flux/errorlog", app_param=None)
async def error_log(call: SystemCall) -> FileResponse:
    """Download the node's error.log."""
    return _download(call, "error")


@router.get("/flux/taildebuglog", app_param=None)
async def tail_debug_log(call: SystemCall) -> Message:
    """The last 100 lines of debug.log."""
    return Message(await call.service.tail_log("debug"))


@router.get("/flux/tailinfolog", app_param=None)
async def tail_info_log(call: SystemCall) -> Message:
    """The last 100 lines of info.log."""
    return Message(await call.service.tail_log("info"))


@router.get("/flux/tailwarnlog", app_param=None)
async def tail_warn_log(call: SystemCall) -> Message:
    """The last 100 lines of warn.log."""
    return Message(await call.service.tail_log("warn"))


@router.get("/flux/tailerrorlog", app_param=None)
async def tail_error_log(call: SystemCall) -> Message:
    """The last 100 lines of error.log."""
    return Message(await call.service.tail_log("error"))


# -- settings -----------------------------------------------------------------------------
@router.get("/flux/adjustkadena", app_param=None)
async def adjust_kadena(call: SystemCall) -> Message:
    """Set the Kadena payout account `kadena:<account>?chainid=<0..20>`."""
    return Message(await call.service.adjust.kadena(call.text("account"), call.text("chainid")))


@router.get("/flux/adjustrouterip", app_param=None)
async def adjust_router_ip(call: SystemCall) -> Message:
    """Set (or, without a value, clear) the LAN router IP."""
    return Message(await call.service.adjust.router_ip(call.text("routerip")))


@router.get("/flux/adjustapiport", app_param=None)
async def adjust_api_port(call: SystemCall) -> Message:
    """Set the API port (one of 16127, 16137, … 16197); takes effect at the next start."""
    return Message(await call.service.adjust.api_port(call.text("apiport")))


@router.post("/flux/adjustblockedports", app_param=None)
async def adjust_blocked_ports(call: SystemCall) -> Message:
    """Set the ports apps may not use: body `{"blockedPorts": [int, …]}` (at most 100)."""
    return Message(await call.service.adjust.blocked_ports(call.body))


@router.post("/flux/adjustblockedrepositories", app_param=None)
async def adjust_blocked_repositories(call: SystemCall) -> Message:
    """Set the image repositories apps may not use: `{"blockedRepositories": [str, …]}`."""
    return Message(await call.service.adjust.blocked_repositories(call.body))


# -- software control ---------------------------------------------------------------------
@router.get("/flux/restart", app_param=None)
async def restart(call: SystemCall) -> Response:
    """Restart FluxOS; the reply goes out before the restart begins."""
    return Response(
        render(success_body(RESTARTING)),
        media_type=JSON_MEDIA_TYPE,
        background=BackgroundTask(call.service.restart),
    )


def _software(hook: str, doc: str) -> Any:
    async def handler(call: SystemCall) -> Message:
        return Message(await call.service.run_software_action(hook))

    handler.__doc__ = doc
    handler.__name__ = hook
    return handler


for _path, _hook, _doc in (
    ("/flux/updateflux", "update_flux", "Update FluxOS (the `[hooks] update_flux` command)."),
    ("/flux/softupdateflux", "soft_update_flux", "Soft-update FluxOS (`[hooks]`)."),
    (
        "/flux/softupdatefluxinstall",
        "soft_update_flux_install",
        "Soft-update FluxOS with installation (`[hooks]`).",
    ),
    ("/flux/hardupdateflux", "hard_update_flux", "Hard-update FluxOS (`[hooks]`)."),
    ("/flux/rebuildhome", "rebuild_ui", "Rebuild the UI (8.18 calls it rebuildui)."),
    ("/flux/entermaster", "enter_master", "Switch to the master release (`[hooks]`)."),
    ("/flux/enterdevelopment", "enter_development", "Switch to development (`[hooks]`)."),
):
    router.get(_path, app_param=None)(_software(_hook, _doc))
router.get("/flux/rebuildui", app_param=None, permission=Permission.ADMINANDFLUXTEAM, params=())(
    _software("rebuild_ui", "Rebuild the UI (`[hooks] rebuild_ui`).")
)


@router.get("/flux/updatedaemon", app_param=None)
async def update_daemon(call: SystemCall) -> Message:
    """Update fluxd (the embedded devnet restarts on the installed code; else `[hooks]`)."""
    return Message(await call.service.update_daemon())


@router.get("/flux/updatebenchmark", app_param=None)
async def update_benchmark(call: SystemCall) -> Message:
    """Update the benchmark daemon (the embedded bench restarts; else `[hooks]`)."""
    return Message(await call.service.update_bench())


# -- UPnP (§7) ----------------------------------------------------------------------------
@router.get("/flux/mapport/:port?", app_param=None)
async def map_port(call: SystemCall) -> Message:
    """Map a port (TCP and UDP) on the gateway to this node."""
    return Message(await call.service.upnp.map_port(port_number(call.text("port"))))


@router.get("/flux/unmapport/:port?", app_param=None)
async def unmap_port(call: SystemCall) -> Message:
    """Remove a port's TCP and UDP mappings from the gateway."""
    return Message(await call.service.upnp.unmap_port(port_number(call.text("port"))))


@router.get("/flux/getmap", app_param=None)
async def get_map(call: SystemCall) -> list[dict[str, Any]]:
    """The gateway's port mappings."""
    return await call.service.upnp.mapping_views()


@router.get("/flux/getip", app_param=None)
async def get_ip(call: SystemCall) -> str:
    """The gateway's external IP address."""
    return await call.service.upnp.external_ip()


@router.get("/flux/getgateway", app_param=None)
async def get_gateway(call: SystemCall) -> dict[str, str]:
    """`{gateway: <control URL>, address: <this node's LAN address>}`."""
    return await call.service.upnp.gateway_view()


@router.get("/flux/allowport/:port?", app_param=None)
async def allow_port_route(call: SystemCall) -> Response:
    """Open a port in the host firewall (`[hooks] allow_port`, e.g. ufw)."""
    port = call.text("port")
    if port is None or port == "":
        raise FluxError("No Port address specified.")
    opened = await call.service.allow_port(port)
    body = {"status": "success", "data": {"code": port, "name": port, "message": opened.message}}
    return Response(render(body), media_type=JSON_MEDIA_TYPE)


# -- chain streaming (§8) -----------------------------------------------------------------
def _refused(refused: Refused) -> Response:
    return Response(refused.message, status_code=refused.status, media_type=TEXT)


@router.get("/flux/streamchainpreparation", params=())
async def stream_chain_preparation(call: SystemCall) -> Response | Message:
    """Stop fluxd so its chain can be streamed (callers on a private address only)."""
    try:
        return Message(await call.service.chain.prepare(call.client_ip))
    except Refused as refused:
        return _refused(refused)


@router.post("/flux/streamchain", response="stream", max_body=4096)
async def stream_chain(call: SystemCall) -> Response | Streamed:
    """fluxd's determ_zelnodes, chainstate and blocks as one tar (`{compress: true}`: gzip;
    `{unsafe: true}`: while fluxd runs)."""
    body = call.body if isinstance(call.body, dict) else {}
    try:
        chain = await call.service.chain.stream(call.client_ip, body)
    except Refused as refused:
        return _refused(refused)
    return Streamed(
        chain.chunks,
        media_type="application/gzip" if chain.compressed else "application/x-tar",
        headers={"approx-content-length": str(chain.approx_length)},
    )


# -- ArcaneOS ------------------------------------------------------------------------------
def _secure(call: SystemCall) -> bool:
    # as upstream's req.secure without 'trust proxy': X-Forwarded-Proto is not believed
    return call.request.url.scheme == "https"


@router.get("/arcane/authchallenge")
async def arcane_auth_challenge(call: SystemCall) -> None:
    """ArcaneOS only, over HTTPS: a challenge from flux-configd."""
    check_arcane_request(_secure(call))


@router.post("/arcane/configsync")
async def arcane_config_sync(call: SystemCall) -> None:
    """ArcaneOS only, over HTTPS: a signed config handed to flux-configd."""
    check_arcane_request(_secure(call))
