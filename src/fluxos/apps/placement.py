"""Placement before payment (upstream 8.18's placementfeasibility / placementlocations,
written from the issue's description, not from upstream's code): from the deterministic
node list, which nodes could host a spec, and whether there are as many as its instances.

A node can host the spec when its tier's smallest machine (daemon.md §4.6) has room for it
on an empty node, by the same arithmetic a node's installer applies (reserves of 1 thread,
2,000 MB RAM, 80 GB disk + 12 GB per component), and, for a v7 spec with `nodes`, when the
list names it by address or collateral. What the list does not tell — static IP,
datacenter, geolocation, the space other apps already hold — is named as unchecked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fluxos.apps.resources import Tier as SpecTier
from fluxos.apps.resources import total_requirements
from fluxos.apps.specs import AppSpec, components
from fluxos.bench.tiers import Tier, default_thresholds
from fluxos.runtime.requirements import LOCKED_HDD_PER_COMPONENT
from fluxos.wire.jsvalues import to_number, truthy

TIER_NAMES = {"CUMULUS": Tier.CUMULUS, "NIMBUS": Tier.NIMBUS, "STRATUS": Tier.STRATUS}
SPEC_TIERS: dict[Tier, SpecTier] = {
    Tier.CUMULUS: "basic",
    Tier.NIMBUS: "super",
    Tier.STRATUS: "bamf",
}


def fits_tier(spec: AppSpec, tier: Tier) -> bool:
    """The spec fits an empty node of the tier's minimum size."""
    smallest = default_thresholds()[tier]
    needs = total_requirements(spec, SPEC_TIERS[tier])
    cpu_room = smallest.threads - 1
    ram_room = smallest.ram_gb * 1024 - 2000
    hdd_room = smallest.storage_gb * 0.95 - 80 - LOCKED_HDD_PER_COMPONENT * len(components(spec))
    return needs.cpu <= cpu_room and needs.ram <= ram_room and needs.hdd <= hdd_room


def _named(spec: AppSpec, entry: Mapping[str, Any]) -> bool:
    nodes = spec.get("nodes") or []
    if to_number(spec.get("version")) != 7 or not nodes:
        return True  # v8 pins by enterprise keys, which only defer (spawner), never refuse
    ip = str(entry.get("ip") or "")
    names = {ip, ip.split(":")[0], f"{entry.get('txhash')}:{entry.get('outidx')}"}
    return bool(names & {str(n) for n in nodes})


def unchecked(spec: AppSpec) -> list[str]:
    """Requirements of the spec the node list cannot answer."""
    version = to_number(spec.get("version"))
    left = []
    if version >= 7 and truthy(spec.get("staticip")):
        left.append("staticip")
    if version >= 8 and truthy(spec.get("datacenter")):
        left.append("datacenter")
    if version >= 5 and spec.get("geolocation"):
        left.append("geolocation")
    return left


def candidates(spec: AppSpec, entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The listed nodes that could host `spec`: `{ip, tier}` in list order."""
    fits = {name: fits_tier(spec, tier) for name, tier in TIER_NAMES.items()}
    return [
        {"ip": entry.get("ip"), "tier": entry.get("tier")}
        for entry in entries
        if entry.get("ip") and fits.get(str(entry.get("tier")), False) and _named(spec, entry)
    ]


def feasibility(spec: AppSpec, entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`{feasible, instances, eligible, eligibleByTier, tiersThatFit, unchecked}`."""
    found = candidates(spec, entries)
    instances = int(to_number(spec.get("instances") or 1))
    by_tier = {name.lower(): 0 for name in TIER_NAMES}
    for node in found:
        by_tier[str(node["tier"]).lower()] += 1
    return {
        "feasible": len(found) >= instances,
        "instances": instances,
        "eligible": len(found),
        "eligibleByTier": by_tier,
        "tiersThatFit": [n.lower() for n, t in TIER_NAMES.items() if fits_tier(spec, t)],
        "unchecked": unchecked(spec),
    }
