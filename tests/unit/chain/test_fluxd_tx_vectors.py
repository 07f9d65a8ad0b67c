"""fluxd's tx_valid.json / tx_invalid.json, run as its transaction_tests.cpp runs them.

Each entry is [[[prevout txid, prevout index, prevout scriptPubKey], …], raw transaction,
flags]; one-element entries are comments. A valid entry passes CheckTransaction and every
input's VerifyScript (amount 0, the Sprout branch id: all these are v1 transactions, so
the legacy digest applies); an invalid entry fails CheckTransaction or some input.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.fluxdvectors import load
from tests.support.scripttext import parse_script

from fluxos.chain.interpreter import ScriptFailure, TransactionChecker, verify_script
from fluxos.chain.outpoint import OutPoint, hash_from_hex
from fluxos.chain.scriptcheck import parse_flags
from fluxos.chain.sighash import sighasher
from fluxos.chain.transaction import Transaction
from fluxos.devnet.validation import TxRejected, check_transaction

SPROUT_BRANCH_ID = 0


def _cases(name: str) -> list[tuple[int, list[Any]]]:
    return [(i, e) for i, e in enumerate(load(name)) if isinstance(e[0], list)]


VALID = _cases("tx_valid.json")
INVALID = _cases("tx_invalid.json")


def run(entry: list[Any]) -> None:
    """Raises TxRejected or ScriptFailure as fluxd would refuse the entry's transaction."""
    inputs, raw, flag_text = entry
    assert len(entry) == 3 and all(len(i) == 3 for i in inputs), f"bad test {entry}"
    prevouts = {
        OutPoint(hash_from_hex(txid), n & 0xFFFFFFFF): parse_script(script)
        for txid, n, script in inputs
    }
    tx = Transaction.from_hex(raw)
    check_transaction(tx)
    flags = parse_flags(flag_text)
    digests = sighasher(tx, SPROUT_BRANCH_ID)
    for n, txin in enumerate(tx.vin):
        assert txin.prevout in prevouts, f"bad test: no prevout for input {n}"
        checker = TransactionChecker(digests, n, 0)
        verify_script(txin.script_sig, prevouts[txin.prevout], checker, flags)


@pytest.mark.parametrize(("index", "entry"), VALID, ids=[f"#{i}" for i, _ in VALID])
def test_tx_valid(index: int, entry: list[Any]) -> None:
    try:
        run(entry)
    except (TxRejected, ScriptFailure) as exc:
        pytest.fail(f"fluxd accepts entry {index}, fluxos says: {exc}")


@pytest.mark.parametrize(("index", "entry"), INVALID, ids=[f"#{i}" for i, _ in INVALID])
def test_tx_invalid(index: int, entry: list[Any]) -> None:
    with pytest.raises((TxRejected, ScriptFailure)):
        run(entry)


def test_the_files_are_all_read() -> None:
    assert (len(VALID), len(INVALID)) == (32, 54)
