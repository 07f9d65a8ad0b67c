"""The "Flux" section: node-level information and control (`/flux/*`)."""

from __future__ import annotations

import logging
from typing import Any

from fluxos.api.routing import Call, FluxRouter
from fluxos.errors import FluxError

log = logging.getLogger(__name__)
# Transitional: handlers still reach services through the node (issue 11 gives each
# router its own typed service).
router: FluxRouter[Any] = FluxRouter("Flux", lambda node: node)


@router.get("/flux/version")
async def version(call: Call) -> str:
    """FluxOS version (the upstream release this node is compatible with)."""
    return str(call.node.host.fluxos_version)


@router.get("/flux/uptime")
async def uptime(call: Call) -> int:
    """Seconds since the node process started."""
    return int(call.node.host.uptime())


@router.get("/flux/systemuptime")
async def system_uptime(call: Call) -> int:
    """Seconds since the host booted."""
    return int(call.node.host.system_uptime())


@router.get("/flux/timezone")
async def timezone(call: Call) -> str:
    """The host's IANA time zone."""
    return str(call.node.host.timezone())


@router.get("/flux/nodejsversions")
async def runtime_versions(call: Call) -> dict[str, str]:
    """Runtime versions (Python's, in the shape of Node's `process.versions`)."""
    return dict(call.node.host.runtime_versions())


@router.get("/flux/isarcaneos")
async def is_arcane_os(call: Call) -> bool:
    """Whether the node runs on ArcaneOS, as the benchmark daemon reports (false on error)."""
    try:
        benchmarks = await call.node.fluxbench.call("getbenchmarks")
    except FluxError as error:
        log.debug("isarcaneos: benchmark daemon unavailable (%s); answering false", error)
        return False
    return bool(isinstance(benchmarks, dict) and benchmarks.get("systemsecure") is True)


@router.get("/flux/nodetier")
async def node_tier(call: Call) -> str:
    """The node's tier from its collateral: cumulus/nimbus/stratus, `_new` for current amounts."""
    collateral = await call.node.node_tier.collateral()
    return collateral.tier


@router.get("/flux/zelid")
@router.get("/flux/id")
async def zelid(call: Call) -> str:
    """The node owner's ZelID."""
    return str(call.node.settings.zelid)


@router.get("/flux/fluxids")
async def flux_ids(call: Call) -> dict[str, str]:
    """The Flux team's ZelIDs."""
    settings = call.node.settings
    return {
        "fluxTeamFluxID": settings.flux_team_zelid,
        "fluxSupportTeamFluxID": settings.flux_support_team_zelid,
    }


@router.get("/flux/kadena")
async def kadena(call: Call) -> str | None:
    """The node's Kadena payout account, or null."""
    return call.node.settings.kadena or None


@router.get("/flux/apiport")
async def api_port(call: Call) -> int:
    """The API port (always a number; upstream answers the string "16127" when unset)."""
    return int(call.node.settings.apiport)


@router.get("/flux/routerip")
async def router_ip(call: Call) -> str:
    """The LAN router IP for UPnP nodes, or an empty string."""
    return str(call.node.settings.router_ip)


@router.get("/flux/blockedports")
async def blocked_ports(call: Call) -> list[int]:
    """Ports the owner refuses for apps."""
    return list(call.node.settings.blocked_ports)


@router.get("/flux/blockedrepositories")
async def blocked_repositories(call: Call) -> list[str]:
    """Image repositories the owner refuses for apps."""
    return list(call.node.settings.blocked_repositories)


@router.get("/flux/marketplaceurl")
async def marketplace_url(call: Call) -> str:
    """Where the marketplace app list lives."""
    return str(call.node.settings.marketplace_url)


@router.get("/flux/backendfolder")
async def backend_folder(call: Call) -> str:
    """The node's data directory (loopback callers only)."""
    return str(call.node.settings.data_dir)
