"""The spawner's decisions (apps.md §10): who keeps a claim, which copy goes, where an
app may run, how long a node defers it."""

from __future__ import annotations

import random

from fluxos.clock import ManualClock
from fluxos.runtime.requirements import NodeFacts
from fluxos.runtime.spawnrules import (
    DEFER_SMALL_ON_NIMBUS,
    DEFER_STATIC_IP,
    DEFER_TARGETED,
    GlobalApp,
    Placement,
    SpecChange,
    TtlSet,
    deferral,
    expires_in_time,
    geolocation_allows,
    loses_after_install,
    loses_claim,
    nodes_allow,
    pick,
    removes_in_cleanup,
    spec_change,
)

ME = "10.0.0.5:16127"


def app(name: str = "web", **fields: object) -> GlobalApp:
    spec: dict[str, object] = {
        "version": 8,
        "name": name,
        "instances": 2,
        "nodes": [],
        "geolocation": [],
        "compose": [{"name": "c", "cpu": 0.5, "ram": 500, "hdd": 5}],
        **fields,
    }
    return GlobalApp(spec, f"hash-{name}", expire_height=10_000)


def facts(**changes: object) -> NodeFacts:
    values: dict[str, object] = {
        "tier": "basic", "cores": 8, "ram_mb": 32000, "ssd_gb": 500, "ip": ME,
        "static_ip": False, "datacenter": False, "collateral": "tx:0",
    }  # fmt: skip
    values.update(changes)
    return NodeFacts(**values)  # type: ignore[arg-type]


def test_claims_are_served_in_broadcast_order() -> None:
    running = [Placement("10.0.0.1:16127", 1)]
    claims = [Placement("10.0.0.9:16127", 300), Placement(ME, 200), Placement("10.0.0.7", 100)]
    # one slot left (2 instances, 1 running): only the earliest claimer (10.0.0.7) goes on
    assert loses_claim(running, claims, 2, ME)
    assert not loses_claim(running, claims, 2, "10.0.0.7:16127")
    # two slots left: the second claimer goes on too, the third does not
    assert not loses_claim(running, claims, 3, ME)
    assert loses_claim(running, claims, 3, "10.0.0.9:16127")
    # no contention: everyone goes on
    assert not loses_claim([], [Placement(ME, 5)], 2, ME)


def test_after_install_the_oldest_copies_stay() -> None:
    running = [Placement("10.0.0.1", 100), Placement(ME, 300), Placement("10.0.0.2", None)]
    assert loses_after_install(running, 2, ME)  # no runningSince counts as oldest
    assert not loses_after_install(running, 3, ME)
    assert not loses_after_install(running, 2, "10.0.0.1:16127")


def test_cleanup_removes_the_newest_copy_only() -> None:
    running = [Placement("10.0.0.1", 100), Placement(ME, 300), Placement("10.0.0.2", 200)]
    assert removes_in_cleanup(running, 2, ME)
    assert not removes_in_cleanup(running, 2, "10.0.0.2")
    assert not removes_in_cleanup(running, 3, ME)
    # a tie on runningSince: the higher IP goes
    tie = [Placement("10.0.0.1", 100), Placement("10.0.0.9", 100)]
    assert removes_in_cleanup(tie, 1, "10.0.0.9")
    assert not removes_in_cleanup(tie, 1, "10.0.0.1")


def test_geolocation_rules() -> None:
    here = "EU_DE_Bavaria"
    assert geolocation_allows([], None)
    assert geolocation_allows(["acEU"], here)
    assert geolocation_allows(["acNA", "acEU_DE"], here)
    assert not geolocation_allows(["acNA"], here)
    assert not geolocation_allows(["a!cEU_DE"], here)
    assert not geolocation_allows(["a!cEU_NONE"], here)  # _NONE stripped: all of EU
    assert geolocation_allows(["a!cEU_FR"], here)
    assert not geolocation_allows(["acEU"], None)  # a rule and no known location


def test_nodes_and_expiry() -> None:
    assert nodes_allow(app(), ME)
    assert nodes_allow(app(version=7, nodes=["10.0.0.5"]), ME)
    assert not nodes_allow(app(version=7, nodes=["10.0.0.6"]), ME)
    assert nodes_allow(app(nodes=["10.0.0.6"]), ME)  # v8: deferred instead
    assert expires_in_time(app(), 9_899)
    assert not expires_in_time(app(), 9_900)


def test_deferrals() -> None:
    assert deferral(app(nodes=["10.0.0.6"]), facts(), ME) == DEFER_TARGETED
    assert deferral(app(nodes=[ME]), facts(static_ip=True), ME) is None
    assert deferral(app(), facts(static_ip=True), ME) == DEFER_STATIC_IP
    assert deferral(app(staticip=True), facts(static_ip=True), ME) is None
    assert deferral(app(), facts(tier="super"), ME) == DEFER_SMALL_ON_NIMBUS
    assert deferral(app(), facts(), ME) is None


def test_pick_prefers_apps_naming_this_node() -> None:
    rng = random.Random(7)
    named = app("mine", nodes=[ME])
    others = [app("a"), app("b"), app("c")]
    assert {pick([*others, named], ME, rng).name for _ in range(20)} == {"mine"}
    assert {pick(others, ME, rng).name for _ in range(60)} == {"a", "b", "c"}


def test_ttl_set_forgets_on_the_clock() -> None:
    clock = ManualClock()
    seen = TtlSet(clock)
    seen.add("h", 60)
    assert "h" in seen
    clock.advance(59)
    assert "h" in seen
    clock.advance(1)
    assert "h" not in seen


def test_spec_changes() -> None:
    base = app("web", compose=[{"name": "a", "hdd": 5, "ram": 100}, {"name": "b", "hdd": 5}])
    spec = base.spec
    assert spec_change(spec, {**spec, "instances": 5, "description": "x"}) == SpecChange(
        record=True
    )
    more_ram = {**spec, "compose": [{"name": "a", "hdd": 5, "ram": 200}, {"name": "b", "hdd": 5}]}
    assert spec_change(spec, more_ram) == SpecChange(soft=(0,))
    bigger = {**spec, "compose": [{"name": "a", "hdd": 5, "ram": 100}, {"name": "b", "hdd": 9}]}
    assert spec_change(spec, bigger) == SpecChange(hard=(1,))
    renamed = {**spec, "compose": [{"name": "a", "hdd": 5, "ram": 100}, {"name": "c", "hdd": 5}]}
    assert spec_change(spec, renamed) == SpecChange(reinstall=True)
    assert spec_change({**spec, "version": 3}, spec) == SpecChange(reinstall=True)
    assert spec_change(spec, {**spec, "staticip": True}) == SpecChange(soft=(0, 1))
