"""Tier decision table, boundaries included (file named apart from other packages' tests)."""

from dataclasses import replace

import pytest

from fluxos.bench.tiers import (
    Capacity,
    Tier,
    TierThresholds,
    decide_tier,
    default_thresholds,
)
from fluxos.errors import BadParameter

TABLE = default_thresholds()


def exactly(tier: Tier) -> Capacity:
    """A machine that meets `tier`'s thresholds with nothing to spare."""
    t = TABLE[tier]
    return Capacity(
        cores=t.cores,
        threads=t.threads,
        ram_gb=t.ram_gb,
        storage_gb=t.storage_gb,
        eps=t.eps,
        write_mb_s=t.write_mb_s,
    )


def test_published_minimums_are_the_defaults() -> None:
    assert TABLE[Tier.CUMULUS] == TierThresholds(2, 4, 7.5, 220, 240, 180)
    assert TABLE[Tier.NIMBUS] == TierThresholds(4, 8, 31, 440, 640, 180)
    assert TABLE[Tier.STRATUS] == TierThresholds(8, 16, 62, 880, 1520, 400)


@pytest.mark.parametrize("tier", list(Tier))
def test_meeting_a_tier_exactly_earns_it(tier: Tier) -> None:
    decision = decide_tier(exactly(tier))
    assert decision.tier is tier
    assert decision.status == tier.name
    assert decision.error is None and decision.note is None and not decision.assumed


@pytest.mark.parametrize(
    ("field", "metric", "below"),
    [
        ("cores", "cores", 1),
        ("threads", "threads", 3),
        ("ram_gb", "ram", 7.49),
        ("storage_gb", "storage", 219.99),
        ("eps", "eps", 239.99),
        ("write_mb_s", "ddwrite", 179.99),
    ],
)
def test_just_below_cumulus_fails_naming_the_threshold(
    field: str, metric: str, below: float
) -> None:
    decision = decide_tier(replace(exactly(Tier.CUMULUS), **{field: below}))
    assert decision.tier is None
    assert decision.status == "failed"
    assert [s.metric for s in decision.shortfalls] == [metric]
    assert decision.error is not None
    assert decision.error.startswith("below CUMULUS minimum: ")
    assert metric in decision.error and "short by" in decision.error


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cores", 3),
        ("threads", 7),
        ("ram_gb", 30.99),
        ("storage_gb", 439),
        ("eps", 639.9),
    ],
)
def test_just_below_nimbus_falls_back_to_cumulus(field: str, value: float) -> None:
    decision = decide_tier(replace(exactly(Tier.NIMBUS), **{field: value}))
    assert decision.tier is Tier.CUMULUS
    assert decision.error is None


def test_stratus_needs_its_faster_disk() -> None:
    slow = replace(exactly(Tier.STRATUS), write_mb_s=399)
    assert decide_tier(slow).tier is Tier.NIMBUS
    assert decide_tier(replace(slow, write_mb_s=400)).tier is Tier.STRATUS


def test_error_reports_every_missed_threshold_and_the_gap() -> None:
    small = Capacity(cores=2, threads=2, ram_gb=23.5, storage_gb=270, eps=140.5, write_mb_s=300)
    decision = decide_tier(small)
    assert decision.error == (
        "below CUMULUS minimum: threads 2 < 4 (short by 2); eps 140.5 < 240 (short by 99.5)"
    )


def test_assumed_tier_is_reported_with_the_measured_outcome() -> None:
    small = Capacity(cores=2, threads=2, ram_gb=23.5, storage_gb=270, eps=140.5, write_mb_s=300)
    decision = decide_tier(small, assume=Tier.CUMULUS)
    assert decision.tier is Tier.CUMULUS and decision.status == "CUMULUS"
    assert decision.assumed and decision.measured_tier is None
    assert decision.note is not None
    assert decision.note.startswith("tier CUMULUS assumed by configuration; measured: failed")
    assert "threads 2 < 4" in decision.note


def test_assuming_below_what_was_measured_still_reports_the_assumed_tier() -> None:
    decision = decide_tier(exactly(Tier.STRATUS), assume=Tier.CUMULUS)
    assert decision.tier is Tier.CUMULUS and decision.measured_tier is Tier.STRATUS
    assert decision.note == "tier CUMULUS assumed by configuration; measured: STRATUS"


def test_thresholds_are_configuration() -> None:
    relaxed = {Tier.CUMULUS: TierThresholds(1, 1, 1, 1, 1, 1)}
    tiny = Capacity(cores=1, threads=1, ram_gb=1, storage_gb=1, eps=1, write_mb_s=1)
    assert decide_tier(tiny, relaxed).tier is Tier.CUMULUS
    assert decide_tier(tiny).tier is None


def test_tier_names_parse_in_any_case_and_legacy_names() -> None:
    assert Tier.parse("cumulus") is Tier.CUMULUS
    assert Tier.parse(" Nimbus ") is Tier.NIMBUS
    assert Tier.parse("bamf") is Tier.STRATUS
    assert int(Tier.STRATUS) == 3
    with pytest.raises(BadParameter, match="assume_tier must be one of cumulus, nimbus"):
        Tier.parse("gold", parameter="assume_tier")


def test_negative_threshold_is_refused() -> None:
    with pytest.raises(BadParameter, match="threshold eps must be >= 0, got -1"):
        TierThresholds(1, 1, 1, 1, -1, 1)
