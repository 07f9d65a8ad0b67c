"""Fluxnode start/confirm transactions (explorer.md §4.6) and the fluxtxs filter rule."""

import pytest

from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE, FluxnodeTx
from fluxos.chain.outpoint import OutPoint, hash_from_hex
from fluxos.chain.transaction import Transaction
from fluxos.errors import BadParameter
from fluxos.explorer.blocks import tx_from_json
from fluxos.explorer.fluxnodetxs import FILTER_RULE, filter_field, recognise_fluxnode_tx
from tests.support.chaintxs import rendered

COLLATERAL = "ab" * 32


def fluxnode_tx(payload: FluxnodeTx, version: int = 5) -> Transaction:
    return Transaction(version=version, overwintered=False, version_group_id=0, fluxnode=payload)


def test_confirm_transaction() -> None:
    payload = FluxnodeTx(
        CONFIRM_TX_TYPE,
        OutPoint(hash_from_hex(COLLATERAL), 3),
        sig_time=1_700_000_000,
        benchmark_tier=2,
        update_type=1,
        ip="10.1.2.3:16137",
        sig=b"s" * 65,
        benchmark_sig=b"b" * 65,
    )
    view = tx_from_json(rendered(fluxnode_tx(payload)), position=4)
    record = recognise_fluxnode_tx(view, 2_000_000)
    assert record is not None
    assert record.to_api() == {
        "txid": view.txid,
        "version": 5,
        "type": "Confirming a fluxnode",
        "updateType": 1,
        "ip": "10.1.2.3:16137",
        "benchTier": "NIMBUS",
        "collateralHash": COLLATERAL,
        "collateralIndex": 3,
        "zelAddress": None,
        "fluxAddress": None,
        "lockedAmount": None,
        "height": 2_000_000,
    }


def test_start_transaction_v6() -> None:
    payload = FluxnodeTx(
        START_TX_TYPE,
        OutPoint(hash_from_hex(COLLATERAL), 0),
        collateral_pubkey=b"\x02" + b"c" * 32,
        pubkey=b"\x03" + b"p" * 32,
        flux_tx_version=1,
        sig=b"s" * 65,
    )
    view = tx_from_json(rendered(fluxnode_tx(payload, version=6)))
    record = recognise_fluxnode_tx(view, 2_000_001)
    assert record is not None
    assert (record.type, record.version, record.collateral_index) == ("Starting a fluxnode", 6, 0)
    assert record.update_type is None and record.benchmark_tier is None


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("47.22.47.180", "ip"),
        (COLLATERAL, "collateral"),
        ("t1edbnsYnGXxyYNt4kJJPhZktDWNaKwkznY", "address"),
        ("t3aGJvdtd8NR6GrnqnRuVEzH6MbrXuJFLUX", "address"),
    ],
)
def test_filter_field(value: str, field: str) -> None:
    assert filter_field(value) == field


@pytest.mark.parametrize("value", ["short", "x" * 38, "y" * 63])
def test_filter_rule(value: str) -> None:
    with pytest.raises(BadParameter, match=FILTER_RULE):
        filter_field(value)


def test_missing_filter() -> None:
    with pytest.raises(BadParameter, match="No filter provided"):
        filter_field(None)
