"""The Flux network section: peers, broadcasting, availability and DOS state (`/flux/*`),
and the `/ws/flux` websocket other nodes connect to (p2p.md §4.2, §15, §16)."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from fluxos.api.envelope import Message, warning
from fluxos.api.routing import Call, FluxRouter
from fluxos.errors import BadParameter, FluxError
from fluxos.network.peers import CloseCode, Source
from fluxos.network.service import NetworkService
from fluxos.network.socketaddress import parse_strict, remote_ipv4, split

log = logging.getLogger(__name__)
# Transitional: handlers still reach services through the node (issue 11 gives each
# router its own typed service).
router: FluxRouter[Any] = FluxRouter("Flux", lambda node: node)

BROADCASTED = "Message successfully broadcasted to Flux network"


def _network(call: Call) -> NetworkService:
    network: NetworkService = call.node.network
    return network


# -- the peer websocket --------------------------------------------------------------------
@router.websocket("/ws/flux/:port")
async def peer_socket_with_port(websocket: WebSocket, node: Any) -> None:
    await node.network.connections.accept(websocket, websocket.path_params.get("port"))


@router.websocket("/ws/flux")
async def peer_socket(websocket: WebSocket, node: Any) -> None:
    await node.network.connections.accept(websocket, None)


# -- peer lists ----------------------------------------------------------------------------
@router.get("/flux/connectedpeers")
async def connected_peers(call: Call) -> list[str]:
    """IPs of our outbound peers (deprecated upstream in favour of /flux/peers)."""
    return [peer.ip for peer in _network(call).peers.outbound()]


@router.get("/flux/connectedpeersinfo")
async def connected_peers_info(call: Call) -> list[dict[str, Any]]:
    """Outbound peers with latency (half round trip, ms) and last ping time."""
    return [
        {
            "ip": peer.ip,
            "port": str(peer.port),
            "latency": peer.latency_ms,
            "lastPingTime": peer.last_ping_ms,
        }
        for peer in _network(call).peers.outbound()
    ]


@router.get("/flux/incomingconnections")
async def incoming_connections(call: Call) -> list[str]:
    """IPs of our inbound peers."""
    return [peer.ip for peer in _network(call).peers.inbound()]


@router.get("/flux/incomingconnectionsinfo")
async def incoming_connections_info(call: Call) -> list[dict[str, Any]]:
    """Inbound peers as `{ip, port}`."""
    return [{"ip": peer.ip, "port": str(peer.port)} for peer in _network(call).peers.inbound()]


@router.get("/flux/peers")
async def peers(call: Call) -> Any:
    """Detailed peers: all, `outbound`, `inbound`, or one `ip:port`."""
    network = _network(call)
    now = network.clock.millis()
    selection = call.text("filter")
    if selection == "outbound":
        return [peer.info(now) for peer in network.peers.outbound()]
    if selection == "inbound":
        return [peer.info(now) for peer in network.peers.inbound()]
    if selection and "." in selection:
        peer = network.peers.get(selection)
        if peer is None:
            raise FluxError(f"Peer {selection} not found")
        return peer.info(now)
    return [peer.info(now) for peer in network.peers]


# -- peer control --------------------------------------------------------------------------
@router.get("/flux/addpeer")
async def add_peer(call: Call) -> Message:
    """Dial a node (admin)."""
    ip, port = parse_strict(call.text("ip"))
    network = _network(call)
    if f"{ip}:{port}" in network.peers:
        raise FluxError(f"Already connected to {ip}:{port}")
    network.connections.spawn_dial(f"{ip}:{port}", Source.MANUAL)
    return Message(f"Outgoing connection to {ip}:{port} initiated")


@router.get("/flux/addoutgoingpeer")
async def add_outgoing_peer(call: Call) -> Message:
    """A listed node asks us to dial it (step 3/6 of its discovery)."""
    network = _network(call)
    if not network.state.confirmed:
        raise FluxError("Node is not confirmed.")
    raw = call.text("ip")
    if raw is None:
        raise FluxError("No IP address specified.")
    ip, port = split(raw)
    remote = call.client_ip
    remote4 = remote_ipv4(remote)
    if ip != remote4:
        raise FluxError(f"Request ip {remote4} of {remote} doesn't match the ip: {ip} to connect.")
    if f"{ip}:{port}" in network.peers:
        raise FluxError(f"Already connected to {ip}:{port}")
    if network.state.nodes.at(raw) is None:
        raise FluxError(f"FluxNode {ip}:{port} is not confirmed on the network.")
    network.connections.spawn_dial(f"{ip}:{port}", Source.DETERMINISTIC)
    return Message(f"Outgoing connection to {ip}:{port} initiated")


@router.get("/flux/removepeer")
async def remove_peer(call: Call) -> Message:
    """Close an outbound connection (admin)."""
    ip, port = parse_strict(call.text("ip"))
    network = _network(call)
    peer = network.peers.get(f"{ip}:{port}")
    if peer is None or peer.direction.value != "outbound":
        return warning(f"Connection to {ip}:{port} does not exists.")
    await network.disconnect(peer.key, CloseCode.CLOSED_OUTBOUND)
    return Message(f"Outgoing connection to {ip}:{port} closed")


@router.get("/flux/removeincomingpeer")
async def remove_incoming_peer(call: Call) -> Message:
    """Close an inbound connection (admin)."""
    ip, port = parse_strict(call.text("ip"))
    network = _network(call)
    peer = network.peers.get(f"{ip}:{port}")
    if peer is None or peer.direction.value != "inbound":
        return warning(f"Connection from {ip}:{port} does not exists.")
    await network.disconnect(peer.key, CloseCode.CLOSED_INBOUND)
    return Message(f"Incoming connection to {ip}:{port} closed")


@router.get("/flux/startdiscovery")
async def start_discovery(call: Call) -> Message:
    """Enable peer discovery and run a round now (Flux team)."""
    _network(call).discovery.start()
    return Message("Discovery started")


# -- broadcasting --------------------------------------------------------------------------
def _query_data(call: Call) -> dict[str, Any]:
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


def _body_data(call: Call) -> dict[str, Any]:
    body = call.body
    if body in (None, {}, ""):
        raise FluxError("No message to broadcast attached.")
    if not isinstance(body, dict):
        raise BadParameter("the request body must be a JSON object with a string `type`")
    return body


async def _broadcast(call: Call, data: dict[str, Any]) -> Message:
    await _network(call).broadcast(data)
    return Message(BROADCASTED)


@router.get("/flux/broadcastmessage")
async def broadcast_message(call: Call) -> Message:
    """Sign `data` (a JSON object with `type`) as this node and send it to every peer."""
    return await _broadcast(call, _query_data(call))


@router.get("/flux/broadcastmessagetooutgoing")
async def broadcast_message_to_outgoing(call: Call) -> Message:
    """Deprecated upstream: now the same as /flux/broadcastmessage (all peers)."""
    return await _broadcast(call, _query_data(call))


@router.get("/flux/broadcastmessagetoincoming")
async def broadcast_message_to_incoming(call: Call) -> Message:
    """Deprecated upstream: now the same as /flux/broadcastmessage (all peers)."""
    return await _broadcast(call, _query_data(call))


@router.post("/flux/broadcastmessage")
async def broadcast_message_post(call: Call) -> Message:
    """Sign the body (a JSON object with `type`) as this node and send it to every peer."""
    return await _broadcast(call, _body_data(call))


@router.post("/flux/broadcastmessagetooutgoing")
async def broadcast_message_to_outgoing_post(call: Call) -> Message:
    """Deprecated upstream: now the same as POST /flux/broadcastmessage."""
    return await _broadcast(call, _body_data(call))


@router.post("/flux/broadcastmessagetoincoming")
async def broadcast_message_to_incoming_post(call: Call) -> Message:
    """Deprecated upstream: now the same as POST /flux/broadcastmessage."""
    return await _broadcast(call, _body_data(call))


# -- health of the node on the network --------------------------------------------------------
@router.get("/flux/checkfluxavailability")
async def check_flux_availability(call: Call) -> Message:
    """Whether the node at `ip`[:`port`] is reachable as the network requires."""
    ip = call.text("ip")
    if ip is None:
        raise FluxError("No ip specified.")
    port = call.integer("port", default=16127)
    assert port is not None
    if await _network(call).availability.is_available(ip, port):
        return Message("Asking Flux is available")
    raise FluxError("Asking Flux is not available")


@router.get("/flux/checkcommunication")
async def check_communication(call: Call) -> Message:
    """Whether we hold enough inbound and outbound peers on distinct IPs."""
    problem = _network(call).communication_problem()
    if problem:
        raise FluxError(problem)
    return Message("Communication to Flux network is properly established")


@router.get("/flux/dosstate")
async def dos_state(call: Call) -> dict[str, Any]:
    """`{dosState, dosMessage}`: above 10, or with a message, the node is penalised."""
    return _network(call).dos.view()


# Upstream answers 404 before its privilege check when the hook is off; we check the Flux
# team privilege first, like every other route, then answer the same 404.
@router.post("/flux/dosstate")
async def set_dos_state(call: Call) -> JSONResponse:
    """Upstream's test hook (Flux team, `testEventStream` only); not offered by this node."""
    return JSONResponse({"status": "error", "data": {"message": "Not available"}}, status_code=404)
