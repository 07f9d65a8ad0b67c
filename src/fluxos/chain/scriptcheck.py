"""What the script interpreter asks of its context: fluxd's verification flags, its error
texts, the encoding rules for signatures and public keys, and the signature/lock-time
checkers (`TransactionChecker` for a real spend, `NullChecker` when there is none).

Consensus (blocks) and relay policy (the mempool) differ only in which flags they pass:
`BLOCK_FLAGS` is what fluxd's ConnectBlock uses, `STANDARD_FLAGS` what its mempool uses,
`MANDATORY_FLAGS` the subset whose failure makes a transaction invalid rather than
merely non-standard.
"""

from __future__ import annotations

from enum import IntFlag
from typing import Protocol

from fluxos.chain.script import is_valid_signature_encoding
from fluxos.chain.sighash import SIGHASH_ANYONECANPAY, LegacySighash, SighashCache, SighashError
from fluxos.crypto.keys import SECP256K1_ORDER, verify_der


class Flags(IntFlag):
    """fluxd's SCRIPT_VERIFY_* bits (same values; DERSIG has no bit, it is always on)."""

    NONE = 0
    P2SH = 1 << 0
    STRICTENC = 1 << 1
    LOW_S = 1 << 3
    NULLDUMMY = 1 << 4
    SIGPUSHONLY = 1 << 5
    MINIMALDATA = 1 << 6
    DISCOURAGE_UPGRADABLE_NOPS = 1 << 7
    CLEANSTACK = 1 << 8
    CHECKLOCKTIMEVERIFY = 1 << 9


MANDATORY_FLAGS = Flags.P2SH
BLOCK_FLAGS = Flags.P2SH | Flags.CHECKLOCKTIMEVERIFY
STANDARD_FLAGS = (
    MANDATORY_FLAGS
    | Flags.STRICTENC
    | Flags.MINIMALDATA
    | Flags.NULLDUMMY
    | Flags.DISCOURAGE_UPGRADABLE_NOPS
    | Flags.CLEANSTACK
    | Flags.CHECKLOCKTIMEVERIFY
    | Flags.LOW_S
)
STANDARD_NOT_MANDATORY_FLAGS = STANDARD_FLAGS & ~MANDATORY_FLAGS


def parse_flags(text: str) -> Flags:
    """A comma-separated list of flag names ("P2SH,STRICTENC", "NONE", "") as the daemon's
    test data writes them; ValueError names an unknown one."""
    flags = Flags.NONE
    for word in filter(None, text.split(",")):
        try:
            flags |= Flags[word]
        except KeyError:
            raise ValueError(f"unknown verification flag {word!r}") from None
    return flags


# fluxd's ScriptErrorString texts
ERR_EVAL_FALSE = "Script evaluated without error but finished with a false/empty top stack element"
ERR_VERIFY = "Script failed an OP_VERIFY operation"
ERR_EQUALVERIFY = "Script failed an OP_EQUALVERIFY operation"
ERR_CHECKSIGVERIFY = "Script failed an OP_CHECKSIGVERIFY operation"
ERR_CHECKMULTISIGVERIFY = "Script failed an OP_CHECKMULTISIGVERIFY operation"
ERR_NUMEQUALVERIFY = "Script failed an OP_NUMEQUALVERIFY operation"
ERR_SCRIPT_SIZE = "Script is too big"
ERR_OP_RETURN = "OP_RETURN was encountered"
ERR_BAD_OPCODE = "Opcode missing or not understood"
ERR_DISABLED = "Attempted to use a disabled opcode"
ERR_STACK = "Operation not valid with the current stack size"
ERR_ALTSTACK = "Operation not valid with the current altstack size"
ERR_UNBALANCED = "Invalid OP_IF construction"
ERR_OP_COUNT = "Operation limit exceeded"
ERR_PUSH_SIZE = "Push value size limit exceeded"
ERR_STACK_SIZE = "Stack size limit exceeded"
ERR_SIG_COUNT = "Signature count negative or greater than pubkey count"
ERR_PUBKEY_COUNT = "Pubkey count negative or limit exceeded"
ERR_NEGATIVE_LOCKTIME = "Negative locktime"
ERR_UNSATISFIED_LOCKTIME = "Locktime requirement not satisfied"
ERR_SIG_DER = "Non-canonical DER signature"
ERR_SIG_HASHTYPE = "Signature hash type missing or not understood"
ERR_MINIMALDATA = "Data push larger than necessary"
ERR_SIG_HIGH_S = "Non-canonical signature: S value is unnecessarily high"
ERR_PUBKEYTYPE = "Public key is neither compressed or uncompressed"
ERR_SIG_NULLDUMMY = "Dummy CHECKMULTISIG argument must be zero"
ERR_SIG_PUSHONLY = "Only non-push operators allowed in signatures"
ERR_DISCOURAGE_NOPS = "NOPx reserved for soft-fork upgrades"
ERR_CLEANSTACK = "Extra items left on stack after execution"
ERR_UNKNOWN = "unknown error"  # also what a malformed or oversized number raises

LOCKTIME_THRESHOLD = 500_000_000
_HALF_ORDER = SECP256K1_ORDER // 2


class ScriptFailure(Exception):
    """Script evaluation failed; `str()` is fluxd's message for the reason."""


def check_signature_encoding(sig: bytes, flags: Flags) -> None:
    """fluxd's CheckSignatureEncoding: strict DER always (BIP66), low S and a defined hash
    type only under LOW_S / STRICTENC. The empty signature passes (it just fails to verify)."""
    if not sig:
        return
    if not is_valid_signature_encoding(sig):
        raise ScriptFailure(ERR_SIG_DER)
    if flags & Flags.LOW_S:
        len_r = sig[3]
        s = int.from_bytes(sig[6 + len_r : 6 + len_r + sig[5 + len_r]], "big")
        if s > _HALF_ORDER:
            raise ScriptFailure(ERR_SIG_HIGH_S)
    if flags & Flags.STRICTENC and not 1 <= (sig[-1] & ~SIGHASH_ANYONECANPAY) <= 3:
        raise ScriptFailure(ERR_SIG_HASHTYPE)


def check_pubkey_encoding(pubkey: bytes, flags: Flags) -> None:
    """Under STRICTENC a key must be 33 bytes (02/03) or 65 bytes (04)."""
    if not flags & Flags.STRICTENC:
        return
    ok = (len(pubkey) == 33 and pubkey[0] in (2, 3)) or (len(pubkey) == 65 and pubkey[0] == 4)
    if not ok:
        raise ScriptFailure(ERR_PUBKEYTYPE)


def _pubkey_size_ok(pubkey: bytes) -> bool:
    # CPubKey::IsValid: the length its header byte implies (hybrid 06/07 keys included)
    if not pubkey:
        return False
    if pubkey[0] in (2, 3):
        return len(pubkey) == 33
    if pubkey[0] in (4, 6, 7):
        return len(pubkey) == 65
    return False


class SignatureChecker(Protocol):
    def check_sig(self, sig: bytes, pubkey: bytes, script_code: bytes) -> bool: ...

    def check_lock_time(self, lock_time: int) -> bool: ...


class NullChecker:
    """fluxd's BaseSignatureChecker: no transaction, so every check fails."""

    def check_sig(self, sig: bytes, pubkey: bytes, script_code: bytes) -> bool:
        return False

    def check_lock_time(self, lock_time: int) -> bool:
        return False


class TransactionChecker:
    """Checks signatures and lock times of input `n_in` of `cache.tx`."""

    def __init__(self, cache: SighashCache | LegacySighash, n_in: int, amount: int) -> None:
        self.cache = cache
        self.n_in = n_in
        self.amount = amount

    def check_sig(self, sig: bytes, pubkey: bytes, script_code: bytes) -> bool:
        if not sig or not _pubkey_size_ok(pubkey):
            return False
        try:
            digest = self.cache.digest(self.n_in, script_code, self.amount, sig[-1])
        except SighashError:
            return False
        return verify_der(pubkey, sig[:-1], digest)

    def check_lock_time(self, lock_time: int) -> bool:
        tx = self.cache.tx
        if (tx.lock_time < LOCKTIME_THRESHOLD) != (lock_time < LOCKTIME_THRESHOLD):
            return False  # a height compared with a time, or the other way round
        if lock_time > tx.lock_time:
            return False
        # a final input would let the transaction in whatever its lock time
        return tx.vin[self.n_in].sequence != 0xFFFFFFFF
