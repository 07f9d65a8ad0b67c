from typing import Any

import pytest
from tests.unit.apps.spec_samples import component, seed_spec, v3_spec, v8_spec

from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.updates import check_update_compatibility, check_update_rules


def fmt(spec: dict[str, Any]) -> dict[str, Any]:
    return format_spec(spec)


def rejection(spec: dict[str, Any], previous: dict[str, Any]) -> str:
    with pytest.raises(AppSpecError) as error:
        check_update_rules(fmt(spec), fmt(previous))
    return error.value.message


def test_everything_but_identity_may_change() -> None:
    previous = seed_spec()
    changed = dict(seed_spec(), instances=10, expire=44000, description="other", owner="1Other")
    changed["compose"][0].update(repotag="runonflux/blockbook-docker:v2", cpu=4)
    check_update_rules(fmt(changed), fmt(previous))


def test_version_changes_must_target_the_latest_version() -> None:
    previous = dict(seed_spec(), version=6)
    del previous["nodes"], previous["staticip"]
    for part in ("secrets", "repoauth"):
        del previous["compose"][0][part]
    # v6 -> v8 still keeps the components: only 8 -> 8 may restructure them
    check_update_rules(fmt(v8_spec(compose=[component(name="blockbookneurai")])), fmt(previous))
    assert "not found in new specification" in rejection(v8_spec(), previous)
    assert rejection(seed_spec(), previous).startswith(
        "Application update rejected: Version changes are only allowed when updating to version 8"
        " (current latest supported version). Current version: 6, Attempted version: 7."
    )


def test_v4_to_v7_keep_their_components() -> None:
    two = seed_spec()
    two["compose"].append(dict(two["compose"][0], name="second", ports=[38384, 38385]))
    assert "Cannot change the number of components" in rejection(seed_spec(), two)
    renamed = seed_spec()
    renamed["compose"][0]["name"] = "renamed"
    assert 'Component "blockbookneurai" not found in new specification' in rejection(
        renamed, seed_spec()
    )


def test_v8_may_restructure_components() -> None:
    check_update_rules(
        fmt(v8_spec(compose=[component(name="a"), component(name="b")])), fmt(v8_spec())
    )


def test_no_way_back_to_single_containers() -> None:
    # The API rejects the version change first; gossip applies only the structural rule.
    assert "Version changes are only allowed" in rejection(v3_spec(), v8_spec())
    with pytest.raises(AppSpecError, match=r'Cannot downgrade "oldapp" from v4\+ to v3\.'):
        check_update_compatibility(fmt(v3_spec()), fmt(v8_spec(name="oldapp")))


def test_legacy_apps_keep_their_image() -> None:
    check_update_rules(fmt(v8_spec()), fmt(v3_spec()))  # v1-3 -> v8 is a redeploy
    message = rejection(v3_spec(repotag="a/b:d"), v3_spec())
    assert 'Previous repotag: "a/b:c", New repotag: "a/b:d"' in message
