"""fluxd's sighash.json (as its sighash_tests.cpp reads it) and the ZIP-143 vectors of
zcash-test-vectors (the ZIP-243 ones run in test_sighash.py).

sighash.json entries are [raw transaction, script code, input index, hash type, branch id,
digest]: the transaction is checked as the daemon's test checks it (an Overwinter-format
one with a version below 3 or an expiry height at or past 500,000,000 must fail
CheckTransaction, every other must pass), then SignatureHash with amount 0 must give the
digest, written as fluxd prints a uint256 (byte-reversed). The file mixes legacy (v1/v2,
random versions), Overwinter (v3) and Sapling (v4) transactions.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.fluxdvectors import case_ids, cases, load

from fluxos.chain.sighash import signature_hash
from fluxos.chain.transaction import Transaction
from fluxos.devnet.validation import TxRejected, check_transaction

SIGHASH = cases("sighash.json")
ZIP143 = [(i, e) for i, e in enumerate(load("zip_0143.json")) if len(e) > 1 and i >= 2]
TX_EXPIRY_HEIGHT_THRESHOLD = 500_000_000


@pytest.mark.parametrize(("index", "entry"), SIGHASH, ids=case_ids(SIGHASH))
def test_sighash_json(index: int, entry: list[Any]) -> None:
    raw, script_code, n_in, hash_type, branch_id, expected = entry
    tx = Transaction.from_hex(raw)
    assert tx.serialize().hex() == raw
    must_fail = tx.overwintered and (
        tx.version < 3 or tx.expiry_height >= TX_EXPIRY_HEIGHT_THRESHOLD
    )
    try:
        check_transaction(tx)
    except TxRejected as exc:
        assert must_fail, f"entry {index}: fluxd's CheckTransaction accepts it, fluxos: {exc}"
    else:
        assert not must_fail, f"entry {index}: fluxd's CheckTransaction refuses it"
    digest = signature_hash(tx, n_in, bytes.fromhex(script_code), 0, hash_type, branch_id)
    assert digest[::-1].hex() == expected


@pytest.mark.parametrize(("index", "entry"), ZIP143, ids=case_ids(ZIP143))
def test_zip143_vectors(index: int, entry: list[Any]) -> None:
    tx_hex, script_code, n_in, hash_type, amount, branch_id, expected = entry
    tx = Transaction.from_hex(tx_hex)
    assert tx.is_overwinter_v3 and tx.serialize().hex() == tx_hex
    n = -1 if n_in is None else n_in
    digest = signature_hash(tx, n, bytes.fromhex(script_code), amount, hash_type, branch_id)
    assert digest.hex() == expected


def test_the_files_are_all_read() -> None:
    assert (len(SIGHASH), len(ZIP143)) == (500, 10)
