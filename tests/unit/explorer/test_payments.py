"""App payment recognition on crafted transactions (explorer.md §4.3, apps.md §7.2)."""

import logging

import pytest

from fluxos.explorer.blocks import tx_from_json
from fluxos.explorer.payments import (
    APP_ADDRESS,
    DEVELOPMENT_ADDRESS,
    MULTISIG_ADDRESS,
    MULTISIG_ADDRESS_B,
    AppPayment,
    PaymentRules,
    recognise_payment,
)
from fluxos.explorer.prices import PriceFork, PriceSchedule
from tests.support.chaintxs import COIN, memo, p2pkh_address, pay, rendered, spend, transaction

APP_HASH = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
HEIGHT = 2_100_000
FUNDING = "11" * 32
RULES = PaymentRules.flux()


def check(outputs, height=HEIGHT, rules=RULES, prices=None, version=4):
    tx = transaction([spend(FUNDING, 0)], outputs, version=version)
    view = tx_from_json(rendered(tx), position=3)
    return view, recognise_payment(view, height, rules, prices or PriceSchedule())


def test_op_return_last_is_a_payment() -> None:
    view, payment = check(
        [pay(p2pkh_address(1), 5 * COIN), pay(MULTISIG_ADDRESS_B, 2 * COIN), memo(APP_HASH)]
    )
    assert payment == AppPayment(APP_HASH, view.txid, HEIGHT, 2 * COIN, position=3)


def test_values_to_every_app_address_add_up() -> None:
    _, payment = check(
        [pay(APP_ADDRESS, COIN // 200), pay(MULTISIG_ADDRESS, COIN // 200), memo(APP_HASH)]
    )
    assert payment is not None and payment.value == COIN // 100


def test_change_output_after_the_op_return_hides_the_message() -> None:
    # upstream keeps the message of the last output with a script: the change resets it
    _, payment = check(
        [pay(MULTISIG_ADDRESS_B, 2 * COIN), memo(APP_HASH), pay(p2pkh_address(2), COIN)]
    )
    assert payment is None


def test_underpaid(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _, payment = check([pay(MULTISIG_ADDRESS_B, COIN // 100 - 1), memo(APP_HASH)])
    assert payment is None
    assert "below the minimum price of 0.01 FLUX" in caplog.text


def test_exact_minimum_is_enough() -> None:
    _, payment = check([pay(MULTISIG_ADDRESS_B, COIN // 100), memo(APP_HASH)])
    assert payment is not None


def test_wrong_address_is_not_a_payment() -> None:
    _, payment = check([pay(p2pkh_address(3), 50 * COIN), memo(APP_HASH)])
    assert payment is None


@pytest.mark.parametrize("message", [APP_HASH[:63], APP_HASH + "0", ""])
def test_wrong_length(message: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    outputs = [pay(MULTISIG_ADDRESS_B, COIN)]
    if message:
        outputs.append(memo(message))
    _, payment = check(outputs)
    assert payment is None
    assert f"got {len(message)}" in caplog.text


def test_addresses_count_from_their_heights() -> None:
    outputs = [pay(MULTISIG_ADDRESS_B, COIN), memo(APP_HASH)]
    assert check(outputs, height=1_670_000)[1] is not None
    assert check(outputs, height=1_669_999)[1] is None
    outputs = [pay(MULTISIG_ADDRESS, COIN), memo(APP_HASH)]
    assert check(outputs, height=1_300_000)[1] is not None
    assert check(outputs, height=1_299_999)[1] is None


def test_nothing_before_the_epoch_start() -> None:
    outputs = [pay(APP_ADDRESS, 10 * COIN), memo(APP_HASH)]
    assert check(outputs, height=694_000)[1] is not None
    assert check(outputs, height=693_999)[1] is None


def test_minimum_price_follows_the_table_by_height() -> None:
    outputs = [pay(APP_ADDRESS, COIN // 10), memo(APP_HASH)]  # 0.1 FLUX
    assert check(outputs, height=983_000)[1] is None  # 983,000's fork applies above it: 1 FLUX
    assert check(outputs, height=983_001)[1] is not None


def test_price_fork_from_chain_changes_the_minimum() -> None:
    prices = PriceSchedule()
    prices.add(PriceFork(HEIGHT - 10, cpu=1, ram=1, hdd=1, min_price=5))
    outputs = [pay(MULTISIG_ADDRESS_B, 4 * COIN), memo(APP_HASH)]
    assert check(outputs, height=HEIGHT - 10, prices=prices)[1] is not None
    assert check(outputs, height=HEIGHT - 9, prices=prices)[1] is None


def test_development_address_only_in_development_mode() -> None:
    outputs = [pay(DEVELOPMENT_ADDRESS, COIN), memo(APP_HASH)]
    assert check(outputs)[1] is None
    assert check(outputs, rules=PaymentRules.flux(development=True))[1] is not None


def test_old_transaction_versions_count_too() -> None:
    assert check([pay(APP_ADDRESS, COIN), memo(APP_HASH)], version=1)[1] is not None
