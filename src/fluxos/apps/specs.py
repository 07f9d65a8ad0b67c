"""The shapes of app specification versions 1 to 8 and their components.

A specification travels as a JSON object whose key order is part of consensus, so it
is kept as a plain ordered dict; this module holds the per-version key sets and the
small accessors the validator, the pricing and the message code share.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from fluxos.wire.jsvalues import to_number, truthy

AppSpec = dict[str, Any]
"""A specification as JSON (formatted or raw); key order matters."""

LATEST_VERSION = 8

TIER_FIELDS = (
    "cpubasic", "cpusuper", "cpubamf", "rambasic", "ramsuper", "rambamf",
    "hddbasic", "hddsuper", "hddbamf",
)  # fmt: skip
"""Per-tier resources (basic=cumulus, super=nimbus, bamf=stratus) in the formatter's order."""

_TIER_KEYS = ("tiered", *TIER_FIELDS)
_COMMON = ("version", "name", "description", "owner")
_LEGACY_SINGLE = (
    "repotag",
    "enviromentParameters",
    "commands",
    "containerData",
    "cpu",
    "ram",
    "hdd",
)
_COMPONENT_V4 = (
    "name", "description", "repotag", "ports", "containerPorts", "environmentParameters",
    "commands", "containerData", "domains", "cpu", "ram", "hdd",
)  # fmt: skip

_V2 = (*_COMMON, *_LEGACY_SINGLE, "ports", "containerPorts", "domains", *_TIER_KEYS)
_V4 = (*_COMMON, "compose", "instances")
_V5 = (*_V4, "contacts", "geolocation")
_V6 = (*_V5, "expire")
_V7 = (*_V6, "nodes", "staticip")
ALLOWED_KEYS: Mapping[int, frozenset[str]] = MappingProxyType(
    {
        1: frozenset((*_COMMON, *_LEGACY_SINGLE, "port", "containerPort", *_TIER_KEYS)),
        2: frozenset(_V2),
        3: frozenset((*_V2, "instances")),
        4: frozenset(_V4),
        5: frozenset(_V5),
        6: frozenset(_V6),
        7: frozenset(_V7),
        8: frozenset((*_V7, "datacenter", "enterprise")),
    }
)
"""Top-level keys each version accepts; anything else is an unsupported parameter."""

ALLOWED_COMPONENT_KEYS: Mapping[int, frozenset[str]] = MappingProxyType(
    {
        4: frozenset((*_COMPONENT_V4, *_TIER_KEYS)),
        5: frozenset((*_COMPONENT_V4, *_TIER_KEYS)),
        6: frozenset((*_COMPONENT_V4, *_TIER_KEYS)),
        7: frozenset((*_COMPONENT_V4, "secrets", "repoauth", *_TIER_KEYS)),
        8: frozenset((*_COMPONENT_V4, "repoauth")),
    }
)
"""Component keys each compose version accepts."""

# The message of an unknown key names it for these versions only (upstream's wording).
KEY_NAMED_IN_ERROR = frozenset({4, 5, 6, 8})


def is_compose(spec: AppSpec) -> bool:
    """Whether the spec lists components (v4+) rather than one legacy container (v1-3)."""
    version = spec.get("version")
    return not (to_number(version) <= 3)


def components(spec: AppSpec) -> list[Any]:
    """The components of a v4+ spec; a v1-3 spec is its own single component."""
    if is_compose(spec):
        compose = spec.get("compose")
        return compose if isinstance(compose, list) else []
    return [spec]


def is_enterprise(spec: AppSpec) -> bool:
    """A v8 spec whose compose and contacts travel encrypted in `enterprise`."""
    return to_number(spec.get("version")) >= 8 and truthy(spec.get("enterprise"))


def public_view(spec: AppSpec) -> AppSpec:
    """The spec as stored and hashed: enterprise apps keep `compose` and `contacts` empty."""
    if not is_enterprise(spec):
        return spec
    stored = dict(spec)
    stored["contacts"] = []
    stored["compose"] = []
    return stored


def uses_g_mount(spec: AppSpec) -> bool:
    """Whether any component's containerData asks for primary/standby ('g:') syncing."""
    return any(
        isinstance(component, dict)
        and isinstance(component.get("containerData"), str)
        and "g:" in component["containerData"]
        for component in components(spec)
    )


def host_ports(spec: AppSpec) -> list[Any]:
    """The host ports an app publishes: v1 `port`, v2-3 `ports`, v4+ every component's ports."""
    version = to_number(spec.get("version"))
    if version == 1:
        return [spec.get("port")]
    if version <= 3:
        ports = spec.get("ports")
        return list(ports) if isinstance(ports, list) else []
    found: list[Any] = []
    for component in components(spec):
        if isinstance(component, dict) and isinstance(component.get("ports"), list):
            found.extend(component["ports"])
    return found
