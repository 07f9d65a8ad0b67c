"""Validation of an app specification at a block height (upstream's verifyAppSpecifications).

Stages run in upstream's order and the first failure wins: types, restrictions,
activation height of the version, allowed keys, port uniqueness, hardware limits.
The image checks of the registration API live in `fluxos.apps.images`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fluxos.apps.errors import AppSpecError
from fluxos.apps.params import MAINNET, AppParams
from fluxos.apps.resources import check_compose_totals, check_single_container, check_unique_ports
from fluxos.apps.restrictions import check_restrictions
from fluxos.apps.specs import ALLOWED_COMPONENT_KEYS, ALLOWED_KEYS, KEY_NAMED_IN_ERROR, AppSpec
from fluxos.apps.typechecks import check_types
from fluxos.wire.jsvalues import own_keys, to_string


def check_keys(spec: AppSpec) -> None:
    """Reject any top-level or component key the spec's version does not define."""
    version = spec["version"]
    allowed = ALLOWED_KEYS.get(int(version)) if version in ALLOWED_KEYS else None
    if allowed is None:
        raise AppSpecError(f"Invalid version specification of {to_string(version)}")
    named = version in KEY_NAMED_IN_ERROR
    for key in own_keys(spec):
        if key not in allowed:
            suffix = f": {key}" if named else ""
            raise AppSpecError(
                f"Unsupported parameter for v{to_string(version)} app specifications{suffix}"
            )
    if version <= 3:
        return
    component_keys = ALLOWED_COMPONENT_KEYS[int(version)]
    for component in spec["compose"]:
        for key in own_keys(component):
            if key not in component_keys:
                suffix = f" in component: {key}" if named else ""
                raise AppSpecError(
                    f"Unsupported parameter for v{to_string(version)} app specifications{suffix}"
                )


def verify_app_specifications(
    spec: Any,
    height: int,
    params: AppParams = MAINNET,
    *,
    enterprise_owners: Collection[str] = (),
) -> None:
    """Raise AppSpecError unless `spec` (normally formatted) is valid at `height`.

    `enterprise_owners` are the addresses allowed to ask for datacenter nodes.
    Any JSON value may be passed; nothing but AppSpecError is raised.
    """
    if not isinstance(spec, dict):
        raise AppSpecError("Invalid Flux App Specifications")
    check_types(spec, enterprise_owners)
    check_restrictions(spec, height, params)
    version = spec["version"]
    activation = params.activation_height(version)
    if activation is not None and height < activation:
        raise AppSpecError(
            f"Flux apps specifications of version {to_string(version)} not yet supported"
        )
    check_keys(spec)
    check_unique_ports(spec)
    if version <= 3:
        check_single_container(spec, params)
    else:
        check_compose_totals(spec, params)
