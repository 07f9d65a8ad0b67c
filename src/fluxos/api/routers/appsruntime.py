"""The "Apps" routes of apps running here (`/apps/*`): install and remove, operator
control, inspection and the container inventory. Served by `node.runtime`.

Without a Docker engine every route answers the error envelope saying Docker is not
available (HTTP 503 with Retry-After); the rest of the node serves on.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from fluxos.api.envelope import Message, json_response
from fluxos.api.routing import Call, FluxRouter
from fluxos.api.streams import Streamed
from fluxos.errors import BadParameter, Unauthorized
from fluxos.runtime.logpolling import line_count
from fluxos.runtime.service import RuntimeService
from fluxos.wire.permissions import Permission

router = FluxRouter("Apps", lambda node: node.runtime)
Runtime = Call[RuntimeService]
MAX_EXEC_OUTPUT = 64 * 1024 * 1024


def _appname(call: Runtime) -> str:
    name = call.require("appname")
    if not name.replace("_", "").isalnum():
        raise BadParameter(f"appname must be letters and digits (component_app), got {name!r}")
    return name


async def _global(call: Runtime, command: str, *extra: str) -> bool:
    """With `global=true`, forward the command to every node running the app (the
    caller's own zelidauth goes along); False when the command is for this node."""
    if not call.boolean("global", default=False):
        return False
    commands = call.service.commands
    if commands is None:
        raise BadParameter(
            f"global={call.text('global')} needs the global apps registry, which this node"
            " does not run"
        )
    await commands.send(command, _appname(call), call.zelidauth, *extra)
    return True


# -- inventory (§9) --------------------------------------------------------------------------
@router.get("/apps/listrunningapps")
async def list_running(call: Runtime) -> list[dict[str, Any]]:
    """Running Flux app containers (Docker summaries without host config and mounts)."""
    return await call.service.containers(all=False)


@router.get("/apps/listallapps")
async def list_all(call: Runtime) -> list[dict[str, Any]]:
    """All Flux app containers, running or not."""
    return await call.service.containers(all=True)


@router.get("/apps/listappsimages")
async def list_images(call: Runtime) -> list[dict[str, Any]]:
    """Docker's image list."""
    return await call.service.images()


@router.get("/apps/availableapps")
async def available(call: Runtime) -> list[dict[str, Any]]:
    """The global specs, then the specs installed here."""
    return await call.service.available()


@router.get("/apps/fluxusage")
async def flux_usage(call: Runtime) -> dict[str, Any]:
    """Installed, running and stopped apps, and the node's cores, RAM (MB), disk (GB)."""
    return await call.service.usage()


@router.get("/apps/appsresources")
async def apps_resources(call: Runtime) -> dict[str, float]:
    """CPU, RAM and disk the installed apps hold at this node's tier."""
    return await call.service.resources()


@router.get("/apps/createfluxnetwork")
async def create_flux_network(call: Runtime) -> Any:
    """Create upstream's shared `fluxDockerNetwork` unless it exists."""
    return await call.service.create_flux_network()


@router.get("/apps/tamperingevents/:appname?")
async def tampering_events(call: Runtime) -> list[dict[str, Any]]:
    """What happened to the apps' containers outside the runtime, newest incident first
    (`limit` 1-1000, default 500)."""
    requested = call.text("limit")
    try:
        limit = min(max(int(requested), 1), 1000) if requested is not None else 500
    except ValueError:
        limit = 500  # upstream: an unparsable limit is the default
    name = call.text("appname")
    if name is not None:
        name = _appname(call)
    return await call.service.tampering_events(name, limit)


@router.get("/flux/portsinuse", permission=Permission.PUBLIC, params=())
async def ports_in_use(call: Runtime) -> list[int]:
    """Host ports of the apps installed here (upstream 8.18): other Flux nodes on this IP
    ask before they install."""
    return await call.service.ports_in_use()


@router.get("/apps/installedapps/:appname?")
async def installed(call: Runtime) -> list[dict[str, Any]]:
    """Specs of the apps installed on this node (exact name filter)."""
    return await call.service.installed(call.text("appname"))


# -- install and remove (§11.2, §11.7) -----------------------------------------------------------
async def _install_target(call: Runtime) -> dict[str, Any]:
    # Upstream lets any signed-in user install the app of a temporary message; that
    # needs the registry's temporary messages, so until they are here only the node's
    # admin and the Flux team install.
    if not await call.authorized(Permission.ADMINANDFLUXTEAM):
        raise Unauthorized()
    return await call.service.install_by_name(_appname(call))


@router.get("/apps/installapplocally/:appname?", response="stream")
async def install_locally(call: Runtime) -> Streamed:
    """Install an app here (name or message hash); progress streamed as status objects."""
    spec = await _install_target(call)
    return Streamed(await call.service.install_stream(spec), media_type="application/json")


@router.get("/apps/testappinstall/:appname?", response="stream")
async def test_install(call: Runtime) -> Streamed:
    """Install an app with minimal resources and no ports, then remove it (streamed)."""
    spec = await _install_target(call)
    return Streamed(await call.service.test_install_stream(spec), media_type="application/json")


@router.get("/apps/appremove/:appname?/:force?/:global?", response="stream")
async def remove(call: Runtime) -> Streamed | Message:
    """Remove an app from this node: containers, volumes, network, image; streamed."""
    name = _appname(call)
    force = bool(call.boolean("force", default=False))
    if "_" in name:
        raise BadParameter("Components cannot be removed manually")
    if await _global(call, "appremove", *(["true"] if force else [])):
        return Message(f"{name} queried for global reinstallation")
    chunks = await call.service.remove_stream(name, force=force)
    return Streamed(chunks, media_type="application/json")


@router.get("/apps/redeploy/:appname?/:force?/:global?", response="stream")
async def redeploy(call: Runtime) -> Streamed | Message:
    """Make the app's containers again: soft keeps the data, force (hard) new volumes too."""
    name = _appname(call)
    if "_" in name:
        raise BadParameter("Component cannot be redeployed manually")
    force = bool(call.boolean("force", default=False))
    if await _global(call, "redeploy", "true" if force else "false"):
        return Message(f"{name} queried for global {'hard' if force else 'soft'} redeploy")
    chunks = await call.service.redeploy_stream(name, force=force)
    return Streamed(chunks, media_type="application/json")


@router.get("/apps/redeploycomponent/:appname?/:component?/:force?", response="stream")
async def redeploy_component(call: Runtime) -> Streamed:
    """Make one component's container again (soft), or with a new volume (force)."""
    name = _appname(call)
    component = call.require("component")
    if not component.isalnum():
        raise BadParameter(f"component must be letters and digits, got {component!r}")
    force = bool(call.boolean("force", default=False))
    chunks = await call.service.redeploy_stream(name, force=force, component=component)
    return Streamed(chunks, media_type="application/json")


# -- control (§11.7) ---------------------------------------------------------------------------
@router.get("/apps/appstart/:appname?/:global?")
async def start(call: Runtime) -> Message:
    """Start an app or component; clears an operator stop."""
    if await _global(call, "appstart"):
        return Message(f"{_appname(call)} queried for global start")
    return Message(await call.service.start(_appname(call)))


@router.get("/apps/appstop/:appname?/:global?")
async def stop(call: Runtime) -> Message:
    """Stop an app or component; it stays stopped (across node restarts) until started."""
    if await _global(call, "appstop"):
        return Message(f"{_appname(call)} queried for global stop")
    return Message(await call.service.stop(_appname(call)))


@router.get("/apps/apprestart/:appname?/:global?")
async def restart(call: Runtime) -> Message:
    """Restart an app or component (starts it if stopped)."""
    if await _global(call, "apprestart"):
        return Message(f"{_appname(call)} queried for global restart")
    return Message(await call.service.restart(_appname(call)))


@router.get("/apps/apppause/:appname?/:global?")
async def pause(call: Runtime) -> Message:
    """Pause an app or component."""
    if await _global(call, "apppause"):
        return Message(f"{_appname(call)} queried for global pause")
    return Message(await call.service.pause(_appname(call)))


@router.get("/apps/appunpause/:appname?/:global?")
async def unpause(call: Runtime) -> Message:
    """Unpause an app or component."""
    if await _global(call, "appunpause"):
        return Message(f"{_appname(call)} queried for global unpause")
    return Message(await call.service.pause(_appname(call), unpause=True))


@router.get("/apps/appkill/:appname?", permission=Permission.APPOWNERABOVE)
async def kill(call: Runtime) -> Message:
    """Kill an app or component at once (upstream 8.18); it stays stopped like appstop."""
    return Message(await call.service.kill(_appname(call)))


@router.get("/apps/appcomponentnames/:appname?", permission=Permission.APPOWNERABOVE)
async def component_names(call: Runtime) -> list[str]:
    """The component names of an installed app, in order (upstream 8.18)."""
    return await call.service.component_names(_appname(call))


@router.get("/apps/heldcomponents", permission=Permission.ADMINANDFLUXTEAM, params=())
async def held_components(call: Runtime) -> list[dict[str, Any]]:
    """Components the operator holds stopped, which the reconciler leaves alone."""
    return await call.service.held_components()


# -- inspection (§11.9) -------------------------------------------------------------------------
@router.get("/apps/applog/:appname?/:lines?")
async def app_log(call: Runtime) -> str:
    """The last `lines` lines (default all) of a component's stdout and stderr."""
    lines: int | str = call.integer("lines", minimum=1) or "all"
    return await call.service.log(_appname(call), lines)


@router.get("/apps/applogpolling/:appname?/:lines?/:since?")
async def app_log_polling(call: Runtime) -> Response:
    """Log lines with Docker's timestamps after `since` (not enveloped, as upstream)."""
    name = _appname(call)
    lines = line_count(call.text("lines") or call.text("lineCount"))
    since = call.text("since") or ""
    return json_response((await call.service.log_page(name, lines, since)).body())


@router.get("/apps/appinspect/:appname?")
async def app_inspect(call: Runtime) -> dict[str, Any]:
    """Docker's inspect object of a component."""
    return await call.service.inspect(_appname(call))


@router.get("/apps/appstats/:appname?")
async def app_stats(call: Runtime) -> dict[str, Any]:
    """Docker's one-shot stats of a component, plus its `nanoCpus`."""
    return await call.service.stats(_appname(call))


@router.get("/apps/apptop/:appname?")
async def app_top(call: Runtime) -> dict[str, Any]:
    """The processes of a component (`Titles`, `Processes`)."""
    return await call.service.top(_appname(call))


@router.get("/apps/appchanges/:appname?")
async def app_changes(call: Runtime) -> list[dict[str, Any]] | None:
    """Filesystem changes of a component (Kind 0 modified, 1 added, 2 deleted)."""
    return await call.service.changes(_appname(call))


@router.get("/apps/appmonitor/:appname?/:range?", permission=Permission.APPOWNERABOVE)
async def app_monitor(call: Runtime) -> list[dict[str, Any]]:
    """A component's samples of the last 7 days (every 3 min); `range` ms back only."""
    return await call.service.monitor_samples(_appname(call), call.integer("range", minimum=1))


@router.get("/apps/appmonitorstream/:appname?", response="stream")
async def app_monitor_stream(call: Runtime) -> Streamed:
    """Docker's stats of a component, one object a second, while the caller listens."""
    chunks = await call.service.monitor_stream(_appname(call))
    return Streamed(chunks, media_type="application/json")


async def _monitoring_target(call: Runtime) -> str | None:
    """The app or component named, or None (every app: the admin's or Flux team's)."""
    if call.text("appname") is None:
        if not await call.authorized(Permission.ADMINANDFLUXTEAM):
            raise Unauthorized()
        return None
    return _appname(call)


@router.get("/apps/startmonitoring/:appname?")
async def start_monitoring(call: Runtime) -> Message:
    """Monitor an app or component again (without a name: every app)."""
    return Message(await call.service.start_monitoring(await _monitoring_target(call)))


@router.get("/apps/stopmonitoring/:appname?/:deletedata?")
async def stop_monitoring(call: Runtime) -> Message:
    """Stop monitoring (without a name: every app); `deletedata` drops the samples."""
    target = await _monitoring_target(call)
    delete = bool(call.boolean("deletedata", default=False))
    return Message(await call.service.stop_monitoring(target, delete=delete))


@router.post("/apps/appexec", response="stream", max_response=MAX_EXEC_OUTPUT)
async def app_exec(call: Runtime) -> Streamed:
    """Run a command in a component (`appname`, `cmd` array, `env` array): raw output."""
    body = call.object_body()
    command = body.get("cmd")
    env = body.get("env") or []
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise BadParameter("cmd must be a non-empty array of strings")
    if not isinstance(env, list) or not all(isinstance(e, str) for e in env):
        raise BadParameter("env must be an array of strings")
    output = await call.service.exec_stream(_appname(call), command, env)
    return Streamed(output, media_type="text/plain")
