"""The block reward of daemon.md §7.5, at heights fluxd's own tests use."""

from __future__ import annotations

from fluxos.chain.amounts import COIN
from fluxos.chain.params import (
    CUMULUS,
    NIMBUS,
    PON_ACTIVATION_HEIGHT,
    PON_REDUCTION_INTERVAL,
    STRATUS,
    block_subsidy,
    dev_fund_amount,
    fluxnode_subsidy,
)


def test_pon_subsidy_and_split() -> None:
    h = PON_ACTIVATION_HEIGHT
    assert block_subsidy(h) == block_subsidy(2_200_000) == 14 * COIN
    assert [fluxnode_subsidy(h, t) for t in (CUMULUS, NIMBUS, STRATUS)] == [
        COIN,
        350_000_000,
        9 * COIN,
    ]
    assert dev_fund_amount(h) == COIN // 2  # 0.5 of 14, as fluxd's test_pon checks
    assert block_subsidy(h + PON_REDUCTION_INTERVAL - 1) == 14 * COIN
    assert block_subsidy(h + PON_REDUCTION_INTERVAL) == 1_260_000_000  # −10 % per year
    assert dev_fund_amount(h + PON_REDUCTION_INTERVAL) == 45_000_000
    assert block_subsidy(h + 30 * PON_REDUCTION_INTERVAL) == block_subsidy(
        h + 20 * PON_REDUCTION_INTERVAL
    )


def test_pre_pon_schedule() -> None:
    assert block_subsidy(1) == 13_020_000 * COIN
    assert block_subsidy(2) == 150 * COIN // 5000 * 2  # slow start
    assert block_subsidy(600_000) == 150 * COIN
    assert block_subsidy(1_500_000) == 150 * COIN // 4  # capped at two halvings
    assert fluxnode_subsidy(559_999, CUMULUS) == 0
    assert fluxnode_subsidy(600_000, STRATUS) == int(150 * COIN * 0.15)
    assert fluxnode_subsidy(900_000, STRATUS) == int(75 * COIN * 0.30)  # doubled after the rebrand
    assert dev_fund_amount(1_000_000) == 0
