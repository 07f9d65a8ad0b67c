"""fluxd's script interpreter (EvalScript/VerifyScript), rule for rule, under the daemon's
verification flags (`fluxos.chain.scriptcheck`).

Flux inherits Zcash's script rules: OP_CODESEPARATOR is disabled with the other disabled
opcodes, strict DER is always enforced, CHECKLOCKTIMEVERIFY (NOP2) applies under its flag,
CHECKMULTISIG's keys count towards the 201-operation limit, and signatures hash with the
digest of the transaction's format (ZIP-243 for v4). Error texts are fluxd's
ScriptErrorString, because signrawtransaction and sendrawtransaction print them.
"""

from __future__ import annotations

import hashlib

from fluxos.chain.script import (
    OP_0,
    OP_1,
    OP_1NEGATE,
    OP_16,
    OP_PUSHDATA1,
    OP_PUSHDATA2,
    OP_PUSHDATA4,
    ScriptError,
    is_p2pkh,
    is_p2sh,
    iter_ops,
    script_num_encode,
)
from fluxos.chain.scriptcheck import (
    BLOCK_FLAGS,
    ERR_ALTSTACK,
    ERR_BAD_OPCODE,
    ERR_CHECKMULTISIGVERIFY,
    ERR_CHECKSIGVERIFY,
    ERR_CLEANSTACK,
    ERR_DISABLED,
    ERR_DISCOURAGE_NOPS,
    ERR_EQUALVERIFY,
    ERR_EVAL_FALSE,
    ERR_MINIMALDATA,
    ERR_NEGATIVE_LOCKTIME,
    ERR_NUMEQUALVERIFY,
    ERR_OP_COUNT,
    ERR_OP_RETURN,
    ERR_PUBKEY_COUNT,
    ERR_PUSH_SIZE,
    ERR_SCRIPT_SIZE,
    ERR_SIG_COUNT,
    ERR_SIG_NULLDUMMY,
    ERR_SIG_PUSHONLY,
    ERR_STACK,
    ERR_STACK_SIZE,
    ERR_UNBALANCED,
    ERR_UNKNOWN,
    ERR_UNSATISFIED_LOCKTIME,
    ERR_VERIFY,
    MANDATORY_FLAGS,
    STANDARD_FLAGS,
    STANDARD_NOT_MANDATORY_FLAGS,
    Flags,
    NullChecker,
    ScriptFailure,
    SignatureChecker,
    TransactionChecker,
    check_pubkey_encoding,
    check_signature_encoding,
)
from fluxos.crypto.hashes import hash160, sha256

__all__ = [
    "BLOCK_FLAGS",
    "MANDATORY_FLAGS",
    "STANDARD_FLAGS",
    "STANDARD_NOT_MANDATORY_FLAGS",
    "Flags",
    "NullChecker",
    "ScriptFailure",
    "SignatureChecker",
    "TransactionChecker",
    "eval_script",
    "verify_script",
]

MAX_OPS_PER_SCRIPT = 201
MAX_STACK_SIZE = 1000
MAX_PUBKEYS_PER_MULTISIG = 20
MAX_SCRIPT_ELEMENT_SIZE = 520
MAX_SCRIPT_SIZE = 10_000

OP_NOP = 0x61
OP_IF, OP_NOTIF, OP_ELSE, OP_ENDIF = 0x63, 0x64, 0x67, 0x68
OP_NOP1, OP_CHECKLOCKTIMEVERIFY, OP_NOP10 = 0xB0, 0xB1, 0xB9

# OP_CAT … OP_RSHIFT and, in Zcash and Flux, OP_CODESEPARATOR: fail even unexecuted
_DISABLED = frozenset(
    (0x7E, 0x7F, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x8D, 0x8E, 0x95, 0x96, 0x97, 0x98, 0x99, 0xAB)
)


def _cast_bool(item: bytes) -> bool:
    for i, byte in enumerate(item):
        if byte:
            return not (i == len(item) - 1 and byte == 0x80)
    return False


def _num(item: bytes, minimal: bool, max_size: int = 4) -> int:
    """CScriptNum(item, fRequireMinimal, max_size); a bad number is fluxd's unknown error."""
    if len(item) > max_size:
        raise ScriptFailure(ERR_UNKNOWN)
    if not item:
        return 0
    if minimal and item[-1] & 0x7F == 0 and (len(item) == 1 or not item[-2] & 0x80):
        raise ScriptFailure(ERR_UNKNOWN)
    value = int.from_bytes(item, "little")
    if item[-1] & 0x80:
        return -(value & ~(0x80 << (8 * (len(item) - 1))))
    return value


def _is_minimal_push(op: int, data: bytes) -> bool:
    size = len(data)
    if size == 0:
        return op == OP_0
    if size == 1 and 1 <= data[0] <= 16:
        return op == OP_1 + data[0] - 1
    if size == 1 and data[0] == 0x81:
        return op == OP_1NEGATE
    if size <= 75:
        return op == size
    if size <= 255:
        return op == OP_PUSHDATA1
    if size <= 65535:
        return op == OP_PUSHDATA2
    return True


def eval_script(stack: list[bytes], script: bytes, checker: SignatureChecker, flags: Flags) -> None:
    """Run `script` on `stack` in place; raises ScriptFailure with fluxd's reason."""
    if len(script) > MAX_SCRIPT_SIZE:
        raise ScriptFailure(ERR_SCRIPT_SIZE)
    machine = _Machine(stack, script, checker, flags)
    minimal = bool(flags & Flags.MINIMALDATA)
    exec_stack = machine.exec_stack
    try:
        for op, data in iter_ops(script):
            executing = False not in exec_stack
            if data is not None and len(data) > MAX_SCRIPT_ELEMENT_SIZE:
                raise ScriptFailure(ERR_PUSH_SIZE)
            if op > OP_16:
                machine.op_count += 1
                if machine.op_count > MAX_OPS_PER_SCRIPT:
                    raise ScriptFailure(ERR_OP_COUNT)
            if op in _DISABLED:
                raise ScriptFailure(ERR_DISABLED)
            if executing and op <= OP_PUSHDATA4:
                assert data is not None
                if minimal and not _is_minimal_push(op, data):
                    raise ScriptFailure(ERR_MINIMALDATA)
                stack.append(data)
            elif executing or OP_IF <= op <= OP_ENDIF:
                machine.execute(op, executing)
            if len(stack) + len(machine.alt) > MAX_STACK_SIZE:
                raise ScriptFailure(ERR_STACK_SIZE)
    except ScriptError as exc:  # a push running past the end, met where it starts
        raise ScriptFailure(ERR_BAD_OPCODE) from exc
    if exec_stack:
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
        self.minimal = bool(flags & Flags.MINIMALDATA)
        self.op_count = 0

    def need(self, n: int) -> None:
        if len(self.stack) < n:
            raise ScriptFailure(ERR_STACK)

    def pop(self) -> bytes:
        self.need(1)
        return self.stack.pop()

    def num(self, item: bytes) -> int:
        return _num(item, self.minimal)

    def execute(self, op: int, executing: bool) -> None:
        stack, pop, flags = self.stack, self.pop, self.flags
        if op == OP_1NEGATE or OP_1 <= op <= OP_16:
            stack.append(script_num_encode(op - (OP_1 - 1)))
        elif op == OP_NOP:
            pass
        elif op == OP_CHECKLOCKTIMEVERIFY:
            self._check_lock_time()
        elif OP_NOP1 <= op <= OP_NOP10:
            if flags & Flags.DISCOURAGE_UPGRADABLE_NOPS:
                raise ScriptFailure(ERR_DISCOURAGE_NOPS)
        elif op in (OP_IF, OP_NOTIF):
            value = False
            if executing:
                if not stack:
                    raise ScriptFailure(ERR_UNBALANCED)
                value = _cast_bool(stack.pop())
                if op == OP_NOTIF:
                    value = not value
            self.exec_stack.append(value)
        elif op == OP_ELSE:
            if not self.exec_stack:
                raise ScriptFailure(ERR_UNBALANCED)
            self.exec_stack[-1] = not self.exec_stack[-1]
        elif op == OP_ENDIF:
            if not self.exec_stack:
                raise ScriptFailure(ERR_UNBALANCED)
            self.exec_stack.pop()
        elif op == 0x69:  # OP_VERIFY
            self.need(1)
            if not _cast_bool(stack[-1]):
                raise ScriptFailure(ERR_VERIFY)
            stack.pop()
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
            self.need(2)
            equal = pop() == pop()
            if op == 0x88:
                if not equal:
                    raise ScriptFailure(ERR_EQUALVERIFY)
            else:
                stack.append(b"\x01" if equal else b"")
        elif 0x8B <= op <= 0xA5 and op not in (0x8D, 0x8E):
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
        elif op in (0xAC, 0xAD):
            self.need(2)
            sig, pubkey = stack[-2], stack[-1]
            check_signature_encoding(sig, flags)
            check_pubkey_encoding(pubkey, flags)
            ok = self.checker.check_sig(sig, pubkey, self.script)
            del stack[-2:]
            if op == 0xAD:
                if not ok:
                    raise ScriptFailure(ERR_CHECKSIGVERIFY)
            else:
                stack.append(b"\x01" if ok else b"")
        elif op in (0xAE, 0xAF):
            self._checkmultisig(op)
        else:  # OP_0 never gets here (a push); OP_RESERVED, OP_VER(IF), unknown bytes
            raise ScriptFailure(ERR_BAD_OPCODE)

    def _check_lock_time(self) -> None:
        flags = self.flags
        if not flags & Flags.CHECKLOCKTIMEVERIFY:  # not enabled: a NOP2
            if flags & Flags.DISCOURAGE_UPGRADABLE_NOPS:
                raise ScriptFailure(ERR_DISCOURAGE_NOPS)
            return
        self.need(1)
        # five bytes: lock times run to 2**32 - 1, beyond the 4-byte number limit
        lock_time = _num(self.stack[-1], self.minimal, max_size=5)
        if lock_time < 0:
            raise ScriptFailure(ERR_NEGATIVE_LOCKTIME)
        if not self.checker.check_lock_time(lock_time):
            raise ScriptFailure(ERR_UNSATISFIED_LOCKTIME)

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
            need(2)
            n = self.num(stack.pop())
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
        stack, num = self.stack, self.num
        if op <= 0x92:
            self.need(1)
            a = num(stack[-1])
            unary = {0x8B: a + 1, 0x8C: a - 1, 0x8F: -a, 0x90: abs(a), 0x91: int(a == 0),
                     0x92: int(a != 0)}  # fmt: skip
            stack[-1] = script_num_encode(unary[op])
        elif op == 0xA5:  # WITHIN
            self.need(3)
            x, lo, hi = num(stack[-3]), num(stack[-2]), num(stack[-1])
            del stack[-3:]
            stack.append(b"\x01" if lo <= x < hi else b"")
        else:
            self.need(2)
            a, b = num(stack[-2]), num(stack[-1])
            del stack[-2:]
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
                stack.append(script_num_encode(binary[op]))

    def _checkmultisig(self, op: int) -> None:
        """([sigs] n_sigs [keys] n_keys -- bool), walking keys and signatures as fluxd does."""
        stack, flags = self.stack, self.flags
        i = 1
        self.need(i)
        n_keys = self.num(stack[-i])
        if not 0 <= n_keys <= MAX_PUBKEYS_PER_MULTISIG:
            raise ScriptFailure(ERR_PUBKEY_COUNT)
        self.op_count += n_keys
        if self.op_count > MAX_OPS_PER_SCRIPT:
            raise ScriptFailure(ERR_OP_COUNT)
        i += 1
        ikey = i
        i += n_keys
        self.need(i)
        n_sigs = self.num(stack[-i])
        if not 0 <= n_sigs <= n_keys:
            raise ScriptFailure(ERR_SIG_COUNT)
        i += 1
        isig = i
        i += n_sigs
        self.need(i)
        ok = True
        while ok and n_sigs > 0:
            sig, pubkey = stack[-isig], stack[-ikey]
            check_signature_encoding(sig, flags)
            check_pubkey_encoding(pubkey, flags)
            if self.checker.check_sig(sig, pubkey, self.script):
                isig += 1
                n_sigs -= 1
            ikey += 1
            n_keys -= 1
            if n_sigs > n_keys:  # more signatures left than keys: fail early
                ok = False
        del stack[len(stack) - (i - 1) :]
        # the extra element CHECKMULTISIG consumes (the "dummy")
        self.need(1)
        if flags & Flags.NULLDUMMY and stack[-1]:
            raise ScriptFailure(ERR_SIG_NULLDUMMY)
        stack.pop()
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

    Only a fully valid spend returns True (two direct pushes are minimal and push-only,
    and leave one item), so every failure still gets fluxd's exact error from the
    general path.
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
        check_signature_encoding(sig, flags)
        check_pubkey_encoding(pubkey, flags)
    except ScriptFailure:
        return False
    return checker.check_sig(sig, pubkey, script_pubkey)


def verify_script(
    script_sig: bytes,
    script_pubkey: bytes,
    checker: SignatureChecker,
    flags: Flags = STANDARD_FLAGS,
) -> None:
    """fluxd's VerifyScript; raises ScriptFailure(reason) when the spend is invalid."""
    if is_p2pkh(script_pubkey) and _p2pkh_fast(script_sig, script_pubkey, checker, flags):
        return
    if flags & Flags.SIGPUSHONLY and not _is_push_only(script_sig):
        raise ScriptFailure(ERR_SIG_PUSHONLY)
    stack: list[bytes] = []
    eval_script(stack, script_sig, checker, flags)
    p2sh_stack = list(stack)
    eval_script(stack, script_pubkey, checker, flags)
    if not stack or not _cast_bool(stack[-1]):
        raise ScriptFailure(ERR_EVAL_FALSE)
    if flags & Flags.P2SH and is_p2sh(script_pubkey):
        if not _is_push_only(script_sig):
            raise ScriptFailure(ERR_SIG_PUSHONLY)
        stack = p2sh_stack
        redeem = stack.pop()  # not empty: HASH160 <h> EQUAL succeeded on it
        eval_script(stack, redeem, checker, flags)
        if not stack or not _cast_bool(stack[-1]):
            raise ScriptFailure(ERR_EVAL_FALSE)
    if flags & Flags.CLEANSTACK:
        if not flags & Flags.P2SH:
            raise ValueError("CLEANSTACK needs P2SH (fluxd asserts this)")
        if len(stack) != 1:
            raise ScriptFailure(ERR_CLEANSTACK)
