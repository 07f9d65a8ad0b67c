"""The Flux network section: peers, broadcasting, availability and DOS state (`/flux/*`),
and the `/ws/flux` websocket other nodes connect to (p2p.md §4.2, §15, §16)."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from fluxos.api.envelope import Message, warning
from fluxos.api.routing import Call, FluxRouter
from fluxos.apps.params import MAINNET
from fluxos.errors import BadParameter, FluxError
from fluxos.network.appavailability import check_app_ports, signed_by_listed_node
from fluxos.network.keepopen import KeepOpenRefused, check_alive, parse_request, touch_ports
from fluxos.network.peerhistory import HistoryFilter
from fluxos.network.peers import Direction
from fluxos.network.service import NetworkService
from fluxos.wire.jsvalues import to_number
from fluxos.wire.permissions import Permission

log = logging.getLogger(__name__)
router = FluxRouter("Flux", lambda node: node.network)
Network = Call[NetworkService]

BROADCASTED = "Message successfully broadcasted to Flux network"


# -- the peer websocket --------------------------------------------------------------------
@router.websocket("/ws/flux/:port")
async def peer_socket_with_port(websocket: WebSocket, network: NetworkService) -> None:
    await network.accept(websocket, websocket.path_params.get("port"))


@router.websocket("/ws/flux")
async def peer_socket(websocket: WebSocket, network: NetworkService) -> None:
    await network.accept(websocket, None)


# -- peer lists ----------------------------------------------------------------------------
@router.get("/flux/connectedpeers")
async def connected_peers(call: Network) -> list[str]:
    """IPs of our outbound peers (deprecated upstream in favour of /flux/peers)."""
    return [peer.ip for peer in call.service.peers.outbound()]


@router.get("/flux/connectedpeersinfo")
async def connected_peers_info(call: Network) -> list[dict[str, Any]]:
    """Outbound peers with latency (half round trip, ms) and last ping time."""
    return [
        {
            "ip": peer.ip,
            "port": str(peer.port),
            "latency": peer.latency_ms,
            "lastPingTime": peer.last_ping_ms,
        }
        for peer in call.service.peers.outbound()
    ]


@router.get("/flux/incomingconnections")
async def incoming_connections(call: Network) -> list[str]:
    """IPs of our inbound peers."""
    return [peer.ip for peer in call.service.peers.inbound()]


@router.get("/flux/incomingconnectionsinfo")
async def incoming_connections_info(call: Network) -> list[dict[str, Any]]:
    """Inbound peers as `{ip, port}`."""
    return [{"ip": peer.ip, "port": str(peer.port)} for peer in call.service.peers.inbound()]


@router.get("/flux/peers")
async def peers(call: Network) -> Any:
    """Detailed peers: all, `outbound`, `inbound`, or one `ip:port`."""
    return call.service.peer_info(call.text("filter"))


@router.get("/flux/unstablenodes")
async def unstable_nodes(call: Network) -> list[dict[str, Any]]:
    """Peers with 5 or more disconnects in the last 2 hours (not redialled)."""
    return call.service.peers.unstable_nodes()


@router.get("/flux/topology")
async def topology(call: Network) -> dict[str, Any]:
    """What our peers reported of their own connections (peer exchange)."""
    return call.service.topology.view()


@router.get("/flux/networkhealth")
async def network_health(call: Network) -> dict[str, Any]:
    """Whether a burst of disconnects was the network's fault or ours, and the last 50
    diagnoses."""
    return call.service.health.view()


PEER_EVENTS = ("connected", "disconnected")


@router.get("/flux/peerhistory")
async def peer_history(call: Network) -> list[dict[str, Any]]:
    """The last 1000 connect/disconnect events, oldest first; filters `ip` (a prefix),
    `code` (close code), `event`, `since` (ms), `limit` (the most recent N)."""
    event = call.text("event")
    if event is not None and event not in PEER_EVENTS:
        raise BadParameter(f"event must be one of {', '.join(PEER_EVENTS)}, got {event!r}")
    wanted = HistoryFilter(
        ip=call.text("ip"),
        code=call.integer("code", minimum=1000, maximum=4999),
        event=event,
        since=call.integer("since", minimum=0),
        limit=call.integer("limit", minimum=0),
    )
    return call.service.peers.history.events(wanted)


# -- peer control --------------------------------------------------------------------------
@router.get("/flux/addpeer")
async def add_peer(call: Network) -> Message:
    """Dial a node (admin)."""
    key = call.service.add_peer(call.text("ip"))
    return Message(f"Outgoing connection to {key} initiated")


@router.get("/flux/addoutgoingpeer")
async def add_outgoing_peer(call: Network) -> Message:
    """A listed node asks us to dial it (step 3/6 of its discovery)."""
    key = call.service.add_outgoing_peer(call.text("ip"), call.client_ip)
    return Message(f"Outgoing connection to {key} initiated")


@router.get("/flux/removepeer")
async def remove_peer(call: Network) -> Message:
    """Close an outbound connection (admin)."""
    key, closed = await call.service.remove_peer(call.text("ip"), Direction.OUTBOUND)
    if not closed:
        return warning(f"Connection to {key} does not exists.")
    return Message(f"Outgoing connection to {key} closed")


@router.get("/flux/removeincomingpeer")
async def remove_incoming_peer(call: Network) -> Message:
    """Close an inbound connection (admin)."""
    key, closed = await call.service.remove_peer(call.text("ip"), Direction.INBOUND)
    if not closed:
        return warning(f"Connection from {key} does not exists.")
    return Message(f"Incoming connection to {key} closed")


@router.get("/flux/startdiscovery")
async def start_discovery(call: Network) -> Message:
    """Enable peer discovery and run a round now (Flux team)."""
    call.service.discovery.start()
    return Message("Discovery started")


# -- broadcasting --------------------------------------------------------------------------
def _query_data(call: Network) -> dict[str, Any]:
    raw = call.text("data")
    if raw is None:
        raise FluxError("No message to broadcast attached.")
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # upstream signs the bare string, which every receiver then counts as a bad message
        raise BadParameter("data must be a JSON object with a string `type`")
    return data


def _body_data(call: Network) -> dict[str, Any]:
    body = call.body
    if body in (None, {}, ""):
        raise FluxError("No message to broadcast attached.")
    if not isinstance(body, dict):
        raise BadParameter("the request body must be a JSON object with a string `type`")
    return body


async def _broadcast(call: Network, data: dict[str, Any]) -> Message:
    await call.service.broadcast(data)
    return Message(BROADCASTED)


@router.get("/flux/broadcastmessage")
async def broadcast_message(call: Network) -> Message:
    """Sign `data` (a JSON object with `type`) as this node and send it to every peer."""
    return await _broadcast(call, _query_data(call))


@router.get("/flux/broadcastmessagetooutgoing")
async def broadcast_message_to_outgoing(call: Network) -> Message:
    """Deprecated upstream: now the same as /flux/broadcastmessage (all peers)."""
    return await _broadcast(call, _query_data(call))


@router.get("/flux/broadcastmessagetoincoming")
async def broadcast_message_to_incoming(call: Network) -> Message:
    """Deprecated upstream: now the same as /flux/broadcastmessage (all peers)."""
    return await _broadcast(call, _query_data(call))


@router.post("/flux/broadcastmessage")
async def broadcast_message_post(call: Network) -> Message:
    """Sign the body (a JSON object with `type`) as this node and send it to every peer."""
    return await _broadcast(call, _body_data(call))


@router.post("/flux/broadcastmessagetooutgoing")
async def broadcast_message_to_outgoing_post(call: Network) -> Message:
    """Deprecated upstream: now the same as POST /flux/broadcastmessage."""
    return await _broadcast(call, _body_data(call))


@router.post("/flux/broadcastmessagetoincoming")
async def broadcast_message_to_incoming_post(call: Network) -> Message:
    """Deprecated upstream: now the same as POST /flux/broadcastmessage."""
    return await _broadcast(call, _body_data(call))


# -- health of the node on the network --------------------------------------------------------
@router.get("/flux/checkfluxavailability")
async def check_flux_availability(call: Network) -> Message:
    """Whether the node at `ip`[:`port`] is reachable as the network requires."""
    ip = call.text("ip")
    if ip is None:
        raise FluxError("No ip specified.")
    port = call.integer("port", default=16127)
    assert port is not None
    if await call.service.availability.is_available(ip, port):
        return Message("Asking Flux is available")
    raise FluxError("Asking Flux is not available")


# Served below the table's adminandfluxteam on purpose: upstream also lets a listed node
# ask by signing the body with its fluxnode key (p2p.md §15), so the handler decides.
@router.post("/flux/checkappavailability", permission=Permission.PUBLIC, max_body=64 * 1024)
async def check_app_availability(call: Network) -> Message:
    """Whether each app port of `{ip, port, ports}` accepts TCP connections (owner, Flux
    team, or a listed node signing the body)."""
    body = call.body
    if not isinstance(body, dict):
        raise BadParameter("the body must be an object {ip, port, ports, pubKey, signature}")
    if not await call.authorized(Permission.ADMINANDFLUXTEAM) and not signed_by_listed_node(
        body, call.service.state.nodes
    ):
        raise FluxError("Unable to verify request authenticity")
    return Message(await check_app_ports(body, MAINNET.banned_ports))


# Below the table's level on purpose, as checkappavailability: a listed node may sign.
@router.post("/flux/keepupnpportsopen", permission=Permission.PUBLIC, max_body=64 * 1024)
async def keep_upnp_ports_open(call: Network) -> Response:
    """Send a little traffic to a UPnP node's app ports (202, then TCP + UDP to each)."""
    try:
        target = parse_request(call.body)
        authorized = await call.authorized(Permission.ADMINANDFLUXTEAM)
        if not authorized and not signed_by_listed_node(call.body, call.service.state.nodes):
            raise KeepOpenRefused(401, "Unable to verify request authenticity")
        await check_alive(call.service.http, target)
    except KeepOpenRefused as refused:
        log.info("keepupnpportsopen refused (%d): %s", refused.status, refused.why)
        return Response(status_code=refused.status)
    return Response(status_code=202, background=BackgroundTask(touch_ports, target))


@router.get("/flux/checkcommunication")
async def check_communication(call: Network) -> Message:
    """Whether we hold enough inbound and outbound peers on distinct IPs."""
    problem = call.service.communication_problem()
    if problem:
        raise FluxError(problem)
    return Message("Communication to Flux network is properly established")


@router.get("/flux/dosstate")
async def dos_state(call: Network) -> dict[str, Any]:
    """`{dosState, dosMessage}`: above 10, or with a message, the node is penalised."""
    return call.service.dos.view()


# Upstream answers 404 before its privilege check when the hook is off; we check the Flux
# team privilege first, like every other route, then answer the same 404.
@router.post("/flux/dosstate")
async def set_dos_state(call: Network) -> Any:
    """Upstream's test hook (Flux team, `testEventStream` only): set the DOS state."""
    if not call.service.settings.test_event_stream:
        return JSONResponse(
            {"status": "error", "data": {"message": "Not available"}}, status_code=404
        )
    body = call.body if isinstance(call.body, dict) else {}
    state = to_number(body["dosState"]) if "dosState" in body else math.nan
    if math.isnan(state):  # Number(undefined), Number("x")
        raise FluxError("dosState must be a number")
    message = body.get("dosMessage")
    call.service.dos.set(state, None if message is None else str(message))
    view = call.service.dos.view()
    return JSONResponse({"status": "success", "data": {"message": view}})
