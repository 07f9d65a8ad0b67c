"""Chain-parameter messages from the foundation multisig addresses (explorer.md §4.5)."""

import math

from fluxos.explorer.blocks import tx_from_json
from fluxos.explorer.chainmessages import ChainMessage, price_fork, recognise_chain_message
from fluxos.explorer.payments import MULTISIG_ADDRESS, MULTISIG_ADDRESS_B
from fluxos.explorer.prices import PriceFork
from tests.support.chaintxs import COIN, memo, p2pkh_address, pay, rendered, spend, transaction

HEIGHT = 2_200_000


def view(outputs):
    return tx_from_json(rendered(transaction([spend("22" * 32, 1)], outputs)), position=1)


def test_foundation_self_send_with_a_message() -> None:
    tx = view([pay(MULTISIG_ADDRESS, COIN), memo("p_0.03_0.01_0.004_0.02")])
    message = recognise_chain_message(tx, [MULTISIG_ADDRESS_B], HEIGHT)
    assert message == ChainMessage(tx.txid, HEIGHT, "p_0.03_0.01_0.004_0.02", "p", 1)


def test_sender_and_receiver_must_both_be_foundation() -> None:
    to_foundation = view([pay(MULTISIG_ADDRESS, COIN), memo("p_1_2_3_4")])
    assert recognise_chain_message(to_foundation, [p2pkh_address(1)], HEIGHT) is None
    assert recognise_chain_message(to_foundation, [None], HEIGHT) is None
    elsewhere = view([pay(p2pkh_address(2), COIN), memo("p_1_2_3_4")])
    assert recognise_chain_message(elsewhere, [MULTISIG_ADDRESS], HEIGHT) is None


def test_message_needs_a_version_and_a_field() -> None:
    for text in ("nounderscore", "_1_2", ""):
        outputs = [pay(MULTISIG_ADDRESS, COIN)] + ([memo(text)] if text else [])
        assert recognise_chain_message(view(outputs), [MULTISIG_ADDRESS], HEIGHT) is None


def test_price_fork_fields_and_defaults() -> None:
    fork = price_fork(ChainMessage("t", HEIGHT, "p_0.03_0.01_0.004_0.02", "p"))
    assert fork == PriceFork(
        HEIGHT, cpu=0.03, ram=0.01, hdd=0.004, min_price=0.02, port=2, scope=6, staticip=3
    )
    full = price_fork(ChainMessage("t", HEIGHT, "p_1_2_3_4_5_6_7", "p"))
    assert full == PriceFork(HEIGHT, 1, 2, 3, 4, 5, 6, 7)
    zeroes = price_fork(ChainMessage("t", HEIGHT, "p_1_2_3_4_0_x_", "p"))
    assert zeroes is not None and (zeroes.port, zeroes.scope, zeroes.staticip) == (2, 6, 3)


def test_price_fork_needs_min_price() -> None:
    assert price_fork(ChainMessage("t", HEIGHT, "p_1_2_3", "p")) is None
    assert price_fork(ChainMessage("t", HEIGHT, "p_1_2_3_", "p")) is None
    assert price_fork(ChainMessage("t", HEIGHT, "x_1_2_3_4", "x")) is None


def test_malformed_number_is_nan_like_upstream() -> None:
    fork = price_fork(ChainMessage("t", HEIGHT, "p_1_2_3_abc", "p"))
    assert fork is not None and math.isnan(fork.min_price)
