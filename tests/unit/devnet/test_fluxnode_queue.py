"""The payment queue order of fluxd's FluxnodeListData, on FluxnodeRecord.queue_key."""

from __future__ import annotations

from fluxos.chain.outpoint import OutPoint
from fluxos.devnet.fluxnodes import CONFIRMED, FluxnodeRecord


def node(tag: int, confirmed: int, paid: int = 0) -> FluxnodeRecord:
    return FluxnodeRecord(
        collateral=OutPoint(bytes([tag]) * 32, 0),
        status=CONFIRMED,
        tier=1,
        amount=1000,
        collateral_pubkey=b"",
        pubkey=b"",
        payment_script=b"",
        added_height=confirmed - 1,
        confirmed_height=confirmed,
        last_paid_height=paid,
    )


def test_oldest_payment_or_confirmation_goes_first() -> None:
    never_paid_old = node(3, confirmed=100)
    paid_early = node(1, confirmed=50, paid=120)
    never_paid_new = node(2, confirmed=130)
    queue = sorted([never_paid_new, paid_early, never_paid_old], key=FluxnodeRecord.queue_key)
    assert queue == [never_paid_old, paid_early, never_paid_new]


def test_ties_put_unpaid_first_then_order_by_outpoint() -> None:
    paid_at_200 = node(1, confirmed=10, paid=200)
    confirmed_at_200 = node(9, confirmed=200)
    other_confirmed_at_200 = node(5, confirmed=200)
    queue = sorted(
        [paid_at_200, confirmed_at_200, other_confirmed_at_200], key=FluxnodeRecord.queue_key
    )
    assert queue == [other_confirmed_at_200, confirmed_at_200, paid_at_200]
