"""The "Flux" section: node-level information and control (`/flux/*`)."""

from __future__ import annotations

from fluxos.api.routing import Call, FluxRouter
from fluxos.system.nodeinfo import NodeInfo

router = FluxRouter("Flux", lambda node: node.info)
Info = Call[NodeInfo]


@router.get("/flux/version")
async def version(call: Info) -> str:
    """FluxOS version (the upstream release this node is compatible with)."""
    return str(call.service.host.fluxos_version)


@router.get("/flux/uptime")
async def uptime(call: Info) -> int:
    """Seconds since the node process started."""
    return int(call.service.host.uptime())


@router.get("/flux/systemuptime")
async def system_uptime(call: Info) -> int:
    """Seconds since the host booted."""
    return int(call.service.host.system_uptime())


@router.get("/flux/timezone")
async def timezone(call: Info) -> str:
    """The host's IANA time zone."""
    return str(call.service.host.timezone())


@router.get("/flux/nodejsversions")
async def runtime_versions(call: Info) -> dict[str, str]:
    """Runtime versions (Python's, in the shape of Node's `process.versions`)."""
    return dict(call.service.host.runtime_versions())


@router.get("/flux/isarcaneos")
async def is_arcane_os(call: Info) -> bool:
    """Whether the node runs on ArcaneOS, as the benchmark daemon reports (false on error)."""
    return await call.service.is_arcane_os()


@router.get("/flux/nodetier")
async def node_tier(call: Info) -> str:
    """The node's tier from its collateral: cumulus/nimbus/stratus, `_new` for current amounts."""
    return await call.service.tier_name()


@router.get("/flux/zelid")
@router.get("/flux/id")
async def zelid(call: Info) -> str:
    """The node owner's ZelID."""
    return str(call.service.settings.zelid)


@router.get("/flux/fluxids")
async def flux_ids(call: Info) -> dict[str, str]:
    """The Flux team's ZelIDs."""
    return call.service.flux_ids()


@router.get("/flux/kadena")
async def kadena(call: Info) -> str | None:
    """The node's Kadena payout account, or null."""
    return call.service.settings.kadena or None


@router.get("/flux/apiport")
async def api_port(call: Info) -> int:
    """The API port (always a number; upstream answers the string "16127" when unset)."""
    return int(call.service.settings.apiport)


@router.get("/flux/routerip")
async def router_ip(call: Info) -> str:
    """The LAN router IP for UPnP nodes, or an empty string."""
    return str(call.service.settings.router_ip)


@router.get("/flux/enterpriseappowners")
async def enterprise_app_owners(call: Info) -> list[str]:
    """The ZelIDs allowed to own enterprise apps: every owner of Flux's enterprise-nodes
    list."""
    enterprise = call.service.enterprise
    return enterprise.owners() if enterprise is not None else []


@router.get("/flux/blockedports")
async def blocked_ports(call: Info) -> list[int]:
    """Ports the owner refuses for apps."""
    return list(call.service.settings.blocked_ports)


@router.get("/flux/blockedrepositories")
async def blocked_repositories(call: Info) -> list[str]:
    """Image repositories the owner refuses for apps."""
    return list(call.service.settings.blocked_repositories)


@router.get("/flux/marketplaceurl")
async def marketplace_url(call: Info) -> str:
    """Where the marketplace app list lives."""
    return str(call.service.settings.marketplace_url)


@router.get("/flux/backendfolder")
async def backend_folder(call: Info) -> str:
    """The node's data directory (loopback callers only)."""
    return str(call.service.settings.data_dir)
