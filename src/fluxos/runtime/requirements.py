"""Install-time requirement checks (apps.md §11.1): the node's tier and free resources,
static IP and datacenter wishes, `nodes`, and host ports no other app (nor another
program) holds. Messages are upstream's."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import psutil

from fluxos.apps.resources import Tier, total_requirements
from fluxos.apps.specs import AppSpec, components, host_ports
from fluxos.runtime.errors import InstallError
from fluxos.wire.jsvalues import to_number, truthy

LOCKED_HDD_PER_COMPONENT = 12  # GB: the 10 GB container layer and 2 GB of logs


@dataclass(frozen=True)
class NodeFacts:
    tier: Tier
    cores: int
    ram_mb: float
    ssd_gb: float
    ip: str
    static_ip: bool
    datacenter: bool
    collateral: str  # txhash:index, as a spec's `nodes` may name the node


class FactSource(Protocol):
    async def facts(self) -> NodeFacts: ...


def host_ram_mb() -> float:
    return psutil.virtual_memory().total / 1024 / 1024


def host_cores() -> int:
    return psutil.cpu_count(logical=True) or 1


def locked(installed: Iterable[AppSpec], tier: Tier) -> tuple[float, float, float]:
    """(cpu, ram, hdd) the installed apps hold; hdd adds 12 GB per component."""
    cpu = ram = hdd = 0.0
    for spec in installed:
        needs = total_requirements(spec, tier)
        cpu += needs.cpu
        ram += needs.ram
        hdd += needs.hdd + LOCKED_HDD_PER_COMPONENT * len(components(spec))
    return cpu, ram, hdd


def check_requirements(spec: AppSpec, facts: NodeFacts, installed: list[AppSpec]) -> None:
    name = spec["name"]
    needs = total_requirements(spec, facts.tier)
    cpu_locked, ram_locked, hdd_locked = locked(installed, facts.tier)
    if facts.ssd_gb * 0.95 - 60 - 20 - hdd_locked < needs.hdd:
        raise InstallError("Insufficient space on Flux Node to spawn an application")
    if facts.cores * 10 - 10 - cpu_locked * 10 < needs.cpu * 10:
        raise InstallError("Insufficient CPU power on Flux Node to spawn an application")
    if facts.ram_mb - 2000 - ram_locked < needs.ram:
        raise InstallError("Insufficient RAM on Flux Node to spawn an application")
    version = to_number(spec.get("version"))
    if version >= 7 and truthy(spec.get("staticip")) and not facts.static_ip:
        raise InstallError(f"Application {name} requires static IP address to run. Aborting.")
    if version >= 8 and truthy(spec.get("datacenter")) and not facts.datacenter:
        raise InstallError(f"Application {name} requires datacenter node to run. Aborting.")
    nodes = spec.get("nodes") or []
    if (
        version == 7
        and nodes
        and not ({facts.ip, facts.ip.split(":")[0], facts.collateral} & set(nodes))
    ):
        raise InstallError(f"Application {name} is not allowed to run on this node. Aborting.")


def check_ports(spec: AppSpec, installed: list[AppSpec], blocked: Iterable[int] = ()) -> None:
    """Host ports must be free: not another installed app's, not blocked, not bound."""
    name = spec["name"]
    blocked_set = set(blocked)
    for port in (int(to_number(p)) for p in host_ports(spec)):
        for other in installed:
            if other.get("name") == name:
                continue  # its own ports (upstream compares the names too)
            if port in {int(to_number(p)) for p in host_ports(other)}:
                # upstream names the app being installed, not the one holding the port
                raise InstallError(
                    f"Flux App {name} port {port} already used with different"
                    f" application. Installation aborted."
                )
        if port in blocked_set:
            raise InstallError(f"Port {port} of {name} is blocked by this node's operator")
        if _bound(port):
            raise InstallError(
                f"Port {port} of {name} is already in use on this node. Installation aborted."
            )


def _bound(port: int) -> bool:
    """Whether another program listens on the port (tcp) here."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - the app would listen on all
        except OSError:
            return True
    return False
