"""The "Apps" routes of the global registry: registration, messages, global specs, hashes,
locations and the operator's rebuilds (`/apps/*`, apps.md §6–§9)."""

from __future__ import annotations

from typing import Any

from fluxos.api.envelope import Message
from fluxos.api.routing import Call, FluxRouter
from fluxos.apps.registryservice import RegistryService
from fluxos.wire.permissions import Permission

router = FluxRouter("Apps", lambda node: node.registry)
Registry = Call[RegistryService]


@router.post("/apps/appregister")
async def register(call: Registry) -> str:
    """Register an app: `{type, version, appSpecification, timestamp, signature}` signed by
    the owner; answers the message hash to pay for."""
    return await call.service.register(call.body)


@router.post("/apps/appupdate")
async def update(call: Registry) -> str:
    """Update an app (signed by its current owner); answers the message hash to pay for."""
    return await call.service.update(call.body)


@router.post("/apps/placementfeasibility", permission=Permission.PUBLIC, params=())
async def placement_feasibility(call: Registry) -> dict[str, Any]:
    """Whether the node list has as many nodes that can host the spec as its instances
    (before paying; upstream 8.18)."""
    return await call.service.placement_feasibility(call.body)


@router.get("/apps/placementlocations/:appname", permission=Permission.PUBLIC)
async def placement_locations(call: Registry) -> dict[str, Any]:
    """The listed nodes that could host a global app and do not run it yet."""
    return await call.service.placement_locations(call.require("appname"))


@router.post("/apps/getpublickey")
async def public_key(call: Registry) -> str:
    """The public key to encrypt an enterprise app's content with (Arcane OS nodes only)."""
    return await call.service.public_key(call.body)


@router.get("/apps/enterprisenodes")
async def enterprise_nodes(call: Registry) -> list[dict[str, Any]]:
    """The fluxnodes an enterprise app may be pinned to, best score first."""
    return await call.service.enterprise_list()


@router.get("/apps/temporarymessages/:hash?")
async def temporary_messages(call: Registry) -> list[dict[str, Any]]:
    """App messages received and not yet paid (kept one hour)."""
    return await call.service.temporary_messages(call.text("hash"))


@router.get("/apps/permanentmessages/:hash?/:owner?/:appname?")
async def permanent_messages(call: Registry) -> list[dict[str, Any]]:
    """Paid app messages, filtered by exact hash, owner and app name."""
    return await call.service.permanent_messages(
        call.text("hash"), call.text("owner"), call.text("appname")
    )


@router.get("/apps/globalappsspecifications/:hash?/:owner?/:appname?")
async def global_specs(call: Registry) -> list[dict[str, Any]]:
    """The current specification of every registered app."""
    return await call.service.global_specs(
        call.text("hash"), call.text("owner"), call.text("appname")
    )


@router.get("/apps/appspecifications/:appname/:decrypt?")
async def app_specification(call: Registry) -> dict[str, Any]:
    """The app's current specification (enterprise parts stay encrypted on this node)."""
    return await call.service.app_specification(call.require("appname"))


@router.get("/apps/updatetolatestspecs/:appname")
async def update_to_latest(call: Registry) -> dict[str, Any]:
    """The app's specification rewritten as the latest version, ready to sign as an update."""
    return await call.service.latest_spec(call.require("appname"))


@router.get("/apps/appowner/:appname?")
async def app_owner(call: Registry) -> str:
    """The owner of an app."""
    return await call.service.app_owner(call.require("appname"))


@router.get("/apps/apporiginalowner/:appname?")
async def original_owner(call: Registry) -> str | None:
    """Who registered the app first (the owner in its last registration message)."""
    return await call.service.original_owner(call.require("appname"))


@router.get("/apps/messagescount/:appowner?")
async def messages_count(call: Registry) -> int:
    """How many paid app messages an owner has."""
    return await call.service.messages_count(call.require("appowner"))


@router.get("/apps/hashes")
async def hashes(call: Registry) -> list[dict[str, Any]]:
    """App message hashes paid on chain and whether this node holds their message."""
    return await call.service.hashes()


@router.get("/apps/checkhashes")
async def check_hashes(call: Registry) -> Message:
    """Look for every paid message this node lacks, now."""
    result = await call.service.check_hashes()
    return Message(
        f"Hashes check finished: {result['resolved']} resolved locally, {result['bulk']} "
        f"fetched in bulk, {result['missing']} asked of peers"
    )


@router.get("/apps/requestmessage/:hash")
async def request_message(call: Registry) -> Message:
    """Ask the peers for one app message by hash."""
    message_hash = call.require("hash")
    await call.service.request_message(message_hash)
    return Message(f"Application message {message_hash} requested from peers")


@router.get("/apps/reconstructhashes")
async def reconstruct_hashes(call: Registry) -> dict[str, int]:
    """Set every hash's `message` flag from the permanent messages again."""
    return await call.service.reconstruct_hashes()


@router.get("/apps/location/:appname?")
async def location(call: Registry) -> list[dict[str, Any]]:
    """The nodes running an app."""
    return await call.service.locations(call.require("appname"))


@router.get("/apps/locations")
async def locations(call: Registry) -> list[dict[str, Any]]:
    """Every app on every node."""
    return await call.service.locations(None)


@router.get("/apps/installinglocation/:appname?")
async def installing_location(call: Registry) -> list[dict[str, Any]]:
    return await call.service.installing(call.require("appname"))


@router.get("/apps/installinglocations")
async def installing_locations(call: Registry) -> list[dict[str, Any]]:
    return await call.service.installing(None)


@router.get("/apps/installingerrorslocation/:appname?")
async def installing_errors_location(call: Registry) -> list[dict[str, Any]]:
    return await call.service.installing_errors(call.require("appname"))


@router.get("/apps/installingerrorslocations")
async def installing_errors_locations(call: Registry) -> list[dict[str, Any]]:
    return await call.service.installing_errors(None)


@router.get("/apps/reindexglobalappsinformation")
async def reindex(call: Registry) -> Message:
    """Rebuild every global spec from the paid messages."""
    count = await call.service.reindex()
    return Message(f"Reindex of global application specifications finished: {count} apps")


@router.get("/apps/rescanglobalappsinformation/:blockheight?/:removelastinformation?")
async def rescan(call: Registry) -> Message:
    height = call.integer("blockheight", required=True)
    assert height is not None
    remove = bool(call.boolean("removelastinformation", default=False))
    count = await call.service.rescan(height, remove)
    return Message(f"Rescan of global application specifications finished: {count} apps")


@router.get("/apps/reindexglobalappslocation")
async def reindex_locations(call: Registry) -> Message:
    await call.service.reindex_locations()
    return Message("Reindex of global application locations finished")
