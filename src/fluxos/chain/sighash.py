"""ZIP-243 signature hashing for Sapling (v4) transactions.

Every Flux upgrade since Acadia shares Zcash's Sapling branch id 0x76b809bb, so that is the
default. `SighashCache` precomputes the per-transaction sub-hashes (prevouts, sequences,
outputs, joinsplits, shielded parts) once, as fluxd's PrecomputedTransactionData does,
so signing or verifying many inputs costs one final BLAKE2b each.
"""

from __future__ import annotations

import hashlib
import struct

from fluxos.chain.serialization import compact_size
from fluxos.chain.transaction import Transaction, TxOut

SAPLING_BRANCH_ID = 0x76B809BB
SIGHASH_ALL = 1
SIGHASH_NONE = 2
SIGHASH_SINGLE = 3
SIGHASH_ANYONECANPAY = 0x80
SIGHASH_NAMES = {
    SIGHASH_ALL: "ALL",
    SIGHASH_ALL | SIGHASH_ANYONECANPAY: "ALL|ANYONECANPAY",
    SIGHASH_NONE: "NONE",
    SIGHASH_NONE | SIGHASH_ANYONECANPAY: "NONE|ANYONECANPAY",
    SIGHASH_SINGLE: "SINGLE",
    SIGHASH_SINGLE | SIGHASH_ANYONECANPAY: "SINGLE|ANYONECANPAY",
}
NOT_AN_INPUT = -1  # hash the transaction without committing to any input (joinsplit signing)
_ZERO = bytes(32)


class SighashError(ValueError):
    """The transaction cannot be hashed for signing (not v4, input out of range)."""


def _blake(person: bytes, data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32, person=person).digest()


def _txout_bytes(out: TxOut) -> bytes:
    return struct.pack("<q", out.value) + compact_size(len(out.script_pubkey)) + out.script_pubkey


class SighashCache:
    """ZIP-243 digests for one transaction; build once, call `digest` per input."""

    def __init__(self, tx: Transaction, branch_id: int = SAPLING_BRANCH_ID) -> None:
        if not tx.is_sapling:
            raise SighashError("ZIP-243 applies to Sapling (v4) transactions only")
        self.tx = tx
        self.personal = b"ZcashSigHash" + struct.pack("<I", branch_id)
        self._prevouts = _blake(
            b"ZcashPrevoutHash",
            b"".join(i.prevout.txid + struct.pack("<I", i.prevout.n) for i in tx.vin),
        )
        self._sequences = _blake(
            b"ZcashSequencHash", b"".join(struct.pack("<I", i.sequence) for i in tx.vin)
        )
        self._outputs = _blake(b"ZcashOutputsHash", b"".join(_txout_bytes(o) for o in tx.vout))
        self._joinsplits = (
            _blake(b"ZcashJSplitsHash", b"".join(tx.joinsplits) + tx.joinsplit_pubkey)
            if tx.joinsplits
            else _ZERO
        )
        # spendAuthSig (the last 64 bytes of a spend) is not committed to
        self._spends = (
            _blake(b"ZcashSSpendsHash", b"".join(s[:-64] for s in tx.shielded_spends))
            if tx.shielded_spends
            else _ZERO
        )
        self._shielded_outputs = (
            _blake(b"ZcashSOutputHash", b"".join(tx.shielded_outputs))
            if tx.shielded_outputs
            else _ZERO
        )

    def digest(self, n_in: int, script_code: bytes, amount: int, hash_type: int) -> bytes:
        """The 32-byte sighash of input `n_in` (or NOT_AN_INPUT) spending `amount` satoshis."""
        tx = self.tx
        base = hash_type & 0x1F
        anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
        if n_in != NOT_AN_INPUT and not 0 <= n_in < len(tx.vin):
            raise SighashError(f"input index {n_in} out of range")
        prevouts = _ZERO if anyone_can_pay else self._prevouts
        sequences = (
            _ZERO if anyone_can_pay or base in (SIGHASH_SINGLE, SIGHASH_NONE) else self._sequences
        )
        if base not in (SIGHASH_SINGLE, SIGHASH_NONE):
            outputs = self._outputs
        elif base == SIGHASH_SINGLE and 0 <= n_in < len(tx.vout):
            outputs = _blake(b"ZcashOutputsHash", _txout_bytes(tx.vout[n_in]))
        else:
            outputs = _ZERO
        parts = [
            struct.pack("<II", tx.header(), tx.version_group_id),
            prevouts,
            sequences,
            outputs,
            self._joinsplits,
            self._spends,
            self._shielded_outputs,
            struct.pack("<IIqI", tx.lock_time, tx.expiry_height, tx.value_balance, hash_type),
        ]
        if n_in != NOT_AN_INPUT:
            txin = tx.vin[n_in]
            parts.append(txin.prevout.txid + struct.pack("<I", txin.prevout.n))
            parts.append(compact_size(len(script_code)) + script_code)
            parts.append(struct.pack("<qI", amount, txin.sequence))
        return _blake(self.personal, b"".join(parts))


def signature_hash(
    tx: Transaction,
    n_in: int,
    script_code: bytes,
    amount: int,
    hash_type: int,
    branch_id: int = SAPLING_BRANCH_ID,
) -> bytes:
    """One-shot ZIP-243 sighash (use SighashCache for several inputs of one transaction)."""
    return SighashCache(tx, branch_id).digest(n_in, script_code, amount, hash_type)
