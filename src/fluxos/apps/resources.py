"""Hardware an app asks for (§3.3): per-spec limits, compose totals, tier requirements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fluxos.apps.errors import AppSpecError
from fluxos.apps.params import AppParams, Capacity
from fluxos.apps.specs import AppSpec, components, host_ports, is_compose
from fluxos.wire.jsvalues import UNDEFINED, is_number, js_mod, to_number, truthy

Tier = Literal["basic", "super", "bamf"]
"""Resource tiers of a spec: basic = cumulus, super = nimbus, bamf = stratus."""

_TIER_NAMES: dict[str, str] = {"basic": "Cumulus", "super": "Nimbus", "bamf": "Stratus"}


@dataclass(frozen=True)
class Requirements:
    """Resources in spec units: cpu in cores, ram in MB, hdd in GB."""

    cpu: float
    ram: float
    hdd: float


def _number(value: Any) -> int | float:
    # Formatted specs only carry numbers here; raw ones may not, and JS would then
    # coerce or concatenate. Coercing keeps the arithmetic defined.
    return value if is_number(value) else to_number(value)


def _tier_or_plain(holder: dict[str, Any], resource: str, tier: str) -> int | float:
    """`holder[resource + tier] || holder[resource]`, upstream's per-tier fallback."""
    value = holder.get(resource + tier, UNDEFINED)
    return _number(value if truthy(value) else holder.get(resource, UNDEFINED))


def total_requirements(spec: AppSpec, tier: Tier) -> Requirements:
    """What the app needs on a node of `tier` (upstream's totalAppHWRequirements)."""
    if not is_compose(spec):
        if spec.get("tiered"):
            return Requirements(*(_tier_or_plain(spec, key, tier) for key in ("cpu", "ram", "hdd")))
        return Requirements(*(_number(spec.get(key, UNDEFINED)) for key in ("cpu", "ram", "hdd")))
    cpu: float = 0
    ram: float = 0
    hdd: float = 0
    for component in components(spec):
        if not isinstance(component, dict):
            continue
        if component.get("tiered"):
            cpu += _tier_or_plain(component, "cpu", tier)
            ram += _tier_or_plain(component, "ram", tier)
            hdd += _tier_or_plain(component, "hdd", tier)
        else:
            cpu += _number(component.get("cpu", UNDEFINED))
            ram += _number(component.get("ram", UNDEFINED))
            hdd += _number(component.get("hdd", UNDEFINED))
    return Requirements(cpu, ram, hdd)


def check_unique_ports(spec: AppSpec) -> None:
    """Host ports may not repeat within an app (v1 has a single port)."""
    if spec["version"] == 1:
        return
    ports = host_ports(spec)
    if len(set(ports)) != len(ports):
        suffix = "" if spec["version"] <= 3 else " accross all composition"
        raise AppSpecError(f"Flux App {spec['name']} must have unique ports specified{suffix}")


def _check_single(
    spec: AppSpec, suffix: str, label: str, capacity: Capacity, locked: Capacity
) -> None:
    name = spec["name"]
    cpu, ram, hdd = (_number(spec.get(key + suffix, UNDEFINED)) for key in ("cpu", "ram", "hdd"))
    # JS precision: cpu is checked in tenths of a core with the float arithmetic of upstream
    if js_mod(cpu * 10, 1) != 0 or cpu * 10 > capacity.cpu - locked.cpu or cpu < 0.1:
        raise AppSpecError(f"CPU {label}badly assigned for {name}")
    if js_mod(ram, 100) != 0 or ram > capacity.ram - locked.ram or ram < 100:
        raise AppSpecError(f"RAM {label}badly assigned for {name}")
    if js_mod(hdd, 1) != 0 or hdd > capacity.hdd - locked.hdd or hdd < 1:
        raise AppSpecError(f"SSD {label}badly assigned for {name}")


def check_single_container(spec: AppSpec, params: AppParams) -> None:
    """v1-3 limits: granularity and bounds of cpu, ram and hdd, per tier when tiered."""
    _check_single(spec, "", "", params.stratus, params.locked)
    if spec.get("tiered"):
        for tier, capacity in (
            ("basic", params.cumulus),
            ("super", params.nimbus),
            ("bamf", params.stratus),
        ):
            _check_single(spec, tier, f"for {_TIER_NAMES[tier]} ", capacity, params.locked)


def check_compose_totals(spec: AppSpec, params: AppParams) -> None:
    """v4+ limits on the app's totals only (per-component minimums are not enforced upstream)."""
    name = spec["name"]
    compose = [component for component in spec["compose"] if isinstance(component, dict)]
    tiered = any(component.get("tiered") is True for component in compose)
    locked = params.locked
    cpu: float
    ram: float
    hdd: float
    if not tiered:
        cpu = ram = hdd = 0
        for component in compose:
            cpu += _number(component.get("cpu", UNDEFINED)) * 10
            ram += _number(component.get("ram", UNDEFINED))
            hdd += _number(component.get("hdd", UNDEFINED))
        _check_totals(name, "", cpu, ram, hdd, params.stratus, locked)
        return
    for tier, capacity in (
        ("basic", params.cumulus),
        ("super", params.nimbus),
        ("bamf", params.stratus),
    ):
        cpu = ram = hdd = 0
        for component in compose:
            cpu += _tier_or_plain(component, "cpu", tier) * 10
            ram += _tier_or_plain(component, "ram", tier)
            hdd += _tier_or_plain(component, "hdd", tier)
        _check_totals(name, f"for {_TIER_NAMES[tier]} ", cpu, ram, hdd, capacity, locked)


def _check_totals(
    name: str, label: str, cpu: float, ram: float, hdd: float, capacity: Capacity, locked: Capacity
) -> None:
    if cpu > capacity.cpu - locked.cpu:
        raise AppSpecError(f"Too much CPU {label}resources assigned for {name}")
    if ram > capacity.ram - locked.ram:
        raise AppSpecError(f"Too much RAM {label}resources assigned for {name}")
    if hdd > capacity.hdd - locked.hdd:
        raise AppSpecError(f"Too much SSD {label}resources assigned for {name}")
