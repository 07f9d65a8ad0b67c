"""Transaction rules shared by the mempool and block connection, with fluxd's reject reasons.

A failure raises `TxRejected(code, reason)`; code is fluxd's REJECT_* number so the RPC
layer can answer sendrawtransaction with "<code>: <reason>" exactly as fluxd does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fluxos.chain.amounts import MAX_MONEY
from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE
from fluxos.chain.interpreter import (
    MANDATORY_FLAGS,
    Flags,
    ScriptFailure,
    TransactionChecker,
    verify_script,
)
from fluxos.chain.params import (
    COINBASE_MATURITY,
    MAX_BLOCK_SIZE,
    MAX_IP_LENGTH,
    TX_EXPIRY_HEIGHT_THRESHOLD,
)
from fluxos.chain.script import is_p2pkh, is_p2sh, iter_ops, solve
from fluxos.chain.sighash import SighashCache
from fluxos.chain.transaction import Transaction

REJECT_INVALID = 0x10
REJECT_DUPLICATE = 0x12
REJECT_NONSTANDARD = 0x40
REJECT_INSUFFICIENTFEE = 0x42
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


def check_transaction(tx: Transaction) -> None:
    """fluxd's CheckTransaction: rules that need no chain context."""
    if tx.is_fluxnode:
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
        return
    if not tx.vin:
        raise TxRejected(REJECT_INVALID, "bad-txns-vin-empty")
    if not tx.vout and not tx.has_shielded:
        raise TxRejected(REJECT_INVALID, "bad-txns-vout-empty")
    total = 0
    for out in tx.vout:
        if out.value < 0:
            raise TxRejected(REJECT_INVALID, "bad-txns-vout-negative")
        if out.value > MAX_MONEY:
            raise TxRejected(REJECT_INVALID, "bad-txns-vout-toolarge")
        total += out.value
        if total > MAX_MONEY:
            raise TxRejected(REJECT_INVALID, "bad-txns-txouttotal-toolarge")
    seen: set[tuple[bytes, int]] = set()
    for txin in tx.vin:
        key = (txin.prevout.txid, txin.prevout.n)
        if key in seen:
            raise TxRejected(REJECT_INVALID, "bad-txns-inputs-duplicate")
        seen.add(key)
    if tx.is_coinbase:
        if not 2 <= len(tx.vin[0].script_sig) <= 100:
            raise TxRejected(REJECT_INVALID, "bad-cb-length")
    elif any(txin.prevout.is_null for txin in tx.vin):
        raise TxRejected(REJECT_INVALID, "bad-txns-prevout-null")


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
        kind = "pubkeyhash" if is_p2pkh(script) else solve(script).type
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
    """Run every input's scripts; reject with fluxd's script error text on failure.

    As fluxd does, a failure under relay-policy flags that passes under the consensus
    flags is "non-mandatory" (non-standard) rather than invalid.
    """
    cache = cache if cache is not None and cache.tx is tx else SighashCache(tx)
    for n, (txin, coin) in enumerate(zip(tx.vin, spent, strict=True)):
        checker = TransactionChecker(cache, n, coin.value)
        try:
            verify_script(txin.script_sig, coin.script, checker, flags)
        except ScriptFailure as exc:
            if flags != MANDATORY_FLAGS:
                try:
                    verify_script(txin.script_sig, coin.script, checker, MANDATORY_FLAGS)
                except ScriptFailure:
                    pass
                else:
                    raise TxRejected(
                        REJECT_NONSTANDARD, f"non-mandatory-script-verify-flag ({exc})"
                    ) from exc
            raise TxRejected(
                REJECT_INVALID, f"mandatory-script-verify-flag-failed ({exc})"
            ) from exc


def sigop_count(tx: Transaction, spent: list[Coin]) -> int:
    """Legacy + P2SH sigops, as fluxd counts them against MAX_STANDARD_TX_SIGOPS."""
    total = 0
    scripts = [out.script_pubkey for out in tx.vout] + [i.script_sig for i in tx.vin]
    for script in scripts:
        total += _count_sigops(script, accurate=False)
    for txin, coin in zip(tx.vin, spent, strict=True):
        if is_p2sh(coin.script):
            pushes = [d for _, d in iter_ops(txin.script_sig) if d is not None]
            if pushes:
                total += _count_sigops(pushes[-1], accurate=True)
    return total


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
