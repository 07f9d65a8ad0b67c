"""A transparent script interpreter: enough of fluxd's EvalScript/VerifyScript to validate
every standard spend (P2PKH, P2PK, bare and P2SH multisig) and reject the rest cleanly.

Signature checks go through a `SignatureChecker` that hashes with ZIP-243. Error texts are
fluxd's ScriptErrorString, because signrawtransaction and sendrawtransaction print them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from fluxos.chain.script import (
    OP_0,
    OP_1,
    OP_1NEGATE,
    OP_16,
    OP_PUSHDATA4,
    ScriptError,
    is_p2pkh,
    is_p2sh,
    is_valid_signature_encoding,
    iter_ops,
    script_num_decode,
    script_num_encode,
)
from fluxos.chain.sighash import SIGHASH_ANYONECANPAY, SighashCache
from fluxos.crypto.hashes import hash160, sha256
from fluxos.crypto.keys import SECP256K1_ORDER, verify_der

MAX_OPS_PER_SCRIPT = 201
MAX_STACK_SIZE = 1000
MAX_PUBKEYS_PER_MULTISIG = 20
MAX_SCRIPT_ELEMENT_SIZE = 520

# fluxd's ScriptErrorString texts
ERR_EVAL_FALSE = "Script evaluated without error but finished with a false/empty top stack element"
ERR_VERIFY = "Script failed an OP_VERIFY operation"
ERR_EQUALVERIFY = "Script failed an OP_EQUALVERIFY operation"
ERR_CHECKSIGVERIFY = "Script failed an OP_CHECKSIGVERIFY operation"
ERR_CHECKMULTISIGVERIFY = "Script failed an OP_CHECKMULTISIGVERIFY operation"
ERR_NUMEQUALVERIFY = "Script failed an OP_NUMEQUALVERIFY operation"
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
ERR_SIG_DER = "Non-canonical DER signature"
ERR_SIG_HASHTYPE = "Signature hash type missing or not understood"
ERR_SIG_HIGH_S = "Non-canonical signature: S value is unnecessarily high"
ERR_PUBKEYTYPE = "Public key is neither compressed or uncompressed"
ERR_SIG_NULLDUMMY = "Dummy CHECKMULTISIG argument must be zero"
ERR_SIG_PUSHONLY = "Only non-push operators allowed in signatures"
ERR_CLEANSTACK = "Extra items left on stack after execution"
ERR_UNKNOWN = "unknown error"

_DISABLED = {
    0x7E,
    0x7F,
    0x80,
    0x81,
    0x83,
    0x84,
    0x85,
    0x86,
    0x8D,
    0x8E,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
}
_HALF_ORDER = SECP256K1_ORDER // 2


class ScriptFailure(Exception):
    """Script evaluation failed; `str()` is fluxd's message for the reason."""


class SignatureChecker(Protocol):
    def check_sig(self, sig: bytes, pubkey: bytes, script_code: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class Flags:
    """Which of fluxd's verification rules apply (mempool uses `standard`, blocks `mandatory`)."""

    strict_der: bool = True
    low_s: bool = True
    null_dummy: bool = True
    sig_push_only: bool = True
    clean_stack: bool = True


STANDARD_FLAGS = Flags()
MANDATORY_FLAGS = Flags(low_s=False, null_dummy=False, sig_push_only=False, clean_stack=False)


class TransactionChecker:
    """Checks signatures of input `n_in` against a ZIP-243 sighash cache."""

    def __init__(self, cache: SighashCache, n_in: int, amount: int) -> None:
        self.cache = cache
        self.n_in = n_in
        self.amount = amount

    def check_sig(self, sig: bytes, pubkey: bytes, script_code: bytes) -> bool:
        if not sig:
            return False
        digest = self.cache.digest(self.n_in, script_code, self.amount, sig[-1])
        return verify_der(pubkey, sig[:-1], digest)


def _cast_bool(item: bytes) -> bool:
    for i, byte in enumerate(item):
        if byte:
            return not (i == len(item) - 1 and byte == 0x80)
    return False


def _num(item: bytes, max_size: int = 4) -> int:
    if len(item) > max_size:
        raise ScriptFailure("Script number overflow")
    return script_num_decode(item)


def _check_signature_encoding(sig: bytes, flags: Flags) -> None:
    if not sig:
        return
    if flags.strict_der and not is_valid_signature_encoding(sig):
        raise ScriptFailure(ERR_SIG_DER)
    if flags.low_s:
        len_r = sig[3]
        s = int.from_bytes(sig[6 + len_r : 6 + len_r + sig[5 + len_r]], "big")
        if s > _HALF_ORDER:
            raise ScriptFailure(ERR_SIG_HIGH_S)
    if (sig[-1] & ~SIGHASH_ANYONECANPAY) not in (1, 2, 3):
        raise ScriptFailure(ERR_SIG_HASHTYPE)


def _check_pubkey_encoding(pubkey: bytes) -> None:
    ok = (len(pubkey) == 33 and pubkey[0] in (2, 3)) or (len(pubkey) == 65 and pubkey[0] == 4)
    if not ok:
        raise ScriptFailure(ERR_PUBKEYTYPE)


def eval_script(stack: list[bytes], script: bytes, checker: SignatureChecker, flags: Flags) -> None:
    """Run `script` on `stack` in place; raises ScriptFailure with fluxd's reason."""
    if len(script) > 10_000:
        raise ScriptFailure("Script is too big")
    try:
        ops = list(iter_ops(script))
    except ScriptError as exc:
        raise ScriptFailure(ERR_BAD_OPCODE) from exc
    machine = _Machine(stack, script, checker, flags)
    op_count = 0
    for op, data in ops:
        executing = all(machine.exec_stack)
        if data is not None and len(data) > MAX_SCRIPT_ELEMENT_SIZE:
            raise ScriptFailure(ERR_PUSH_SIZE)
        if op > 0x60:
            op_count += 1
            if op_count > MAX_OPS_PER_SCRIPT:
                raise ScriptFailure(ERR_OP_COUNT)
        if op in _DISABLED:
            raise ScriptFailure(ERR_DISABLED)
        if executing and data is not None and op <= OP_PUSHDATA4:
            stack.append(data)
        elif executing or 0x63 <= op <= 0x68:
            machine.execute(op, executing)
        if len(stack) + len(machine.alt) > MAX_STACK_SIZE:
            raise ScriptFailure(ERR_STACK_SIZE)
    if machine.exec_stack:
        raise ScriptFailure(ERR_UNBALANCED)


class _Machine:
    """Stacks and the opcode dispatch of one script evaluation."""

    def __init__(
        self, stack: list[bytes], script: bytes, checker: SignatureChecker, flags: Flags
    ) -> None:
        self.stack = stack
        self.alt: list[bytes] = []
        self.exec_stack: list[bool] = []
        self.script = script
        self.checker = checker
        self.flags = flags

    def need(self, n: int) -> None:
        if len(self.stack) < n:
            raise ScriptFailure(ERR_STACK)

    def pop(self) -> bytes:
        self.need(1)
        return self.stack.pop()

    def execute(self, op: int, executing: bool) -> None:
        stack, pop, need = self.stack, self.pop, self.need
        if op == OP_0:
            stack.append(b"")
        elif op == OP_1NEGATE or OP_1 <= op <= OP_16:
            stack.append(script_num_encode(op - (OP_1 - 1)))
        elif op == 0x61 or 0xB0 <= op <= 0xB9:  # OP_NOP, OP_NOP1..10
            pass
        elif op in (0x63, 0x64):  # OP_IF / OP_NOTIF
            value = False
            if executing:
                value = _cast_bool(pop())
                if op == 0x64:
                    value = not value
            self.exec_stack.append(value)
        elif op == 0x67:  # OP_ELSE
            if not self.exec_stack:
                raise ScriptFailure(ERR_UNBALANCED)
            self.exec_stack[-1] = not self.exec_stack[-1]
        elif op == 0x68:  # OP_ENDIF
            if not self.exec_stack:
                raise ScriptFailure(ERR_UNBALANCED)
            self.exec_stack.pop()
        elif op == 0x69:  # OP_VERIFY
            if not _cast_bool(pop()):
                raise ScriptFailure(ERR_VERIFY)
        elif op == 0x6A:
            raise ScriptFailure(ERR_OP_RETURN)
        elif op == 0x6B:
            self.alt.append(pop())
        elif op == 0x6C:
            if not self.alt:
                raise ScriptFailure(ERR_ALTSTACK)
            stack.append(self.alt.pop())
        elif 0x6D <= op <= 0x7D or op == 0x82:
            self._stack_op(op)
        elif op in (0x87, 0x88):  # EQUAL / EQUALVERIFY
            equal = pop() == pop()
            if op == 0x88:
                if not equal:
                    raise ScriptFailure(ERR_EQUALVERIFY)
            else:
                stack.append(b"\x01" if equal else b"")
        elif 0x8B <= op <= 0xA5:
            self._arithmetic(op)
        elif op == 0xA6:
            stack.append(hashlib.new("ripemd160", pop()).digest())
        elif op == 0xA7:
            stack.append(hashlib.sha1(pop()).digest())  # noqa: S324 - consensus opcode
        elif op == 0xA8:
            stack.append(sha256(pop()))
        elif op == 0xA9:
            stack.append(hash160(pop()))
        elif op == 0xAA:
            stack.append(sha256(sha256(pop())))
        elif op == 0xAB:  # CODESEPARATOR: standard scripts never use it
            pass
        elif op in (0xAC, 0xAD):
            pubkey, sig = pop(), pop()
            _check_signature_encoding(sig, self.flags)
            _check_pubkey_encoding(pubkey)
            ok = self.checker.check_sig(sig, pubkey, self.script)
            if op == 0xAD:
                if not ok:
                    raise ScriptFailure(ERR_CHECKSIGVERIFY)
            else:
                stack.append(b"\x01" if ok else b"")
        elif op in (0xAE, 0xAF):
            need(1)
            _checkmultisig(op, stack, self.script, self.checker, self.flags)
        else:
            raise ScriptFailure(ERR_BAD_OPCODE)

    def _stack_op(self, op: int) -> None:
        stack, need = self.stack, self.need
        if op == 0x6D:  # 2DROP
            need(2)
            del stack[-2:]
        elif op == 0x6E:  # 2DUP
            need(2)
            stack.extend(stack[-2:])
        elif op == 0x6F:  # 3DUP
            need(3)
            stack.extend(stack[-3:])
        elif op == 0x70:  # 2OVER
            need(4)
            stack.extend(stack[-4:-2])
        elif op == 0x71:  # 2ROT
            need(6)
            moved = stack[-6:-4]
            del stack[-6:-4]
            stack.extend(moved)
        elif op == 0x72:  # 2SWAP
            need(4)
            stack[-4:] = stack[-2:] + stack[-4:-2]
        elif op == 0x73:  # IFDUP
            need(1)
            if _cast_bool(stack[-1]):
                stack.append(stack[-1])
        elif op == 0x74:  # DEPTH
            stack.append(script_num_encode(len(stack)))
        elif op == 0x75:  # DROP
            self.pop()
        elif op == 0x76:  # DUP
            need(1)
            stack.append(stack[-1])
        elif op == 0x77:  # NIP
            need(2)
            del stack[-2]
        elif op == 0x78:  # OVER
            need(2)
            stack.append(stack[-2])
        elif op in (0x79, 0x7A):  # PICK / ROLL
            n = _num(self.pop())
            if n < 0 or n >= len(stack):
                raise ScriptFailure(ERR_STACK)
            item = stack[-n - 1]
            if op == 0x7A:
                del stack[-n - 1]
            stack.append(item)
        elif op == 0x7B:  # ROT
            need(3)
            stack.append(stack.pop(-3))
        elif op == 0x7C:  # SWAP
            need(2)
            stack[-1], stack[-2] = stack[-2], stack[-1]
        elif op == 0x7D:  # TUCK
            need(2)
            stack.insert(-2, stack[-1])
        else:  # 0x82 SIZE
            need(1)
            stack.append(script_num_encode(len(stack[-1])))

    def _arithmetic(self, op: int) -> None:
        pop = self.pop
        if op <= 0x92:
            a = _num(pop())
            unary = {0x8B: a + 1, 0x8C: a - 1, 0x8F: -a, 0x90: abs(a), 0x91: int(a == 0),
                     0x92: int(a != 0)}  # fmt: skip
            if op not in unary:
                raise ScriptFailure(ERR_BAD_OPCODE)
            self.stack.append(script_num_encode(unary[op]))
        elif op == 0xA5:  # WITHIN
            hi, lo, x = _num(pop()), _num(pop()), _num(pop())
            self.stack.append(script_num_encode(int(lo <= x < hi)))
        else:
            b, a = _num(pop()), _num(pop())
            binary = {
                0x93: a + b, 0x94: a - b, 0x9A: int(a != 0 and b != 0), 0x9B: int(a != 0 or b != 0),
                0x9C: int(a == b), 0x9D: int(a == b), 0x9E: int(a != b), 0x9F: int(a < b),
                0xA0: int(a > b), 0xA1: int(a <= b), 0xA2: int(a >= b), 0xA3: min(a, b),
                0xA4: max(a, b),
            }  # fmt: skip
            if op == 0x9D:
                if not binary[op]:
                    raise ScriptFailure(ERR_NUMEQUALVERIFY)
            else:
                self.stack.append(script_num_encode(binary[op]))


def _checkmultisig(
    op: int, stack: list[bytes], script: bytes, checker: SignatureChecker, flags: Flags
) -> None:
    if not stack:
        raise ScriptFailure(ERR_STACK)
    n_keys = _num(stack.pop())
    if not 0 <= n_keys <= MAX_PUBKEYS_PER_MULTISIG:
        raise ScriptFailure(ERR_PUBKEY_COUNT)
    if len(stack) < n_keys + 1:
        raise ScriptFailure(ERR_STACK)
    keys = [stack.pop() for _ in range(n_keys)]
    n_sigs = _num(stack.pop())
    if not 0 <= n_sigs <= n_keys:
        raise ScriptFailure(ERR_SIG_COUNT)
    if len(stack) < n_sigs + 1:
        raise ScriptFailure(ERR_STACK)
    sigs = [stack.pop() for _ in range(n_sigs)]
    dummy = stack.pop()
    if flags.null_dummy and dummy:
        raise ScriptFailure(ERR_SIG_NULLDUMMY)
    ok = True
    ki = 0
    for si, sig in enumerate(sigs):
        _check_signature_encoding(sig, flags)
        while ki < len(keys):
            key = keys[ki]
            ki += 1
            _check_pubkey_encoding(key)
            if checker.check_sig(sig, key, script):
                break
            if len(sigs) - si > len(keys) - ki:
                ok = False
                break
        else:
            ok = False
        if not ok:
            break
    if op == 0xAF:
        if not ok:
            raise ScriptFailure(ERR_CHECKMULTISIGVERIFY)
    else:
        stack.append(b"\x01" if ok else b"")


def _is_push_only(script: bytes) -> bool:
    try:
        return all(op <= OP_16 for op, _ in iter_ops(script))
    except ScriptError:
        return False


def _p2pkh_fast(
    script_sig: bytes, script_pubkey: bytes, checker: SignatureChecker, flags: Flags
) -> bool:
    """The common case in a few byte checks; False means "use the full interpreter".

    Only a fully valid spend returns True, so every failure still gets fluxd's exact
    error from the general path.
    """
    if not script_sig or script_sig[0] > 75:
        return False
    sig_len = script_sig[0]
    at = 1 + sig_len
    if at >= len(script_sig) or script_sig[at] not in (33, 65):
        return False
    key_len = script_sig[at]
    if at + 1 + key_len != len(script_sig):
        return False
    sig = script_sig[1:at]
    pubkey = script_sig[at + 1 :]
    if hash160(pubkey) != script_pubkey[3:23]:
        return False
    try:
        _check_signature_encoding(sig, flags)
        _check_pubkey_encoding(pubkey)
    except ScriptFailure:
        return False
    return checker.check_sig(sig, pubkey, script_pubkey)


def verify_script(
    script_sig: bytes,
    script_pubkey: bytes,
    checker: SignatureChecker,
    flags: Flags = STANDARD_FLAGS,
) -> None:
    """fluxd's VerifyScript with P2SH; raises ScriptFailure(reason) when the spend is invalid."""
    if is_p2pkh(script_pubkey) and _p2pkh_fast(script_sig, script_pubkey, checker, flags):
        return
    if flags.sig_push_only and not _is_push_only(script_sig):
        raise ScriptFailure(ERR_SIG_PUSHONLY)
    stack: list[bytes] = []
    eval_script(stack, script_sig, checker, flags)
    p2sh_stack = list(stack)
    eval_script(stack, script_pubkey, checker, flags)
    if not stack or not _cast_bool(stack[-1]):
        raise ScriptFailure(ERR_EVAL_FALSE)
    if is_p2sh(script_pubkey):
        if not _is_push_only(script_sig):
            raise ScriptFailure(ERR_SIG_PUSHONLY)
        stack = p2sh_stack
        if not stack:
            raise ScriptFailure(ERR_EVAL_FALSE)
        redeem = stack.pop()
        eval_script(stack, redeem, checker, flags)
        if not stack or not _cast_bool(stack[-1]):
            raise ScriptFailure(ERR_EVAL_FALSE)
    if flags.clean_stack and len(stack) != 1:
        raise ScriptFailure(ERR_CLEANSTACK)
