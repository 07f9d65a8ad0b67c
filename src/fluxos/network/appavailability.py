"""`POST /flux/checkappavailability` (p2p.md §15): can the apps' ports of a node be
reached? Another node asks this about itself before it starts serving apps.

The caller is the node's owner or Flux team, or a node of the deterministic list whose
`pubKey` signed the body (`JSON.stringify` of it without `signature`). Each port within
[1, 65535] that is not banned for apps is tried with a TCP connect (5 s); the first that
does not accept names the failure. Banned or out-of-range ports are skipped and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from typing import Any

from fluxos.apps.ports import PortList, port_in
from fluxos.crypto.signed_message import verify_message
from fluxos.errors import BadParameter, FluxError
from fluxos.network.nodelist import FluxnodeList
from fluxos.wire.jsvalues import stringify

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0
PORT_MIN, PORT_MAX = 1, 65535
MAX_PORTS = 200


def signed_by_listed_node(body: dict[str, Any], nodes: FluxnodeList) -> bool:
    pub_key, signature = body.get("pubKey"), body.get("signature")
    if not isinstance(pub_key, str) or not isinstance(signature, str):
        return False
    if not nodes.owns_node(pub_key):
        return False
    unsigned = {key: value for key, value in body.items() if key != "signature"}
    return verify_message(stringify(unsigned), pub_key, signature)


async def port_open(ip: str, port: int) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), PROBE_TIMEOUT)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _target(body: dict[str, Any]) -> tuple[str, Any, list[Any]]:
    ip = body.get("ip")
    try:
        ipaddress.IPv4Address(str(ip))
    except ValueError:
        raise BadParameter(f"ip must be an IPv4 address, got {ip!r}") from None
    ports = body.get("ports")
    if not isinstance(ports, list):
        raise BadParameter("ports must be a list of port numbers")
    if len(ports) > MAX_PORTS:
        raise BadParameter(f"ports may list at most {MAX_PORTS} ports, got {len(ports)}")
    return str(ip), body.get("port"), ports


async def check_app_ports(body: dict[str, Any], banned: PortList) -> str:
    """Upstream's success message, or FluxError naming the first closed port."""
    ip, api_port, ports = _target(body)
    shown_port = "undefined" if api_port is None else api_port
    for raw in ports:
        try:
            port = int(raw)
        except (TypeError, ValueError):
            port = -1
        if PORT_MIN <= port <= PORT_MAX and not port_in(port, banned):
            if not await port_open(ip, port):
                raise FluxError(
                    f"Flux Applications on {ip}:{shown_port} are not available. Failed port: {raw}"
                )
        else:
            log.warning("checkappavailability: port %r skipped (out of range or banned)", raw)
    return f"Flux Applications on {ip}:{shown_port} are available."
