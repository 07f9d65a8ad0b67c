"""ZIP-243 against Zcash's published vectors, and sign/verify of real spends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fluxos.chain.interpreter import (
    ERR_EQUALVERIFY,
    ERR_STACK,
    STANDARD_FLAGS,
    ScriptFailure,
    TransactionChecker,
    verify_script,
)
from fluxos.chain.outpoint import OutPoint
from fluxos.chain.script import multisig_script, p2pkh_script, p2sh_script
from fluxos.chain.sighash import SIGHASH_ALL, SIGHASH_SINGLE, SighashCache, signature_hash
from fluxos.chain.signing import SimpleKeyStore, sign_input
from fluxos.chain.transaction import Transaction, TxIn, TxOut
from fluxos.crypto.hashes import hash160
from fluxos.crypto.keys import PrivateKey

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "zip_0243.json").read_text())[2:]


@pytest.mark.parametrize("vector", VECTORS, ids=[str(i) for i in range(len(VECTORS))])
def test_zip243_vectors(vector: list) -> None:
    tx_hex, script_code, n_in, hash_type, amount, branch, expected = vector
    tx = Transaction.from_hex(tx_hex)
    assert tx.serialize().hex() == tx_hex
    digest = signature_hash(tx, n_in, bytes.fromhex(script_code), amount, hash_type, branch)
    assert digest.hex() == expected


def _spend(prev_script: bytes) -> Transaction:
    return Transaction(
        vin=[TxIn(OutPoint(bytes(range(32)), 3))],
        vout=[TxOut(99_990_000, p2pkh_script(bytes(20)))],
        expiry_height=2_200_020,
    )


def test_p2pkh_signature_verifies_and_tampering_fails() -> None:
    key = PrivateKey.generate()
    prev = p2pkh_script(hash160(key.public_key))
    tx = _spend(prev)
    cache = SighashCache(tx)
    script_sig, error = sign_input(cache, 0, prev, 100_000_000, SimpleKeyStore.of([key]))
    assert error is None
    tx.vin[0].script_sig = script_sig
    verify_script(script_sig, prev, TransactionChecker(SighashCache(tx), 0, 100_000_000))
    # the amount is committed to: a different prevout value breaks the signature
    with pytest.raises(ScriptFailure, match="false/empty"):
        verify_script(script_sig, prev, TransactionChecker(SighashCache(tx), 0, 100_000_001))
    # another key's hash fails the OP_EQUALVERIFY
    other = p2pkh_script(hash160(PrivateKey.generate().public_key))
    with pytest.raises(ScriptFailure) as err:
        verify_script(script_sig, other, TransactionChecker(SighashCache(tx), 0, 100_000_000))
    assert str(err.value) == ERR_EQUALVERIFY


def test_p2sh_multisig_signed_in_two_rounds() -> None:
    keys = [PrivateKey.generate() for _ in range(3)]
    redeem = multisig_script(2, [k.public_key for k in keys])
    prev = p2sh_script(hash160(redeem))
    tx = _spend(prev)
    cache = SighashCache(tx)
    first, error = sign_input(cache, 0, prev, 5_000, SimpleKeyStore.of([keys[2]], [redeem]))
    assert error == ERR_STACK  # one of two signatures: CHECKMULTISIG runs out of items
    tx.vin[0].script_sig = first
    second, error = sign_input(cache, 0, prev, 5_000, SimpleKeyStore.of([keys[0]], [redeem]))
    assert error is None
    verify_script(second, prev, TransactionChecker(cache, 0, 5_000), STANDARD_FLAGS)


def test_sighash_single_commits_to_its_own_output_only() -> None:
    tx = _spend(b"")
    tx.vout.append(TxOut(1, b"\x6a"))
    cache = SighashCache(tx)
    base = cache.digest(0, b"\x51", 7, SIGHASH_SINGLE)
    tx.vout[1] = TxOut(2, b"\x6a")
    assert SighashCache(tx).digest(0, b"\x51", 7, SIGHASH_SINGLE) == base
    assert SighashCache(tx).digest(0, b"\x51", 7, SIGHASH_ALL) != cache.digest(
        0, b"\x51", 7, SIGHASH_ALL
    )
