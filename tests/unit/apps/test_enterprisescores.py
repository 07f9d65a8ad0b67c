"""The enterprise node scores of apps.md §9, worked by hand from the formula."""

from __future__ import annotations

from typing import Any

from fluxos.apps.enterprisescores import (
    TRUSTED_PUBLIC_KEYS,
    YEAR_MS,
    pinned_counts,
    score_nodes,
)

NOW = 1_800_000_000_000
TRUSTED = sorted(TRUSTED_PUBLIC_KEYS)[0]


def node(ip: str, tier: str, pubkey: str, age_ms: int, txhash: str = "aa") -> dict[str, Any]:
    return {
        "ip": ip,
        "tier": tier,
        "pubkey": pubkey,
        "activesince": (NOW - age_ms) // 1000,
        "txhash": txhash,
        "outidx": 0,
        "payment_address": "t1pay",
    }


def test_scores_follow_tier_age_operator_collateral_trust_and_pinned_apps() -> None:
    entries = [
        node("10.0.0.1", "CUMULUS", "k1", YEAR_MS // 2, "t1"),  # half a year
        node("10.0.0.2", "STRATUS", "k2", 2 * YEAR_MS, "t2"),  # matured
        node("10.0.0.3", "NIMBUS", TRUSTED, 0, "t3"),  # trusted operator, new
        node("10.0.0.4:16137", "STRATUS", "k1", YEAR_MS, "t4"),  # has a port: left out
        node("", "STRATUS", "k1", YEAR_MS, "t5"),  # no address: left out
    ]
    pinned = pinned_counts(
        [
            {"version": 7, "nodes": ["10.0.0.2", "t2:0"]},  # the STRATUS node twice
            {"version": 8, "nodes": ["10.0.0.1"]},
            {"version": 6, "nodes": ["10.0.0.3"]},  # before v7 `nodes` means nothing
            {"version": 8, "nodes": []},
        ]
    )
    scored = score_nodes(entries, pinned, NOW)
    by_ip = {n["ip"]: n for n in scored}
    assert set(by_ip) == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}

    # k1 holds a cumulus and two stratus: 1 + 40 + 40 = 81 -> floor(81 x 2.5) = 202
    one = by_ip["10.0.0.1"]
    assert (one["collateralPoints"], one["maturityPoints"], one["pubKeyPoints"]) == (2, 250, 202)
    assert one["enterpriseApps"] == 1 and one["score"] == int((2 + 250 + 202) * 0.75)
    two = by_ip["10.0.0.2"]
    assert (two["collateralPoints"], two["maturityPoints"], two["pubKeyPoints"]) == (30, 500, 100)
    assert two["enterpriseApps"] == 2 and two["score"] == int(630 * 0.75 * 0.75)
    three = by_ip["10.0.0.3"]
    assert three["enterprisePoints"] == 2000 and three["enterpriseApps"] == 0
    assert three["score"] == 15 + 0 + 31 + 2000  # 12.5 x 2.5 = 31.25

    assert [n["ip"] for n in scored] == ["10.0.0.3", "10.0.0.2", "10.0.0.1"]
    assert set(scored[0]) == {
        "tier",
        "payment_address",
        "txhash",
        "outidx",
        "pubkey",
        "ip",
        "collateralPoints",
        "maturityPoints",
        "pubKeyPoints",
        "enterprisePoints",
        "enterpriseApps",
        "score",
    }


def test_key_collateral_is_capped_and_bad_fields_score_nothing() -> None:
    many = [node(f"10.1.0.{i}", "STRATUS", "whale", 0, f"w{i}") for i in range(8)]  # 320 > 200
    odd = {"ip": "10.2.0.1", "tier": "BOGUS", "pubkey": None, "activesince": "soon"}
    scored = {n["ip"]: n for n in score_nodes([*many, odd], {}, NOW)}
    assert scored["10.1.0.0"]["pubKeyPoints"] == 500
    assert scored["10.2.0.1"]["score"] == 0  # no tier, no key, an unreadable age
