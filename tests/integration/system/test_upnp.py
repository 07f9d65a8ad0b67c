"""The UPnP routes over HTTP on a running node, against a real IGD: Debian's miniupnpd in
a network namespace the test makes (tests/support/upnpgateway.py). What the node mapped
is read back with `upnpc`, outside fluxos."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fluxos.configsections import UpnpSettings
from fluxos.system.upnp import MiniupnpcGateway
from tests.support.daemons import Admin
from tests.support.processes import NodeProcess, wait_until
from tests.support.upnpgateway import WAN_IP, UpnpGateway

UFW_SCRIPT = """#!/bin/sh
echo "$*" >> {log}
if [ "$1" = status ]; then echo "Status: active"; else echo "Rule inserted"; fi
"""


@dataclass
class UpnpNode:
    node: NodeProcess
    gateway: UpnpGateway
    headers: dict[str, str]

    def get(self, path: str, *, admin: bool = True) -> dict[str, object]:
        reply = self.node.get(path, headers=self.headers if admin else {}).json()
        assert isinstance(reply, dict)
        return reply


@pytest.fixture(scope="module")
def upnp_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpnpNode]:
    tmp = tmp_path_factory.mktemp("upnp")
    with UpnpGateway(tmp) as gateway:
        admin = Admin()
        data_dir = tmp / "node"
        data_dir.mkdir()
        # behind a home router: routerIP set, and ufw stands in as a script that says it is
        # active and writes down every rule it is given (the firewall is the host's)
        ufw = tmp / "ufw"
        ufw.write_text(UFW_SCRIPT.format(log=tmp / "ufw.log"))
        ufw.chmod(0o755)
        (data_dir / "fluxos.toml").write_text(
            f'zelid = "{admin.zelid}"\nrouterIP = "{gateway.gateway_ip}"\n'
            f'[daemon]\nembedded = false\n[hooks]\nufw = "{ufw}"\n'
        )
        upnp = json.dumps({"enabled": True, "gateway_url": gateway.url})
        node = NodeProcess(data_dir, env={"FLUXOS_UPNP": upnp}).start()
        try:
            yield UpnpNode(node, gateway, admin.login(node.url))
        finally:
            node.stop()


def node_ports(gateway: UpnpGateway) -> set[tuple[str, int, str, int, str]]:
    return set(gateway.mappings())


def test_boot_checks_the_gateway_then_maps_the_node_ports(upnp_node: UpnpNode) -> None:
    gateway = upnp_node.gateway
    expected = {
        ("TCP", 16127, gateway.node_ip, 16127, "Flux_Backend_API"),
        ("TCP", 16128, gateway.node_ip, 16128, "Flux_Backend_API_SSL"),
        ("TCP", 16126, gateway.node_ip, 16126, "Flux_Home_UI"),
        ("TCP", 16129, gateway.node_ip, 16129, "Flux_Syncthing"),
    }
    wait_until(lambda: expected <= node_ports(gateway), timeout=60, interval=0.5)
    # the test mapping of the check (API port + 3) was removed again
    assert not any(port == 16130 for _, port, *_ in gateway.mappings())
    # the node logs it after its last mapping's pause
    wait_until(lambda: "UPnP: mapped ports 16126-16129" in upnp_node.node.output(), timeout=10)
    info = upnp_node.get("/flux/info", admin=False)["data"]
    assert info["flux"]["upnp"] is True  # type: ignore[index]


def test_router_ip_opens_the_firewall_to_the_router_before_the_check(upnp_node: UpnpNode) -> None:
    router = upnp_node.gateway.gateway_ip
    log = upnp_node.node.data_dir.parent / "ufw.log"
    wait_until(lambda: log.exists() and "delete deny" in log.read_text(), timeout=60)
    lines = log.read_text().splitlines()
    assert lines[0] == "status"
    assert lines[1] == "insert 1 allow out from any to 239.255.255.250 port 1900 proto udp"
    assert lines[2] == f"insert 1 allow from {router} port 1900 to any proto udp"
    assert lines[3] == f"insert 1 allow out from any to {router} proto tcp"
    assert lines[4] == f"insert 1 allow from {router} to any proto udp"
    per_port = lines[5:-1]
    assert len(per_port) == 8 * 4  # tcp and udp, in and out, on each of the 8 API ports
    assert f"insert 1 allow in proto tcp from any to {router} port 16127" in per_port
    assert f"insert 1 allow out proto udp to {router} port 16197" in per_port
    # upstream's quirk: 10.213.x.x is not 10.0.0.0, so the network has no /8 suffix
    assert lines[-1] == "delete deny out from any to 10.213.0.0"
    # … and the gateway was asked only after that (the mappings exist: the test above)
    wait_until(lambda: "UPnP: mapped ports 16126-16129" in upnp_node.node.output(), timeout=60)


def test_map_list_and_unmap_a_port(upnp_node: UpnpNode) -> None:
    gateway = upnp_node.gateway
    assert upnp_node.get("/flux/mapport/30000") == {
        "status": "success",
        "data": {"message": "Port mapped"},
    }
    mapped = {("TCP", 30000), ("UDP", 30000)}
    assert mapped <= {(protocol, port) for protocol, port, *_ in gateway.mappings()}
    listing = upnp_node.get("/flux/getmap")
    assert listing["status"] == "success"
    entries = [entry for entry in listing["data"] if entry["public"]["port"] == 30000]  # type: ignore[union-attr, index]
    assert sorted(entry["protocol"] for entry in entries) == ["tcp", "udp"]
    for entry in entries:
        assert entry["private"] == {"host": gateway.node_ip, "port": 30000}
        assert entry["description"] == "Flux_manual_entry"
        assert entry["enabled"] is True and entry["local"] is True
        assert entry["ttl"] > 0  # ttl 0 asks for the gateway's longest lease
    # the port from the query string works as well as from the path
    assert upnp_node.get("/flux/unmapport?port=30000")["data"] == {"message": "Port unmapped"}
    assert not mapped & {(protocol, port) for protocol, port, *_ in gateway.mappings()}


def test_gateway_address_and_external_ip(upnp_node: UpnpNode) -> None:
    assert upnp_node.get("/flux/getip") == {"status": "success", "data": WAN_IP}
    view = upnp_node.get("/flux/getgateway")["data"]
    assert view == {
        "gateway": f"http://{upnp_node.gateway.gateway_ip}:5555/ctl/IPConn",
        "address": upnp_node.gateway.node_ip,
    }


def test_bad_ports_and_refusals_are_error_envelopes(upnp_node: UpnpNode) -> None:
    missing = upnp_node.get("/flux/mapport")
    assert missing["status"] == "error"
    assert missing["data"]["message"] == "No Port address specified."  # type: ignore[index]
    word = upnp_node.get("/flux/mapport/http")["data"]
    assert word["message"] == "port must be a whole number from 1 to 65535, got 'http'"  # type: ignore[index]
    assert "got 70000" in upnp_node.get("/flux/unmapport/70000")["data"]["message"]  # type: ignore[index]
    # the gateway's own rules allow 1024-65535 only: its refusal is passed on
    refused = upnp_node.get("/flux/mapport/80")
    assert refused["status"] == "error"
    assert "not authorized" in refused["data"]["message"].lower()  # type: ignore[index, union-attr]
    assert not any(port == 80 for _, port, *_ in upnp_node.gateway.mappings())


@pytest.mark.parametrize(
    "path", ["/flux/mapport/30001", "/flux/unmapport/30001", "/flux/getmap", "/flux/getip"]
)
def test_every_upnp_route_needs_the_admin(upnp_node: UpnpNode, path: str) -> None:
    reply = upnp_node.get(path, admin=False)
    assert reply["status"] == "error"
    assert reply["data"]["code"] == 401  # type: ignore[index]
    assert not any(port == 30001 for _, port, *_ in upnp_node.gateway.mappings())


def test_ssdp_discovery_finds_the_gateway(tmp_path: Path) -> None:
    with UpnpGateway(tmp_path) as gateway:
        client = MiniupnpcGateway(UpnpSettings(node_ip=gateway.node_ip, discovery_timeout=2))
        try:
            control_url, address = asyncio.run(client.locate())
        finally:
            client.close()
    assert control_url == f"http://{gateway.gateway_ip}:5555/ctl/IPConn"
    assert address == gateway.node_ip
