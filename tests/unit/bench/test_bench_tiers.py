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


# The public minimum hardware of daemon.md §4.6 (cores, threads, RAM GB, SSD GB, EPS, MB/s
# write), written from the spec and not from the code's table.
SPEC_MINIMUMS = {
    Tier.CUMULUS: Capacity(cores=2, threads=4, ram_gb=8, storage_gb=220, eps=240, write_mb_s=180),
    Tier.NIMBUS: Capacity(cores=4, threads=8, ram_gb=32, storage_gb=440, eps=640, write_mb_s=180),
    Tier.STRATUS: Capacity(
        cores=8, threads=16, ram_gb=64, storage_gb=880, eps=1520, write_mb_s=400
    ),
}
BELOW = {Tier.CUMULUS: None, Tier.NIMBUS: Tier.CUMULUS, Tier.STRATUS: Tier.NIMBUS}


@pytest.mark.parametrize("tier", list(Tier))
def test_the_specs_minimum_machine_earns_its_tier(tier: Tier) -> None:
    assert decide_tier(SPEC_MINIMUMS[tier]).tier is tier


# (field, how far short): RAM as the system reports it, a nominal machine showing a little
# less than its size, so the bench allows a margin; a tenth less is another machine. Cumulus
# and Nimbus share one write minimum, so only Stratus has a tier below it for writes.
SHORTFALLS = [
    *(
        (tier, field, short)
        for tier in Tier
        for field, short in [
            ("cores", 1),
            ("threads", 1),
            ("storage_gb", 0.01),
            ("eps", 0.01),
            ("ram_gb", 0.1 * SPEC_MINIMUMS[tier].ram_gb),
        ]
    ),
    (Tier.STRATUS, "write_mb_s", 0.01),
]


@pytest.mark.parametrize(("tier", "field", "short"), SHORTFALLS)
def test_short_of_the_spec_in_one_figure_is_the_tier_below(
    tier: Tier, field: str, short: float
) -> None:
    spec = SPEC_MINIMUMS[tier]
    lower = getattr(spec, field) - short
    got = decide_tier(replace(spec, **{field: lower})).tier
    assert got is BELOW[tier], f"{tier.name} with {field} {lower}: {got}"


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
