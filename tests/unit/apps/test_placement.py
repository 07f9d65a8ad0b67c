"""Which tiers' smallest machines have room for a spec, and which listed nodes qualify."""

from __future__ import annotations

from tests.unit.apps.spec_samples import component, v8_spec

from fluxos.apps.formatter import format_spec
from fluxos.apps.placement import candidates, feasibility, fits_tier
from fluxos.bench.tiers import Tier

LIST = [
    {"ip": "10.0.0.1", "tier": "CUMULUS", "txhash": "a", "outidx": "0"},
    {"ip": "10.0.0.2:16137", "tier": "NIMBUS", "txhash": "b", "outidx": "1"},
    {"ip": "10.0.0.3", "tier": "STRATUS", "txhash": "c", "outidx": "0"},
    {"ip": "", "tier": "STRATUS", "txhash": "d", "outidx": "0"},  # no address
]


def spec(**parts: object) -> dict[str, object]:
    return format_spec(v8_spec(compose=[component(**parts)]))


def test_a_spec_fits_the_tiers_with_room_for_it() -> None:
    small, medium = spec(cpu=1, ram=2000, hdd=20), spec(cpu=6, ram=20000, hdd=100)
    assert [fits_tier(small, t) for t in Tier] == [True, True, True]
    # cumulus: 4 threads - 1, 7.5 GiB - 2,000 MB; nimbus: 8 - 1 threads, 29,744 MB
    assert [fits_tier(medium, t) for t in Tier] == [False, True, True]
    assert fits_tier(spec(cpu=3, ram=5680, hdd=117), Tier.CUMULUS) is True  # exactly full
    assert fits_tier(spec(cpu=3.1, ram=100, hdd=1), Tier.CUMULUS) is False


def test_feasibility_counts_the_nodes_whose_tier_fits() -> None:
    medium = spec(cpu=6, ram=20000, hdd=100)
    assert [n["ip"] for n in candidates(medium, LIST)] == ["10.0.0.2:16137", "10.0.0.3"]
    answer = feasibility(dict(medium, instances=3), LIST)
    assert answer["feasible"] is False and answer["eligible"] == 2
    assert answer["eligibleByTier"] == {"cumulus": 0, "nimbus": 1, "stratus": 1}
    assert answer["tiersThatFit"] == ["nimbus", "stratus"]
    geo = feasibility(dict(spec(), instances=3, geolocation=["acEU"], staticip=True), LIST)
    assert geo["feasible"] is True and geo["unchecked"] == ["staticip", "geolocation"]


def test_a_v7_spec_with_nodes_only_counts_the_named_ones() -> None:
    pinned = dict(spec(), version=7, nodes=["10.0.0.2", "c:0"])
    assert [n["ip"] for n in candidates(pinned, LIST)] == ["10.0.0.2:16137", "10.0.0.3"]
