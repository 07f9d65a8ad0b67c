"""Type checks of an app specification (§3.1), the first stage of validation.

They run on the formatted spec, so most failures here mean a client sent a value
the formatter could not coerce (a string container port, a non-boolean tiered).
Messages are upstream's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from fluxos.apps.errors import AppSpecError
from fluxos.apps.specs import TIER_FIELDS, AppSpec
from fluxos.wire.jsvalues import (
    UNDEFINED,
    is_decimal_limit,
    is_integer,
    is_number,
    js_length,
    truthy,
)

_MISSING_LEGACY = (
    "Missing Flux App specification parameter repotag and/or enviromentParameters and/or"
    " commands and/or containerData and/or cpu and/or ram and/or hdd"
)
_TIERED_VALUE = "Invalid tiered value obtained. Only boolean as true or false allowed."
_INVALID_SPECS = "Invalid Flux App Specifications"


def _check_list(
    value: Any,
    invalid: str,
    *,
    element: Callable[[Any], bool],
    bad_element: str | None = None,
    bad_decimals: str | None = None,
) -> None:
    """An array whose elements pass `element` (and carry no decimals if `bad_decimals`)."""
    if not isinstance(value, list):
        raise AppSpecError(invalid)
    for item in value:
        if not element(item):
            raise AppSpecError(bad_element or invalid)
        if bad_decimals is not None and not is_decimal_limit(item, 0):
            raise AppSpecError(bad_decimals)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _all_strings(value: Any, error: str) -> None:
    _check_list(value, error, element=_is_str)


def _check_resources(holder: dict[str, Any]) -> None:
    values = [holder.get(key, UNDEFINED) for key in ("cpu", "ram", "hdd")]
    if not all(is_number(value) for value in values):
        raise AppSpecError("Invalid HW specifications")
    if not all(is_decimal_limit(value) for value in values):
        raise AppSpecError("Invalid HW specifications decimal limits")


def _check_tiers(holder: dict[str, Any]) -> None:
    values = [holder.get(key, UNDEFINED) for key in TIER_FIELDS]
    if not all(is_number(value) for value in values) or not all(
        is_decimal_limit(value) for value in values
    ):
        raise AppSpecError("Invalid tiered HW specifications")


def _check_legacy(spec: AppSpec, version: int | float) -> None:
    """The single-container fields of v1-3."""
    required = ("repotag", "enviromentParameters", "commands", "containerData", "cpu", "ram", "hdd")
    if not all(truthy(spec.get(key, UNDEFINED)) for key in required):
        raise AppSpecError(_MISSING_LEGACY)
    if version == 1:
        if not is_number(spec["port"]):
            raise AppSpecError("Port for Flux App is invalid")
        if not is_decimal_limit(spec["port"], 0):
            raise AppSpecError("Ports for Flux App are invalid decimals")
    else:
        _check_list(
            spec.get("ports"),
            "Ports for Flux App are invalid",
            element=_is_str,
            bad_element="Port of Flux App is invalid",
            bad_decimals="Ports for Flux App are invalid decimals",
        )
        _all_strings(spec.get("domains"), "Domains for Flux App are invalid")
    _all_strings(spec["enviromentParameters"], "Environmental parameters for Flux App are invalid")
    _all_strings(spec["commands"], "Flux App commands are invalid")
    if version == 1:
        if not is_number(spec["containerPort"]):
            raise AppSpecError("Container Port for Flux App is invalid")
        if not is_decimal_limit(spec["containerPort"], 0):
            raise AppSpecError("Ports for Flux App are invalid decimals")
    else:
        _check_list(
            spec.get("containerPorts"),
            "Container Ports for Flux App are invalid",
            element=_is_str,
            bad_element="Container Port of Flux App is invalid",
            bad_decimals="Container Ports for Flux App are invalid decimals",
        )
    if not isinstance(spec.get("tiered", UNDEFINED), bool):
        raise AppSpecError(_TIERED_VALUE)
    _check_resources(spec)
    if spec["tiered"]:
        _check_tiers(spec)


def _check_component(component: Any, version: int | float) -> None:
    if component is None or isinstance(component, list):
        raise AppSpecError(_INVALID_SPECS)
    if not isinstance(component, dict) or not isinstance(component.get("name"), str):
        raise AppSpecError("Invalid Flux App component name")
    name = component["name"]
    if not isinstance(component.get("description"), str):
        raise AppSpecError(f"Invalid Flux App component {name} description")
    _check_list(
        component.get("ports"),
        f"Ports for Flux App component {name} are invalid",
        element=is_number,
        bad_decimals=f"Ports for Flux App component {name} are invalid decimals",
    )
    _all_strings(component.get("domains"), f"Domains for Flux App component {name} are invalid")
    _all_strings(
        component.get("environmentParameters"),
        f"Environment parameters for Flux App component {name} are invalid",
    )
    _all_strings(component.get("commands"), f"Flux App component {name} commands are invalid")
    _check_list(
        component.get("containerPorts"),
        f"Container Ports for Flux App component {name} are invalid",
        element=is_number,
        bad_decimals=f"Container Ports for Flux App component {name} are invalid decimals",
    )
    if version <= 7:
        if not isinstance(component.get("tiered"), bool):
            raise AppSpecError(_TIERED_VALUE)
        _check_resources(component)
        if component["tiered"]:
            _check_tiers(component)
        if version == 7 and not isinstance(component.get("secrets"), str):
            raise AppSpecError(f"Secrets for Flux App component {name} are invalid")
    else:
        _check_resources(component)
    if version >= 7 and not isinstance(component.get("repoauth"), str):
        raise AppSpecError(f"Repository Authentication for Flux App component {name} are invalid")


def _check_compose(spec: AppSpec, version: int | float) -> None:
    if version > 7:
        enterprise = spec.get("enterprise", UNDEFINED)
        if enterprise is None or enterprise is UNDEFINED:
            raise AppSpecError("Missing enterprise property")
        nodes = spec.get("nodes", UNDEFINED)
        if not truthy(enterprise) and truthy(nodes) and (js_length(nodes) or 0) > 0:
            raise AppSpecError("Nodes can only be used in enterprise apps")
    compose = spec.get("compose", UNDEFINED)
    if not truthy(compose):
        raise AppSpecError("Missing Flux App specification parameter compose")
    if not isinstance(compose, list):
        raise AppSpecError(_INVALID_SPECS)
    for component in compose:
        _check_component(component, version)


def _check_tail(spec: AppSpec, version: int | float, enterprise_owners: Collection[str]) -> None:
    def get(key: str) -> Any:
        return spec.get(key, UNDEFINED)

    if version >= 3:
        if not truthy(get("instances")):
            raise AppSpecError("Missing Flux App specification parameter instances")
        if not is_number(get("instances")):
            raise AppSpecError("Invalid instances specification")
        if not is_integer(get("instances")) or not is_decimal_limit(get("instances"), 0):
            raise AppSpecError("Invalid instances specified")
    if version >= 5:
        _all_strings(get("contacts"), "Contacts for Flux App are invalid")
        _all_strings(get("geolocation"), "Geolocation for Flux App are invalid")
    if version >= 6:
        if not truthy(get("expire")):
            raise AppSpecError("Missing Flux App specification parameter expire")
        if not is_number(get("expire")):
            raise AppSpecError("Invalid expire specification")
        if not is_integer(get("expire")) or not is_decimal_limit(get("expire"), 0):
            raise AppSpecError("Invalid expire specified")
    if version >= 7:
        if not truthy(get("nodes")):
            raise AppSpecError("Missing Flux App specification parameter nodes")
        _all_strings(get("nodes"), "Nodes for Flux App are invalid")
        if not isinstance(get("staticip"), bool):
            raise AppSpecError(
                "Invalid static ip value obtained. Only boolean as true or false allowed."
            )
    if version >= 8:
        datacenter = get("datacenter")
        if datacenter is not UNDEFINED and not isinstance(datacenter, bool):
            raise AppSpecError(
                "Invalid datacenter value obtained. Only undefined, true, or false allowed."
            )
        if datacenter is True and get("owner") not in enterprise_owners:
            raise AppSpecError(
                "Datacenter requirement is only available for enterprise app owners."
            )


def check_types(spec: AppSpec, enterprise_owners: Collection[str] = ()) -> None:
    """Raise AppSpecError unless every field of `spec` has the type its version requires."""

    def get(key: str) -> Any:
        return spec.get(key, UNDEFINED)

    version = get("version")
    if not truthy(version):
        raise AppSpecError("Missing Flux App specification parameter version")
    if not (truthy(get("name")) and truthy(get("description")) and truthy(get("owner"))):
        raise AppSpecError(
            "Missing Flux App specification parameter name and/or description and/or owner"
        )
    if not is_number(version):
        raise AppSpecError("Invalid Flux App version")
    if not is_decimal_limit(version):
        raise AppSpecError("Invalid Flux App version decimals")
    for key in ("name", "description", "owner"):
        if not isinstance(get(key), str):
            raise AppSpecError(f"Invalid Flux App {key}")
    if version == 1:
        if not (truthy(get("port")) and truthy(get("containerPort"))):
            raise AppSpecError("Missing Flux App specification parameter port and/or containerPort")
    elif 2 <= version <= 3 and not (
        truthy(get("ports")) and truthy(get("domains")) and truthy(get("containerPorts"))
    ):
        raise AppSpecError(
            "Missing Flux App specification parameter port and/or containerPort and/or domains"
        )
    if version <= 3:
        _check_legacy(spec, version)
    else:
        _check_compose(spec, version)
    _check_tail(spec, version, enterprise_owners)
