"""Rules an update must follow against the app's previous specification (§4.2)."""

from __future__ import annotations

from fluxos.apps.errors import AppSpecError
from fluxos.apps.params import MAINNET, AppParams
from fluxos.apps.specs import AppSpec
from fluxos.wire.jsvalues import to_number, to_string


def check_update_rules(spec: AppSpec, previous: AppSpec, params: AppParams = MAINNET) -> None:
    """Raise AppSpecError if formatted `spec` may not replace `previous` (the API's rules).

    Version changes must target the latest version, then `check_update_compatibility`.
    """
    latest = params.latest_spec_version
    old, new = previous.get("version"), spec.get("version")
    if old != new and new != latest:
        raise AppSpecError(
            "Application update rejected: Version changes are only allowed when updating to"
            f" version {latest} (current latest supported version). Current version:"
            f" {to_string(old)}, Attempted version: {to_string(new)}. To update this"
            f" application, please use version {latest} specifications."
        )
    check_update_compatibility(spec, previous)


def check_update_compatibility(spec: AppSpec, previous: AppSpec) -> None:
    """The structural rules every node applies, gossip included.

    v1-3 apps keep their image; v4+ apps keep their components' number and names unless
    both versions are 8+; v4+ apps never go back to v1-3.
    """
    old, new = to_number(previous.get("version")), to_number(spec.get("version"))
    name = spec.get("name")
    if new >= 4:
        if old >= 4 and not (new >= 8 and old >= 8):
            _check_same_components(spec, previous)
        return
    if old >= 4:
        raise AppSpecError(
            f'Application update rejected: Cannot downgrade "{name}" from v4+ to v{to_string(new)}.'
            " Version rollbacks from v4+ specifications to older versions (v1-3) are not"
            f" permitted. Current version: v{to_string(old)}, Attempted version: v{to_string(new)}."
        )
    if previous.get("repotag") != spec.get("repotag"):
        raise AppSpecError(
            "Application update rejected: Cannot change Docker image repository/tag for v1-3"
            f' application "{name}". Previous repotag: "{previous.get("repotag")}", New repotag:'
            f' "{spec.get("repotag")}". Repository tag changes are only allowed for v4+'
            " applications. Consider upgrading to v4+ specification format."
        )


def _check_same_components(spec: AppSpec, previous: AppSpec) -> None:
    name = spec.get("name")
    old, new = previous["compose"], spec["compose"]
    if len(new) != len(old):
        raise AppSpecError(
            f'Application update rejected: Cannot change the number of components for "{name}".'
            f" Previous version has {len(old)} component(s), new version has {len(new)}."
            " Component count must remain constant for v4-7 applications. Upgrade to version 8"
            " to enable this feature."
        )
    new_names = [component.get("name") for component in new]
    for component in old:
        if component.get("name") not in new_names:
            old_list = ", ".join(str(c.get("name")) for c in old)
            new_list = ", ".join(str(n) for n in new_names)
            raise AppSpecError(
                f'Application update rejected: Component "{component.get("name")}" not found in'
                f' new specification for "{name}". Component names must remain constant for v4-7'
                f" applications. Previous components: [{old_list}], New components: [{new_list}]."
                " Upgrade to version 8 to enable component name changes. Note: Docker image tags"
                " (repotag) can be changed."
            )
