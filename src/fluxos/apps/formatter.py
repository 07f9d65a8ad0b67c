"""The canonical form of an app specification (upstream's `specificationFormatter`).

Every spec a node receives is rebuilt here: fields are coerced the JavaScript way and
placed in the canonical key order. That order is consensus - the owner signs, and the
network hashes, `JSON.stringify` of the rebuilt object - so the older orders some
messages were signed with are offered by `legacy_orderings` for verification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fluxos.apps.errors import AppSpecError
from fluxos.apps.params import MAINNET, AppParams
from fluxos.apps.specs import TIER_FIELDS, AppSpec
from fluxos.wire.jsvalues import (
    UNDEFINED,
    ensure_array,
    ensure_boolean,
    ensure_string,
    is_integer,
    stringify,
    to_number,
    to_string,
    truthy,
)

_MISSING_V1 = (
    "Missing Flux App specification parameter repotag and/or port and/or enviromentParameters"
    " and/or commands and/or containerData and/or cpu and/or ram and/or hdd"
)
_MISSING_V2 = (
    "Missing Flux App specification parameter repotag and/or port and/or domains and/or"
    " enviromentParameters and/or commands and/or containerData and/or cpu and/or ram and/or hdd"
)
_TIERED_VALUE = "Invalid tiered value obtained. Only boolean as true or false allowed."
_RESOURCES = ("containerData", "cpu", "ram", "hdd")
_REQUIRED_V1 = ("repotag", "port", "enviromentParameters", "commands", "containerPort", *_RESOURCES)
_REQUIRED_V2: tuple[str, ...] = ("repotag", "ports", "domains", "enviromentParameters")
_REQUIRED_V2 += ("commands", "containerPorts", *_RESOURCES)


def format_spec(raw: Any, params: AppParams = MAINNET) -> AppSpec:
    """Rebuild `raw` into the canonical specification; raises AppSpecError on missing fields."""
    if not isinstance(raw, dict):
        raise AppSpecError("Invalid Flux App Specifications")

    def get(key: str) -> Any:
        return raw.get(key, UNDEFINED)

    if not truthy(get("version")):
        raise AppSpecError("Missing Flux App specification parameter version")
    version = to_number(get("version"))
    if not (truthy(get("name")) and truthy(get("description")) and truthy(get("owner"))):
        raise AppSpecError(
            "Missing Flux App specification parameter name and/or description and/or owner"
        )
    spec: AppSpec = {
        "version": version,
        "name": ensure_string(get("name")),
        "description": ensure_string(get("description")),
        "owner": ensure_string(get("owner")),
    }
    if version == 1:
        _format_v1(raw, spec)
    elif version <= 3:
        _format_v2(raw, spec)
    else:
        _format_compose(raw, spec, version)
    _format_tail(raw, spec, version, params)
    return spec


def _string_list(value: Any, error: str) -> list[Any]:
    items = ensure_array(value)
    if items is None:
        raise AppSpecError(error)
    return [ensure_string(item) for item in items]


def _tier_fields(source: dict[str, Any], target: AppSpec, error: str) -> None:
    values = [source.get(key, UNDEFINED) for key in TIER_FIELDS]
    if not all(truthy(value) for value in values):
        raise AppSpecError(error)
    for key, value in zip(TIER_FIELDS, values, strict=True):
        target[key] = to_number(value)


def _format_tiered(raw: dict[str, Any], spec: AppSpec) -> None:
    tiered = ensure_boolean(raw.get("tiered", UNDEFINED))
    if tiered is UNDEFINED:
        raise AppSpecError(_TIERED_VALUE)
    spec["tiered"] = tiered
    if tiered:
        _tier_fields(
            raw, spec, "Flux App was requested as tiered setup but specifications are missing"
        )


def _format_v1(raw: dict[str, Any], spec: AppSpec) -> None:
    if not all(truthy(raw.get(key, UNDEFINED)) for key in _REQUIRED_V1):
        raise AppSpecError(_MISSING_V1)
    spec["repotag"] = ensure_string(raw["repotag"])
    spec["port"] = to_number(raw["port"])
    spec["enviromentParameters"] = _string_list(
        raw["enviromentParameters"], "Environmental parameters for Flux App are invalid"
    )
    spec["commands"] = _string_list(raw["commands"], "Flux App commands are invalid")
    spec["containerPort"] = to_number(raw["containerPort"])
    spec["containerData"] = ensure_string(raw["containerData"])
    for key in ("cpu", "ram", "hdd"):
        spec[key] = to_number(raw[key])
    _format_tiered(raw, spec)


def _format_v2(raw: dict[str, Any], spec: AppSpec) -> None:
    if not all(truthy(raw.get(key, UNDEFINED)) for key in _REQUIRED_V2):
        raise AppSpecError(_MISSING_V2)
    spec["repotag"] = ensure_string(raw["repotag"])
    # v2-3 carry ports as strings
    spec["ports"] = _string_list(raw["ports"], "Ports for Flux App are invalid")
    spec["domains"] = _string_list(raw["domains"], "Domains for Flux App are invalid")
    spec["enviromentParameters"] = _string_list(
        raw["enviromentParameters"], "Environmental parameters for Flux App are invalid"
    )
    spec["commands"] = _string_list(raw["commands"], "Flux App commands are invalid")
    spec["containerPorts"] = _string_list(
        raw["containerPorts"], "Container Ports for Flux App are invalid"
    )
    spec["containerData"] = ensure_string(raw["containerData"])
    for key in ("cpu", "ram", "hdd"):
        spec[key] = to_number(raw[key])
    _format_tiered(raw, spec)


def _put(target: AppSpec, key: str, value: Any) -> None:
    # JS keeps `undefined` members out of JSON.stringify; we keep them out of the dict.
    if value is not UNDEFINED:
        target[key] = value


def _format_compose(raw: dict[str, Any], spec: AppSpec, version: int | float) -> None:
    if not truthy(raw.get("compose", UNDEFINED)):
        raise AppSpecError("Missing Flux App specification parameter compose")
    compose = ensure_array(raw["compose"])
    if compose is None:
        raise AppSpecError("Flux App compose parameter is not valid")
    spec["compose"] = [_format_component(item, version) for item in compose]


def _format_component(item: Any, version: int | float) -> AppSpec:
    source: dict[str, Any] = item if isinstance(item, dict) else {}
    label = to_string(source.get("name", UNDEFINED))

    def listed(key: str, error: str, convert: Callable[[Any], Any] | None) -> list[Any]:
        items = ensure_array(source.get(key, UNDEFINED))
        if items is None:
            raise AppSpecError(error)
        return items if convert is None else [convert(element) for element in items]

    component: AppSpec = {}
    for key in ("name", "description", "repotag"):
        _put(component, key, ensure_string(source.get(key, UNDEFINED)))
    component["ports"] = listed(
        "ports", f"Ports for Flux App component {label} are invalid", to_number
    )
    component["domains"] = listed(
        "domains", f"Domains for Flux App component {label} are invalid", ensure_string
    )
    component["environmentParameters"] = listed(
        "environmentParameters",
        f"Environmental parameters for Flux App component {label} are invalid",
        ensure_string,
    )
    component["commands"] = listed(
        "commands", f"Flux App component {label} commands are invalid", ensure_string
    )
    # Consensus quirk: upstream converts container ports but keeps the unconverted array,
    # so string elements survive here and are rejected later by the type checks.
    component["containerPorts"] = listed(
        "containerPorts", f"Container Ports for Flux App component {label} are invalid", None
    )
    _put(component, "containerData", ensure_string(source.get("containerData", UNDEFINED)))
    for key in ("cpu", "ram", "hdd"):
        component[key] = to_number(source.get(key, UNDEFINED))
    if version <= 7:
        tiered = source.get("tiered", UNDEFINED)  # not coerced for components
        if not isinstance(tiered, bool):
            raise AppSpecError(_TIERED_VALUE)
        component["tiered"] = tiered
        if tiered:
            _tier_fields(
                source,
                component,
                f"Flux App component {label} was requested as tiered setup"
                " but specifications are missing",
            )
    if version >= 7:
        _put(component, "repoauth", ensure_string(source.get("repoauth", UNDEFINED)))
        if version == 7:
            _put(component, "secrets", ensure_string(source.get("secrets", UNDEFINED)))
    return component


def _format_tail(
    raw: dict[str, Any], spec: AppSpec, version: int | float, params: AppParams
) -> None:
    def get(key: str) -> Any:
        return raw.get(key, UNDEFINED)

    if version >= 3:
        if not truthy(get("instances")):
            raise AppSpecError("Missing Flux App specification parameter instances")
        instances = to_number(get("instances"))
        if not is_integer(instances):
            raise AppSpecError("Invalid instances specified")
        minimum = params.minimum_instances_v8 if version >= 8 else params.minimum_instances
        if instances < minimum:
            raise AppSpecError(f"Minimum number of instances is {minimum}")
        if instances > params.maximum_instances:
            raise AppSpecError(f"Maximum number of instances is {params.maximum_instances}")
        spec["instances"] = instances
    if version >= 5:
        if not (truthy(get("contacts")) and truthy(get("geolocation"))):
            raise AppSpecError(
                "Missing Flux App specification parameter contacts and/or geolocation"
            )
        spec["contacts"] = _string_list(get("contacts"), "Contacts for Flux App are invalid")
        spec["geolocation"] = _string_list(
            get("geolocation"), "Geolocation for Flux App is invalid"
        )
    if version >= 6:
        if not truthy(get("expire")):
            raise AppSpecError("Missing Flux App specification parameter expire")
        expire = to_number(get("expire"))
        if not is_integer(expire):
            # upstream says "instances" here; we name the field that is wrong
            raise AppSpecError("Invalid expire specified")
        spec["expire"] = expire
    if version >= 7:
        if not truthy(get("nodes")):
            raise AppSpecError("Missing Flux App specification parameter nodes")
        spec["nodes"] = _string_list(get("nodes"), "Nodes for Flux App are invalid")
        staticip = ensure_boolean(get("staticip"))
        if staticip is UNDEFINED:
            raise AppSpecError(
                "Invalid staticip specification. Only boolean as true or false allowed."
            )
        spec["staticip"] = staticip
    if version >= 8:
        if get("datacenter") is not UNDEFINED:
            _put(spec, "datacenter", ensure_boolean(get("datacenter")))
        enterprise = get("enterprise")
        if truthy(enterprise):
            enterprise = ensure_string(enterprise)
        _put(spec, "enterprise", enterprise)


def canonical_json(spec: AppSpec) -> str:
    """`JSON.stringify(spec)`: the text that is signed and hashed."""
    return stringify(spec)


def legacy_orderings(spec: AppSpec) -> list[AppSpec]:
    """Older key orders still accepted for signatures and hashes of `spec`.

    v1-3 specs were once signed with `repotag` before `owner`; v7 components with
    `secrets` before `repoauth`.
    """
    version = to_number(spec.get("version", UNDEFINED))
    if version <= 3:
        head = ("version", "name", "description", "repotag", "owner")
        reordered = {key: spec[key] for key in head if key in spec}
        reordered.update((key, value) for key, value in spec.items() if key not in head)
        return [reordered]
    if version == 7 and isinstance(spec.get("compose"), list):
        compose = []
        for component in spec["compose"]:
            if isinstance(component, dict):
                tail = ("secrets", "repoauth")
                moved = {key: value for key, value in component.items() if key not in tail}
                moved.update((key, component[key]) for key in tail if key in component)
                component = moved
            compose.append(component)
        return [{**spec, "compose": compose}]
    return []
