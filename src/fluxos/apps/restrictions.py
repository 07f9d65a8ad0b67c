"""Restriction checks of an app specification (§3.2): names, ports, lengths and limits.

They assume `typechecks.check_types` passed, so list fields are lists of the right
element type. Messages are upstream's, typos included ("selecteed", "in in").
"""

from __future__ import annotations

import re
from typing import Any

from fluxos.apps.errors import AppSpecError
from fluxos.apps.params import AppParams
from fluxos.apps.ports import port_in
from fluxos.apps.specs import AppSpec
from fluxos.wire.jsvalues import UNDEFINED, js_length, js_mod, to_number, to_string, truthy

APP_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?")
"""v8 app names: alphanumerics and inner hyphens."""
APP_NAME_LEGACY = re.compile(r"[a-zA-Z0-9]+")
"""App names before v8, and component names of every version."""

_SPECIAL_V8 = (
    "Flux App name contains special characters. Only a-z, A-Z, 0-9 and hyphens are allowed"
    " (hyphens cannot be first or last character)"
)
_SPECIAL = "Flux App name contains special characters. Only a-z, A-Z and 0-9 are allowed"
_COMPONENT_SPECIAL = (
    "Flux App component name contains special characters. Only a-z, A-Z and 0-9 are allowed"
)


def _longer(value: Any, limit: int) -> bool:
    # `undefined > n` is false in JS: a non-string, non-array value passes length limits.
    length = js_length(value)
    return length is not None and length > limit


def _shorter(value: Any, limit: int) -> bool:
    length = js_length(value)
    return length is not None and length < limit


def _present(holder: dict[str, Any], key: str, where: str) -> Any:
    value = holder.get(key, UNDEFINED)
    if value is None or value is UNDEFINED:
        # upstream crashes reading `.length` of it; any rejection is equivalent
        raise AppSpecError(f"Missing Flux App specification parameter {key}{where}")
    return value


def _check_name(spec: AppSpec, version: int | float) -> None:
    name: str = spec["name"]
    limit = 63 if version >= 8 else 32
    if _longer(name, limit):
        raise AppSpecError(f"Flux App name is too long. Maximum {limit} characters allowed")
    if not name:
        raise AppSpecError("Please provide a valid Flux App name")
    if version >= 8:
        if not APP_NAME.fullmatch(name):
            raise AppSpecError(_SPECIAL_V8)
    elif not APP_NAME_LEGACY.fullmatch(name):
        raise AppSpecError(_SPECIAL)
    if name.startswith("zel"):
        raise AppSpecError("Flux App name can not start with zel")
    if name.lower() == "watchtower":
        raise AppSpecError("Flux App name is conflicting with another application")
    if name.startswith("flux"):
        raise AppSpecError("Flux App name can not start with flux")


def _check_host_port(port: Any, height: int, params: AppParams) -> None:
    legacy = height < params.port_block_height_change
    low = params.port_min_legacy if legacy else params.port_min
    high = params.port_max_legacy if legacy else params.port_max
    number = to_number(port)
    if number < low or number > high:
        raise AppSpecError(
            f"Assigned port {to_string(port)} is not within Flux Apps range {low}-{high}"
        )
    if port_in(port, params.banned_ports):
        raise AppSpecError(f"Assigned port {to_string(port)} is not allowed for Flux Apps")


def _container_port_out_of_range(port: Any) -> bool:
    number = to_number(port)
    return number < 0 or number > 65535


def _check_env_and_commands(holder: dict[str, Any], env_key: str, label: str) -> None:
    env = holder[env_key]
    if len(env) > 20:
        raise AppSpecError(
            f"{label} environment invalid. Maximum of 20 environment variables allowed."
        )
    for item in env:
        if _longer(item, 400):
            raise AppSpecError(
                f"{label} environment {item} is too long. Maximum of 400 characters is allowed"
            )
    commands = holder["commands"]
    if len(commands) > 20:
        raise AppSpecError(f"{label} commands invalid. Maximum of 20 commands allowed.")
    for item in commands:
        if _longer(item, 400):
            raise AppSpecError(
                f"{label} command {item} is too long. Maximum of 400 characters is allowed"
            )


def _check_legacy(spec: AppSpec, height: int, params: AppParams) -> None:
    name = spec["name"]
    if spec["version"] == 1:
        _check_host_port(spec["port"], height, params)
        container_port = spec["containerPort"]
        if _container_port_out_of_range(container_port):
            raise AppSpecError(
                f"Container Port {to_string(container_port)} is not within system limits 0-65535"
            )
    else:
        ports, container_ports, domains = spec["ports"], spec["containerPorts"], spec["domains"]
        for port in ports:
            _check_host_port(port, height, params)
        for port in container_ports:
            if _container_port_out_of_range(port):
                raise AppSpecError(
                    f"Container Port {to_string(port)} is not within system limits 0-65535"
                )
        if len(container_ports) != len(ports):
            raise AppSpecError("Ports specifications do not match")
        if len(domains) != len(ports):
            raise AppSpecError("Domains specifications do not match available ports")
        if len(ports) > 5:
            raise AppSpecError("Too many ports defined. Maximum of 5 allowed.")
        for domain in domains:
            if _longer(domain, 253):
                raise AppSpecError(
                    f"App {name} domain {domain} is too long. Maximum of 253 characters is allowed"
                )
    container_data = _present(spec, "containerData", "")
    if _shorter(container_data, 2):
        raise AppSpecError(
            "Flux App container data folder not specified. If no data folder is whished, use /tmp"
        )
    if _longer(container_data, 200):
        raise AppSpecError(
            "Flux App Container Data is too long. Maximum of 200 characters is allowed"
        )
    if _longer(_present(spec, "repotag", ""), 200):
        raise AppSpecError("Flux App Repository is too long. Maximum of 200 characters is allowed.")
    _check_env_and_commands(spec, "enviromentParameters", f"App {name}")


def _check_component(
    spec: AppSpec, component: Any, used: list[str], height: int, params: AppParams
) -> None:
    if not truthy(component) or not isinstance(component, dict):
        raise AppSpecError("Invalid Flux App Specifications")
    version = spec["version"]
    name = component["name"]
    if not name:
        raise AppSpecError("Please provide a valid Flux App Component name")
    limit = 63 if version >= 8 else 32
    if _longer(name, limit):
        raise AppSpecError(
            f"Flux App component name is too long. Maximum {limit} characters allowed"
        )
    if name.startswith("zel"):
        raise AppSpecError("Flux App Component name can not start with zel")
    if name.startswith("flux"):
        raise AppSpecError("Flux App Component name can not start with flux")
    if not APP_NAME_LEGACY.fullmatch(name):
        raise AppSpecError(_COMPONENT_SPECIAL)
    if name in used:
        raise AppSpecError(f"Flux App component {name} already assigned. Use different name.")
    used.append(name)
    if _longer(component["description"], 256):
        raise AppSpecError("Description is too long. Maximum of 256 characters is allowed.")
    for port in component["ports"]:
        _check_host_port(port, height, params)
    where = f" in component {name}"
    if _longer(_present(component, "repotag", where), 200):
        raise AppSpecError("Flux App Repository is too long. Maximum of 200 characters is allowed.")
    container_data = _present(component, "containerData", where)
    if _longer(container_data, 200):
        raise AppSpecError(
            "Flux App Container Data is too long. Maximum of 200 characters is allowed"
        )
    _check_env_and_commands(component, "environmentParameters", f"App component {name}")
    for domain in component["domains"]:
        if _longer(domain, 253):
            raise AppSpecError(
                f"App component {name} domain {domain} is too long."
                " Maximum of 253 characters is allowed"
            )
    for port in component["containerPorts"]:
        if _container_port_out_of_range(port):
            raise AppSpecError(
                f"Container Port {to_string(port)} in in {name} is not within system limits 0-65535"
            )
    ports = component["ports"]
    if len(component["containerPorts"]) != len(ports):
        raise AppSpecError(f"Ports specifications in {name} do not match")
    if len(component["domains"]) != len(ports):
        raise AppSpecError(f"Domains specifications in {name} do not match available ports")
    if len(ports) > 5:
        raise AppSpecError(f"Too many ports defined in {name}. Maximum of 5 allowed.")
    if _shorter(container_data, 2):
        raise AppSpecError(
            f"Flux App container data folder not specified in in {name}."
            " If no data folder is whished, use /tmp"
        )
    _check_private_fields(spec, component)


def _check_private_fields(spec: AppSpec, component: dict[str, Any]) -> None:
    """Secrets and private-registry credentials, reserved for enterprise apps."""
    version = spec["version"]
    if version == 7:
        if not spec["nodes"]:  # no node scoping: not an enterprise app
            if component["secrets"]:
                raise AppSpecError("Secrets can not be defined for non Enterprise Applications")
            if component["repoauth"]:
                raise AppSpecError(
                    "Private repositories are only allowed for Enterprise Applications"
                )
        else:
            if _longer(component["secrets"], 15000):
                raise AppSpecError(
                    "Maximum length of secrets is 15000."
                    " Consider uploading to Flux Storage for bigger payload."
                )
            if _longer(component["repoauth"], 15000):
                raise AppSpecError("Maximum length of repoauth is 15000.")
    if version >= 8:
        if not truthy(spec.get("enterprise")):
            if component["repoauth"]:
                raise AppSpecError(
                    "Private repositories are only allowed for Enterprise Applications"
                )
        elif _longer(component["repoauth"], 15000):
            raise AppSpecError("Maximum length of repoauth is 15000.")


def _check_compose(spec: AppSpec, height: int, params: AppParams) -> None:
    compose = spec["compose"]
    if len(compose) < 1:
        raise AppSpecError("Flux App does not contain any composition")
    six = params.spec_enforcement_heights[6]
    limit = params.max_components_before_v6 if height < six else params.max_components
    if len(compose) > limit:
        raise AppSpecError("Flux App has too many components")
    used: list[str] = []
    for component in compose:
        _check_component(spec, component, used, height, params)


def _check_expire(expire: int | float, height: int, params: AppParams) -> None:
    if height < params.new_min_blocks_allowance_block:
        if expire < params.min_blocks_allowance:
            raise AppSpecError(
                "Minimum expiration of application is"
                f" {params.min_blocks_allowance} blocks ~ 1 week"
            )
    elif height < params.cancel1_min_blocks_allowance_block:
        if expire < params.new_min_blocks_allowance:
            raise AppSpecError(
                "Minimum expiration of application is"
                f" {params.new_min_blocks_allowance} blocks ~ 3 hours"
            )
    elif expire < params.cancel1_min_blocks_allowance:
        raise AppSpecError(
            f"Minimum expiration of application is {params.cancel1_min_blocks_allowance} blocks"
        )
    maximum = (
        params.post_pon_max_blocks_allowance
        if height >= params.daemon_pon_fork
        else params.max_blocks_allowance
    )
    if expire > maximum:
        raise AppSpecError(f"Maximum expiration of application is {maximum} blocks ~ 1 year")
    interval = params.blocks_allowance_interval
    if height < params.remove_blocks_allowance_interval_block and js_mod(expire, interval) != 0:
        raise AppSpecError(
            f"Expiration of application has to be a multiple of {interval} blocks ~ 1 day"
        )


def check_restrictions(spec: AppSpec, height: int, params: AppParams) -> None:
    """Raise AppSpecError if `spec` breaks a limit in force at `height`."""
    version = spec["version"]
    if version not in (1, 2, 3, 4, 5, 6, 7, 8):
        raise AppSpecError("Flux App message version specification is invalid")
    _check_name(spec, version)
    if _longer(spec["description"], 256):
        raise AppSpecError("Description is too long. Maximum of 256 characters is allowed")
    if version <= 3:
        _check_legacy(spec, height, params)
    else:
        _check_compose(spec, height, params)
    if version >= 3:
        minimum = (
            params.minimum_instances_v8
            if version >= 8 and height >= params.minimum_instances_v8_block
            else params.minimum_instances
        )
        if spec["instances"] < minimum:
            raise AppSpecError(f"Minimum number of instances is {minimum}")
        if spec["instances"] > params.maximum_instances:
            raise AppSpecError(f"Maximum number of instances is {params.maximum_instances}")
    if version >= 5:
        if len(spec["contacts"]) > 5:
            raise AppSpecError("Too many contacts defined. Maximum of 5 allowed.")
        for contact in spec["contacts"]:
            if _longer(contact, 75):
                raise AppSpecError(
                    f"Contact {contact} is too long. Maximum of 75 characters is allowed."
                )
        if len(spec["geolocation"]) > 10:
            raise AppSpecError("Invalid geolocation submited.")
        for geo in spec["geolocation"]:
            if _longer(geo, 50):
                raise AppSpecError(f"Geolocation {geo} is not valid.")
    if version >= 6:
        _check_expire(spec["expire"], height, params)
    if version >= 7:
        if len(spec["nodes"]) > 120:
            raise AppSpecError("Maximum number of selecteed nodes is 120")
        for node in spec["nodes"]:
            if _longer(node, 70):
                raise AppSpecError("Invalid node length")
