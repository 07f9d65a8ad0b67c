"""The firewall step of a node behind a home router (system.md §7.3): with `routerIP` set
and ufw active, let the node talk to its router — SSDP to the multicast group, the
router's replies, its TCP and UDP — and let the other home nodes' peer connections
through on every Flux API port, then drop the `deny out` rule for the router's network.

ufw is run through `[hooks] ufw` (e.g. `"sudo ufw"`; without a shell, each rule as its
own arguments). It runs before the UPnP check at start and again every hour while
routerIP is set (upstream re-applies it in case an operator removed a rule). A rule that
fails is logged and the rest still run, as upstream's commands do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fluxos.configsections import HookSettings
from fluxos.errors import FluxError
from fluxos.network.socketaddress import ALLOWED_PORTS
from fluxos.system.hooks import run_hook

log = logging.getLogger(__name__)

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = "1900"
REAPPLY_SECONDS = 3600.0 + 1.0
# upstream's suffixes, given only when the router's first two octets + .0.0 is exactly
# one of these networks (so 192.168.x.x gets /16, but 10.1.x.x stays a bare address)
_PRIVATE_SUFFIXES = {
    "10.0.0.0": "/8",
    "172.16.0.0": "/12",
    "192.168.0.0": "/16",
    "100.64.0.0": "/10",
    "198.18.0.0": "/15",
    "169.254.0.0": "/16",
}


def router_network(router_ip: str) -> str:
    """The network whose `deny out` rule is removed (upstream's quirk kept)."""
    first, second = router_ip.split(".")[:2]
    network = f"{first}.{second}.0.0"
    return network + _PRIVATE_SUFFIXES.get(network, "")


def router_rules(router_ip: str, api_ports: Iterable[int] = ALLOWED_PORTS) -> list[list[str]]:
    """The ufw argument lists, in upstream's order."""
    router = router_ip
    rules = [
        ["insert", "1", "allow", "out", "from", "any", "to", SSDP_GROUP, "port", SSDP_PORT,
         "proto", "udp"],
        ["insert", "1", "allow", "from", router, "port", SSDP_PORT, "to", "any", "proto", "udp"],
        ["insert", "1", "allow", "out", "from", "any", "to", router, "proto", "tcp"],
        ["insert", "1", "allow", "from", router, "to", "any", "proto", "udp"],
    ]  # fmt: skip
    for port in sorted(api_ports):
        for proto in ("tcp", "udp"):
            rules.append(
                ["insert", "1", "allow", "in", "proto", proto, "from", "any", "to", router,
                 "port", str(port)]
            )  # fmt: skip
            rules.append(["insert", "1", "allow", "out", "proto", proto, "to", router, "port",
                          str(port)])  # fmt: skip
    rules.append(["delete", "deny", "out", "from", "any", "to", router_network(router_ip)])
    return rules


async def adjust_for_router(hooks: HookSettings, router_ip: str) -> int | None:
    """Apply the rules; how many succeeded, or None when nothing was tried (no routerIP,
    no ufw hook, ufw inactive)."""
    if not router_ip:
        return None
    if not hooks.ufw:
        log.warning(
            "routerIP %s is set but [hooks] ufw is not: the firewall is not adjusted for the "
            'router (set ufw = "sudo ufw" in fluxos.toml if this node runs ufw)',
            router_ip,
        )
        return None
    try:
        status = await run_hook("ufw", (*hooks.ufw, "status"), limit=60, failure="ufw status")
    except FluxError as error:
        log.warning("routerIP is set but ufw cannot be asked (%s): not adjusted", error.message)
        return None
    if "Status: active" not in status:
        log.info("routerIP is set but the firewall is not active: not adjusted for UPnP")
        return None
    applied = 0
    for rule in router_rules(router_ip):
        try:
            await run_hook("ufw", (*hooks.ufw, *rule), limit=60, failure="ufw rule")
            applied += 1
        except FluxError as error:
            log.info("ufw %s: %s", " ".join(rule), error.message)
    log.info("firewall adjusted for UPnP with router %s (%d rules applied)", router_ip, applied)
    return applied
