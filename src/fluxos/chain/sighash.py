"""Signature hashing: ZIP-243 (Sapling v4), ZIP-143 (Overwinter v3) and the legacy
Sprout digest (v1/v2), as fluxd's SignatureHash picks them by transaction format.

Every Flux upgrade since Acadia shares Zcash's Sapling branch id 0x76b809bb, so that is the
default. `SighashCache` precomputes the per-transaction sub-hashes (prevouts, sequences,
outputs, joinsplits, shielded parts) once, as fluxd's PrecomputedTransactionData does,
so signing or verifying many inputs costs one final BLAKE2b each. Only v4 transactions
reach a block today (fluxd's contextual checks refuse the others); the older digests exist
so the daemon's own test vectors run against this code.
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
    """ZIP-243 (v4) or ZIP-143 (v3) digests for one transaction; build once, call `digest`
    per input."""

    def __init__(self, tx: Transaction, branch_id: int = SAPLING_BRANCH_ID) -> None:
        if not (tx.is_sapling or tx.is_overwinter_v3):
            raise SighashError("ZIP-243/ZIP-143 apply to Overwinter and Sapling transactions only")
        self.tx = tx
        self.sapling = tx.is_sapling
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
        hash_type &= 0xFFFFFFFF  # fluxd serialises the int as 4 little-endian bytes
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
        ]
        if self.sapling:
            parts.append(self._spends)
            parts.append(self._shielded_outputs)
            parts.append(
                struct.pack("<IIqI", tx.lock_time, tx.expiry_height, tx.value_balance, hash_type)
            )
        else:
            parts.append(struct.pack("<III", tx.lock_time, tx.expiry_height, hash_type))
        if n_in != NOT_AN_INPUT:
            txin = tx.vin[n_in]
            parts.append(txin.prevout.txid + struct.pack("<I", txin.prevout.n))
            parts.append(compact_size(len(script_code)) + script_code)
            parts.append(struct.pack("<qI", amount, txin.sequence))
        return _blake(self.personal, b"".join(parts))


class LegacySighash:
    """The Sprout digest of v1/v2 transactions (fluxd's CTransactionSignatureSerializer):
    double SHA-256 of a modified copy of the transaction. No OP_CODESEPARATOR handling —
    fluxd disables that opcode — and SIGHASH_SINGLE without a matching output is an error
    (so the signature fails), not Bitcoin's digest of 1."""

    def __init__(self, tx: Transaction) -> None:
        if tx.overwintered:
            raise SighashError("the legacy digest applies to Sprout (v1/v2) transactions only")
        self.tx = tx

    def digest(self, n_in: int, script_code: bytes, amount: int, hash_type: int) -> bytes:
        del amount  # Sprout signatures do not commit to the amount
        tx = self.tx
        hash_type &= 0xFFFFFFFF
        base = hash_type & 0x1F
        anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
        single, none = base == SIGHASH_SINGLE, base == SIGHASH_NONE
        if not 0 <= n_in < len(tx.vin):
            raise SighashError(f"input index {n_in} out of range")
        if single and n_in >= len(tx.vout):
            raise SighashError("no matching output for SIGHASH_SINGLE")
        parts = [struct.pack("<I", tx.header())]
        inputs = [n_in] if anyone_can_pay else range(len(tx.vin))
        parts.append(compact_size(len(inputs)))
        for i in inputs:
            txin = tx.vin[i]
            parts.append(txin.prevout.txid + struct.pack("<I", txin.prevout.n))
            script = script_code if i == n_in else b""
            parts.append(compact_size(len(script)) + script)
            sequence = 0 if i != n_in and (single or none) else txin.sequence
            parts.append(struct.pack("<I", sequence))
        n_out = 0 if none else (n_in + 1 if single else len(tx.vout))
        parts.append(compact_size(n_out))
        for i in range(n_out):
            if single and i != n_in:
                parts.append(_NULL_TXOUT)
            else:
                parts.append(_txout_bytes(tx.vout[i]))
        parts.append(struct.pack("<I", tx.lock_time))
        if tx.version >= 2:
            parts.append(compact_size(len(tx.joinsplits)))
            parts.extend(tx.joinsplits)
            if tx.joinsplits:
                parts.append(tx.joinsplit_pubkey + bytes(64))
        parts.append(struct.pack("<I", hash_type))
        data = b"".join(parts)
        return hashlib.sha256(hashlib.sha256(data).digest()).digest()


_NULL_TXOUT = struct.pack("<q", -1) + b"\x00"  # CTxOut(): value -1, empty script


def sighasher(tx: Transaction, branch_id: int = SAPLING_BRANCH_ID) -> SighashCache | LegacySighash:
    """The digest fluxd's SignatureHash uses for this transaction's format."""
    if tx.overwintered:
        return SighashCache(tx, branch_id)
    return LegacySighash(tx)


def signature_hash(
    tx: Transaction,
    n_in: int,
    script_code: bytes,
    amount: int,
    hash_type: int,
    branch_id: int = SAPLING_BRANCH_ID,
) -> bytes:
    """One-shot sighash (use SighashCache for several inputs of one transaction)."""
    return sighasher(tx, branch_id).digest(n_in, script_code, amount, hash_type)
