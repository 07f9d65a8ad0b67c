"""Transaction rules shared by the mempool and block connection, with fluxd's reject reasons.

A failure raises `TxRejected(code, reason)`; code is fluxd's REJECT_* number so the RPC
layer can answer sendrawtransaction with "<code>: <reason>" exactly as fluxd does.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from fluxos.chain.amounts import MAX_MONEY
from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE
from fluxos.chain.interpreter import (
    STANDARD_NOT_MANDATORY_FLAGS,
    Flags,
    NullChecker,
    ScriptFailure,
    TransactionChecker,
    eval_script,
    verify_script,
)
from fluxos.chain.params import (
    COINBASE_MATURITY,
    MAX_BLOCK_SIZE,
    MAX_IP_LENGTH,
    TX_EXPIRY_HEIGHT_THRESHOLD,
)
from fluxos.chain.script import OP_16, Solution, is_p2pkh, is_p2sh, iter_ops, solve
from fluxos.chain.sighash import SighashCache
from fluxos.chain.transaction import (
    OVERWINTER_VERSION_GROUP_ID,
    SAPLING_VERSION_GROUP_ID,
    Transaction,
)

REJECT_INVALID = 0x10
REJECT_DUPLICATE = 0x12
REJECT_NONSTANDARD = 0x40
REJECT_INSUFFICIENTFEE = 0x42
MAX_P2SH_SIGOPS = 15
MAX_BLOCK_SIGOPS = 20_000
_SIGOP_BYTES = (b"\xac", b"\xad", b"\xae", b"\xaf")


class TxRejected(Exception):
    """A transaction breaks a rule; `code` is fluxd's reject code, `reason` its text."""

    def __init__(self, code: int, reason: str, *, missing_inputs: bool = False) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.missing_inputs = missing_inputs


@dataclass(slots=True)
class Coin:
    """An unspent output as the UTXO set holds it."""

    value: int
    script: bytes
    height: int
    coinbase: bool


CoinLookup = Callable[[tuple[bytes, int]], Coin | None]


def check_transaction(tx: Transaction, size: int | None = None) -> None:
    """fluxd's CheckTransaction (without proof verification): rules that need no chain
    context. `size` is the serialised size when the caller already knows it."""
    if tx.is_fluxnode:
        _check_fluxnode(tx)
        return
    if not tx.overwintered and tx.version < 1:
        raise TxRejected(REJECT_INVALID, "bad-txns-version-too-low")
    if tx.overwintered:
        if tx.version < 3:
            raise TxRejected(REJECT_INVALID, "bad-tx-overwinter-version-too-low")
        if tx.version_group_id not in (OVERWINTER_VERSION_GROUP_ID, SAPLING_VERSION_GROUP_ID):
            raise TxRejected(REJECT_INVALID, "bad-tx-version-group-id")
        if tx.expiry_height >= TX_EXPIRY_HEIGHT_THRESHOLD:
            raise TxRejected(REJECT_INVALID, "bad-tx-expiry-height-too-high")
    if not tx.vin and not tx.joinsplits and not tx.shielded_spends:
        raise TxRejected(REJECT_INVALID, "bad-txns-vin-empty")
    if not tx.vout and not tx.joinsplits and not tx.shielded_outputs:
        raise TxRejected(REJECT_INVALID, "bad-txns-vout-empty")
    if (size if size is not None else len(tx.serialize())) > MAX_BLOCK_SIZE:
        raise TxRejected(REJECT_INVALID, "bad-txns-oversize")
    total = 0
    for out in tx.vout:
        if out.value < 0:
            raise TxRejected(REJECT_INVALID, "bad-txns-vout-negative")
        if out.value > MAX_MONEY:
            raise TxRejected(REJECT_INVALID, "bad-txns-vout-toolarge")
        total += out.value
        if total > MAX_MONEY:
            raise TxRejected(REJECT_INVALID, "bad-txns-txouttotal-toolarge")
    _check_shielded_values(tx, total)
    seen: set[tuple[bytes, int]] = set()
    for txin in tx.vin:
        key = (txin.prevout.txid, txin.prevout.n)
        if key in seen:
            raise TxRejected(REJECT_INVALID, "bad-txns-inputs-duplicate")
        seen.add(key)
    _check_nullifiers(tx)
    if tx.is_coinbase:
        if tx.joinsplits:
            raise TxRejected(REJECT_INVALID, "bad-cb-has-joinsplits")
        if tx.shielded_spends:
            raise TxRejected(REJECT_INVALID, "bad-cb-has-spend-description")
        if tx.shielded_outputs:
            raise TxRejected(REJECT_INVALID, "bad-cb-has-output-description")
        if not 2 <= len(tx.vin[0].script_sig) <= 100:
            raise TxRejected(REJECT_INVALID, "bad-cb-length")
    elif any(txin.prevout.is_null for txin in tx.vin):
        raise TxRejected(REJECT_INVALID, "bad-txns-prevout-null")


def _check_fluxnode(tx: Transaction) -> None:
    fn = tx.fluxnode
    if fn is None or fn.type not in (START_TX_TYPE, CONFIRM_TX_TYPE):
        raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-invalid-type")
    if fn.collateral.is_null:
        raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-null-prevout")
    if fn.type == CONFIRM_TX_TYPE:
        if fn.benchmark_tier not in (1, 2, 3):
            raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-invalid-benchmark-tier")
        if len(fn.ip.encode()) > MAX_IP_LENGTH:
            raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-ip-address-to-large")
        if fn.update_type not in (0, 1):
            raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-invalid-update-type")
    elif fn.is_p2sh and solve(fn.redeem_script).type != "multisig":
        raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-redeemscript-not-multisig")


def _check_shielded_values(tx: Transaction, value_out: int) -> None:
    """valueBalance and the joinsplits' public values, in fluxd's order and words."""
    balance = tx.value_balance
    if not tx.shielded_spends and not tx.shielded_outputs and balance != 0:
        raise TxRejected(REJECT_INVALID, "bad-txns-valuebalance-nonzero")
    if not -MAX_MONEY <= balance <= MAX_MONEY:
        raise TxRejected(REJECT_INVALID, "bad-txns-valuebalance-toolarge")
    if balance <= 0:
        value_out += -balance
        if value_out > MAX_MONEY:
            raise TxRejected(REJECT_INVALID, "bad-txns-txouttotal-toolarge")
    vpubs = [struct.unpack_from("<qq", js) for js in tx.joinsplits]
    for vpub_old, vpub_new in vpubs:
        for value, word in ((vpub_old, "vpub_old"), (vpub_new, "vpub_new")):
            if value < 0:
                raise TxRejected(REJECT_INVALID, f"bad-txns-{word}-negative")
        for value, word in ((vpub_old, "vpub_old"), (vpub_new, "vpub_new")):
            if value > MAX_MONEY:
                raise TxRejected(REJECT_INVALID, f"bad-txns-{word}-toolarge")
        if vpub_old and vpub_new:
            raise TxRejected(REJECT_INVALID, "bad-txns-vpubs-both-nonzero")
        value_out += vpub_old
        if value_out > MAX_MONEY:
            raise TxRejected(REJECT_INVALID, "bad-txns-txouttotal-toolarge")
    value_in = 0
    for _, vpub_new in vpubs:
        value_in += vpub_new
        if value_in > MAX_MONEY:
            raise TxRejected(REJECT_INVALID, "bad-txns-txintotal-toolarge")
    if balance >= 0 and value_in + balance > MAX_MONEY:
        raise TxRejected(REJECT_INVALID, "bad-txns-txintotal-toolarge")


def _check_nullifiers(tx: Transaction) -> None:
    sprout = [js[48 + 32 * k : 80 + 32 * k] for js in tx.joinsplits for k in (0, 1)]
    if len(set(sprout)) != len(sprout):
        raise TxRejected(REJECT_INVALID, "bad-joinsplits-nullifiers-duplicate")
    sapling = [spend[64:96] for spend in tx.shielded_spends]
    if len(set(sapling)) != len(sapling):
        raise TxRejected(REJECT_INVALID, "bad-spend-description-nullifiers-duplicate")


def check_contextual(tx: Transaction, height: int, size: int | None = None) -> None:
    """fluxd's ContextualCheckTransaction at `height` (Sapling and fluxnodes active)."""
    if tx.is_fluxnode:
        return
    if not tx.overwintered:
        raise TxRejected(REJECT_INVALID, "tx-overwintered-flag-not-set")
    if not tx.is_sapling:
        raise TxRejected(REJECT_INVALID, "bad-sapling-tx-version-group-id")
    if tx.expiry_height >= TX_EXPIRY_HEIGHT_THRESHOLD:
        raise TxRejected(REJECT_INVALID, "bad-tx-expiry-height-too-high")
    if tx.has_shielded:
        # fluxd refuses shielded parts since the Flux rebrand upgrade
        raise TxRejected(REJECT_INVALID, "bad-txns-fluxrebrand-vprivacy-not-empty")
    if not tx.is_coinbase and is_expired(tx, height):
        raise TxRejected(REJECT_INVALID, "tx-sapling-expired")
    if (size if size is not None else len(tx.serialize())) > MAX_BLOCK_SIZE:
        raise TxRejected(REJECT_INVALID, "bad-txns-oversize")


def is_expired(tx: Transaction, height: int) -> bool:
    return tx.expiry_height != 0 and height > tx.expiry_height


def is_final(tx: Transaction, height: int, block_time: int) -> bool:
    """Lock time satisfied at `height`/`block_time` (or every input final)."""
    if tx.lock_time == 0:
        return True
    threshold = height if tx.lock_time < 500_000_000 else block_time
    if tx.lock_time < threshold:
        return True
    return all(txin.sequence == 0xFFFFFFFF for txin in tx.vin)


def is_standard(tx: Transaction) -> None:
    """Relay policy (IsStandardTx): known output types, one OP_RETURN, push-only scriptSigs."""
    data_outputs = 0
    for out in tx.vout:
        script = out.script_pubkey
        sol = None if is_p2pkh(script) else solve(script)
        kind = "pubkeyhash" if sol is None else sol.type
        if sol is not None and kind == "multisig" and len(sol.data) > 3:
            kind = "nonstandard"  # fluxd relays bare multisig up to x-of-3 only
        if kind == "nonstandard":
            raise TxRejected(REJECT_NONSTANDARD, "scriptpubkey")
        if kind == "nulldata":
            data_outputs += 1
        elif out.value < dust_threshold(out.script_pubkey):
            raise TxRejected(REJECT_NONSTANDARD, "dust")
    if data_outputs > 1:
        raise TxRejected(REJECT_NONSTANDARD, "multi-op-return")
    for txin in tx.vin:
        if len(txin.script_sig) > 1650:
            raise TxRejected(REJECT_NONSTANDARD, "scriptsig-size")
        try:
            if any(op > 0x60 for op, _ in iter_ops(txin.script_sig)):
                raise TxRejected(REJECT_NONSTANDARD, "scriptsig-not-pushonly")
        except ValueError as exc:
            raise TxRejected(REJECT_NONSTANDARD, "scriptsig-not-pushonly") from exc


def dust_threshold(script: bytes) -> int:
    """Bitcoin 0.11's dust rule at fluxd's 100 zat/kB relay fee: 3 × fee of spending it."""
    size = 8 + 1 + len(script) + 148
    return 3 * size * 100 // 1000


def input_value(tx: Transaction, coins: CoinLookup, height: int) -> tuple[int, list[Coin]]:
    """Sum of the inputs (and the coins spent), checking existence and coinbase maturity."""
    spent: list[Coin] = []
    total = 0
    for txin in tx.vin:
        coin = coins((txin.prevout.txid, txin.prevout.n))
        if coin is None:
            raise TxRejected(REJECT_DUPLICATE, "bad-txns-inputs-spent", missing_inputs=True)
        if coin.coinbase and height - coin.height < COINBASE_MATURITY:
            raise TxRejected(REJECT_INVALID, "bad-txns-premature-spend-of-coinbase")
        total += coin.value
        if total > MAX_MONEY:
            raise TxRejected(REJECT_INVALID, "bad-txns-inputvalues-outofrange")
        spent.append(coin)
    if total < tx.value_out():
        raise TxRejected(REJECT_INVALID, "bad-txns-in-belowout")
    return total, spent


def verify_inputs(
    tx: Transaction, spent: list[Coin], flags: Flags, cache: SighashCache | None = None
) -> None:
    """fluxd's ContextualCheckInputs: every input's scripts under `flags`.

    As fluxd does, a failure under flags beyond the mandatory ones that passes without them
    is "non-mandatory" (code 64: non-standard, and still refused) rather than invalid.
    """
    cache = cache if cache is not None and cache.tx is tx else SighashCache(tx)
    for n, (txin, coin) in enumerate(zip(tx.vin, spent, strict=True)):
        checker = TransactionChecker(cache, n, coin.value)
        try:
            verify_script(txin.script_sig, coin.script, checker, flags)
        except ScriptFailure as exc:
            if flags & STANDARD_NOT_MANDATORY_FLAGS:
                try:
                    verify_script(
                        txin.script_sig, coin.script, checker, flags & ~STANDARD_NOT_MANDATORY_FLAGS
                    )
                except ScriptFailure:
                    pass
                else:
                    raise TxRejected(
                        REJECT_NONSTANDARD, f"non-mandatory-script-verify-flag ({exc})"
                    ) from exc
            raise TxRejected(
                REJECT_INVALID, f"mandatory-script-verify-flag-failed ({exc})"
            ) from exc


def check_inputs_standard(tx: Transaction, spent: list[Coin]) -> bool:
    """fluxd's AreInputsStandard: each input spends a known script type with exactly the
    arguments it needs, and a P2SH redeem script of no known type has at most 15 sigops
    (fluxd then stops looking at the remaining inputs)."""
    for txin, coin in zip(tx.vin, spent, strict=True):
        expected = _args_expected(solve(coin.script))
        if expected < 0:
            return False
        stack: list[bytes] = []
        try:
            eval_script(stack, txin.script_sig, NullChecker(), Flags.NONE)
        except ScriptFailure:
            return False
        if is_p2sh(coin.script):
            if not stack:
                return False
            redeem = solve(stack[-1])
            if redeem.type == "nonstandard":
                return _count_sigops(stack[-1], accurate=True) <= MAX_P2SH_SIGOPS
            inner = _args_expected(redeem)
            if inner < 0:
                return False
            expected += inner
        if len(stack) != expected:
            return False
    return True


def _args_expected(sol: Solution) -> int:
    """fluxd's ScriptSigArgsExpected (-1: not spendable by a standard scriptSig)."""
    if sol.type == "pubkey" or sol.type == "scripthash":
        return 1
    if sol.type == "pubkeyhash":
        return 2
    if sol.type == "multisig":
        return sol.required + 1
    return -1


def sigop_count(tx: Transaction, spent: list[Coin]) -> int:
    """Legacy + P2SH sigops, as fluxd counts them against MAX_STANDARD_TX_SIGOPS."""
    return legacy_sigop_count(tx) + p2sh_sigop_count(tx, spent)


def legacy_sigop_count(tx: Transaction) -> int:
    scripts = [out.script_pubkey for out in tx.vout] + [i.script_sig for i in tx.vin]
    return sum(_count_sigops(script, accurate=False) for script in scripts)


def p2sh_sigop_count(tx: Transaction, spent: list[Coin]) -> int:
    """Sigops of the redeem scripts (the last push of a push-only scriptSig)."""
    if tx.is_coinbase:
        return 0
    total = 0
    for txin, coin in zip(tx.vin, spent, strict=True):
        if is_p2sh(coin.script):
            total += _count_sigops(_last_push(txin.script_sig), accurate=True)
    return total


def _last_push(script_sig: bytes) -> bytes:
    last = b""
    try:
        for op, data in iter_ops(script_sig):
            if op > OP_16:
                return b""  # not push-only: fluxd counts nothing
            last = data or b""
    except ValueError:
        return b""
    return last


def _count_sigops(script: bytes, accurate: bool) -> int:
    if is_p2pkh(script):
        return 1
    if len(script) < 110 and not any(b in script for b in _SIGOP_BYTES):
        return 0  # no byte could be a CHECKSIG-family opcode
    count, last = 0, 0xFF
    try:
        for op, _ in iter_ops(script):
            if op in (0xAC, 0xAD):
                count += 1
            elif op in (0xAE, 0xAF):
                count += (last - 0x50) if accurate and 0x51 <= last <= 0x60 else 20
            last = op
    except ValueError:
        pass
    return count
