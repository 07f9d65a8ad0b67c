"""fluxd's Network RPCs. The devnet has no p2p layer: the other endpoints of the same devnet
are reported as this endpoint's peers, and bans / added nodes are remembered per endpoint."""

from __future__ import annotations

import ipaddress
from typing import Any

from fluxos.chain.amounts import to_coins
from fluxos.chain.params import CLIENT_VERSION, MIN_RELAY_FEE_PER_KB, PROTOCOL_VERSION, SUBVERSION
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import (
    RPC_CLIENT_INVALID_IP_OR_SUBNET,
    RPC_CLIENT_NODE_ALREADY_ADDED,
    RPC_CLIENT_NODE_NOT_ADDED,
    RPC_CLIENT_NODE_NOT_CONNECTED,
    RPC_MISC_ERROR,
    get_bool,
    get_int64,
    get_str,
)
from fluxos.jsonrpc import RpcError

DEFAULT_BAN_TIME = 86_400


class NetworkRpc:
    """Peers (the sibling endpoints), bans, added nodes, traffic counters."""

    category = "Network"
    commands = (
        "addnode", "clearbanned", "disconnectnode", "getaddednodeinfo", "getconnectioncount",
        "getdeprecationinfo", "getnettotals", "getnetworkinfo", "getpeerinfo", "listbanned",
        "ping", "setban",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    def _peers(self) -> list[Any]:
        return [e for e in self.ctx.engine.endpoints if e is not self.ctx.endpoint]

    def _now(self) -> int:
        return int(self.ctx.engine.clock.time())

    def getconnectioncount(self) -> int:
        """getconnectioncount

        Returns the number of connections to other nodes."""
        return len(self._peers())

    def getpeerinfo(self) -> list[dict[str, Any]]:
        """getpeerinfo

        Returns data about each connected network node (the devnet's other endpoints)."""
        height = self.ctx.chain.height
        now = self._now()
        out = []
        for peer in self._peers():
            out.append({
                "id": peer.index,
                "addr": f"127.0.0.1:{16125 + 10 * peer.index}",
                "services": "0000000000000005",
                "addr_processed": 0,
                "addr_rate_limited": 0,
                "whitelisted": False,
                "lastsend": now,
                "lastrecv": now,
                "bytessent": 0,
                "bytesrecv": 0,
                "conntime": now,
                "timeoffset": 0,
                "pingtime": 0.0,
                "version": PROTOCOL_VERSION,
                "subver": SUBVERSION,
                "inbound": peer.index < self.ctx.endpoint.index,
                "startingheight": height,
                "banscore": 0,
                "synced_headers": height,
                "synced_blocks": height,
                "inflight": [],
            })  # fmt: skip
        return out

    def getnettotals(self) -> dict[str, Any]:
        """getnettotals

        Returns information about network traffic."""
        return {"totalbytesrecv": 0, "totalbytessent": 0, "timemillis": self._now() * 1000}

    def getnetworkinfo(self) -> dict[str, Any]:
        """getnetworkinfo

        Returns an object containing various state info regarding P2P networking."""
        networks = [
            {"name": name, "limited": False, "reachable": name != "onion", "proxy": "",
             "proxy_randomize_credentials": False}
            for name in ("ipv4", "ipv6", "onion")
        ]  # fmt: skip
        return {
            "version": CLIENT_VERSION,
            "subversion": SUBVERSION,
            "protocolversion": PROTOCOL_VERSION,
            "localservices": "0000000000000005",
            "timeoffset": 0,
            "connections": len(self._peers()),
            "networks": networks,
            "relayfee": to_coins(MIN_RELAY_FEE_PER_KB),
            "localaddresses": [],
            "warnings": "",
        }

    def getdeprecationinfo(self) -> dict[str, Any]:
        """getdeprecationinfo

        Returns an object containing current version and deprecation block height."""
        return {
            "version": CLIENT_VERSION,
            "subversion": SUBVERSION,
            "deprecationheight": 99_999_999,
        }

    def ping(self) -> None:
        """ping

        Requests that a ping be sent to all other nodes."""
        return None

    def addnode(self, node: Any, command: Any) -> None:
        """addnode "node" "add|remove|onetry"

        Attempts add or remove a node from the addnode list."""
        name, action = get_str(node), get_str(command)
        added = self.ctx.endpoint.added_nodes
        if action not in ("add", "remove", "onetry"):
            raise RpcError(RPC_MISC_ERROR, self.addnode.__doc__ or "addnode")
        if action == "onetry":
            return None
        if action == "add":
            if name in added:
                raise RpcError(RPC_CLIENT_NODE_ALREADY_ADDED, "Error: Node already added")
            added.append(name)
        else:
            if name not in added:
                raise RpcError(RPC_CLIENT_NODE_NOT_ADDED, "Error: Node has not been added.")
            added.remove(name)
        return None

    def getaddednodeinfo(self, dns: Any, node: Any = None) -> list[dict[str, Any]]:
        """getaddednodeinfo dns ( "node" )

        Returns information about the given added node, or all added nodes."""
        with_dns = get_bool(dns)
        added = self.ctx.endpoint.added_nodes
        names = added
        if node is not None:
            name = get_str(node)
            if name not in added:
                raise RpcError(RPC_CLIENT_NODE_NOT_ADDED, "Error: Node has not been added.")
            names = [name]
        if not with_dns:
            return [{"addednode": n} for n in names]
        return [{"addednode": n, "connected": False, "addresses": []} for n in names]

    def disconnectnode(self, node: Any) -> None:
        """disconnectnode "node"

        Immediately disconnects from the specified node."""
        get_str(node)
        raise RpcError(RPC_CLIENT_NODE_NOT_CONNECTED, "Node not found in connected nodes")

    def setban(self, subnet: Any, command: Any, bantime: Any = 0, absolute: Any = False) -> None:
        """setban "ip(/netmask)" "add|remove" (bantime) (absolute)

        Attempts add or remove a IP/Subnet from the banned list."""
        text, action = get_str(subnet), get_str(command)
        if action not in ("add", "remove"):
            raise RpcError(RPC_MISC_ERROR, self.setban.__doc__ or "setban")
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise RpcError(RPC_CLIENT_NODE_ALREADY_ADDED, "Error: Invalid IP/Subnet") from exc
        key = str(net) if "/" in text else str(net.network_address)
        banned = self.ctx.endpoint.banned
        if action == "add":
            if key in banned:
                raise RpcError(RPC_CLIENT_NODE_ALREADY_ADDED, "Error: IP/Subnet already banned")
            seconds = get_int64(bantime) if bantime else 0
            until = (
                seconds
                if get_bool(absolute) and seconds
                else self._now() + (seconds or DEFAULT_BAN_TIME)
            )
            banned[key] = until
        else:
            if key not in banned:
                raise RpcError(RPC_CLIENT_INVALID_IP_OR_SUBNET, "Error: Unban failed")
            del banned[key]
        return None

    def listbanned(self) -> list[dict[str, Any]]:
        """listbanned

        List all banned IPs/Subnets."""
        now = self._now()
        expired = [k for k, until in self.ctx.endpoint.banned.items() if until <= now]
        for key in expired:
            del self.ctx.endpoint.banned[key]
        return [
            {
                "address": key,
                "banned_until": until,
                "ban_created": now,
                "ban_reason": "manually added",
            }
            for key, until in self.ctx.endpoint.banned.items()
        ]

    def clearbanned(self) -> None:
        """clearbanned

        Clear all banned IPs."""
        self.ctx.endpoint.banned.clear()
        return None
