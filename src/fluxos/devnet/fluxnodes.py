"""The deterministic fluxnode list: start → confirm → paid in turn → expired, as fluxd keeps it.

State changes per block (fluxd's FluxnodeCache with PON-era constants): a start tx puts a
collateral in the start list; a confirm tx moves it to the confirmed list (or refreshes
it); each tier's front node is paid and goes to the back; unconfirmed starts fall to the
DoS list after 240 blocks and leave it after 720; confirmed nodes expire 640 blocks after
their last confirm; spending a collateral removes its node at once. Every change keeps an
undo record so reorgs restore the list exactly.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE
from fluxos.chain.outpoint import OutPoint, hash_hex
from fluxos.chain.params import (
    CONFIRM_UPDATE_EXPIRATION,
    DEV_FUND_ADDRESS,
    DOS_REMOVE_AMOUNT,
    FLUXNODE_MIN_CONFIRMATION,
    FLUXNODE_PAYMENTS_START,
    START_TX_EXPIRATION,
    TIER_OF_COLLATERAL,
    TIERS,
    block_subsidy,
    dev_fund_amount,
    fluxnode_subsidy,
    is_pon,
)
from fluxos.chain.script import p2pkh_script, p2sh_script, script_for_address, solve
from fluxos.chain.transaction import Transaction
from fluxos.crypto.hashes import hash160
from fluxos.crypto.signed_message import ZELCASH_MAGIC, recover_message_key
from fluxos.devnet.chainstate import BlockEntry, ChainState, ParsedBlock, UtxoKey
from fluxos.devnet.validation import REJECT_INVALID, Coin, TxRejected

log = logging.getLogger(__name__)

STARTED, DOS, CONFIRMED = "STARTED", "DOS", "CONFIRMED"


@dataclass(slots=True)
class FluxnodeRecord:
    collateral: OutPoint
    status: str
    tier: int
    amount: int
    collateral_pubkey: bytes
    pubkey: bytes
    payment_script: bytes
    added_height: int
    flux_tx_version: int = 0
    redeem_script: bytes = b""
    confirmed_height: int = 0
    last_confirmed_height: int = 0
    last_paid_height: int = 0
    ip: str = ""

    def queue_key(self) -> tuple[int, int, bytes, int]:
        """fluxd's FluxnodeListData ordering: oldest payment (or confirm) first, unpaid first."""
        paid = self.last_paid_height > 0
        height = self.last_paid_height if paid else self.confirmed_height
        return (height, int(paid), self.collateral.txid, self.collateral.n)


def message_signer_matches(message: bytes, signature: bytes, pubkey: bytes) -> bool:
    """fluxd's obfuscation VerifyMessage: the compact signature recovers `pubkey`'s key id."""
    try:
        recovered, _ = recover_message_key(
            message, base64.b64encode(signature).decode(), ZELCASH_MAGIC
        )
    except (ValueError, TypeError):
        return False
    return hash160(recovered) == hash160(pubkey)


def confirm_message(collateral: OutPoint, update_type: int, sig_time: int) -> bytes:
    return f"{collateral.short()}{collateral.n}{update_type}{sig_time}".encode()


def benchmark_message(sig: bytes, tier: int, bench_time: int, ip: str) -> bytes:
    return sig + f"{tier}{bench_time}{ip}".encode()


def _reject(detail: str) -> TxRejected:
    return TxRejected(
        REJECT_INVALID, f"bad-txns-fluxnode-inputs-invalid-spent-or-bad-value-{detail}"
    )


class FluxnodeRegistry:
    """Chain listener holding the deterministic fluxnode list."""

    def __init__(self, chain: ChainState, bench_pubkey: bytes) -> None:
        self.chain = chain
        self.bench_pubkey = bench_pubkey
        self.records: dict[UtxoKey, FluxnodeRecord] = {}
        self._undo: dict[bytes, list[tuple[UtxoKey, FluxnodeRecord | None]]] = {}
        self.dev_fund_script = script_for_address(DEV_FUND_ADDRESS)

    # ------------------------------------------------------------------ queries
    def record(self, outpoint: OutPoint) -> FluxnodeRecord | None:
        return self.records.get((outpoint.txid, outpoint.n))

    def confirmed(self, tier: int) -> list[FluxnodeRecord]:
        """The payment queue of a tier, next payee first."""
        nodes = [r for r in self.records.values() if r.status == CONFIRMED and r.tier == tier]
        nodes.sort(key=FluxnodeRecord.queue_key)
        return nodes

    def with_status(self, status: str) -> list[FluxnodeRecord]:
        return [r for r in self.records.values() if r.status == status]

    def next_payees(self, height: int) -> list[tuple[int, FluxnodeRecord]]:
        """(tier, node) paid by the block at `height`, from the list as it stands."""
        if height < FLUXNODE_PAYMENTS_START:
            return []
        out: list[tuple[int, FluxnodeRecord]] = []
        for tier in TIERS:
            queue = self.confirmed(tier)
            if queue:
                out.append((tier, queue[0]))
        return out

    def coinbase_outputs(self, height: int) -> list[tuple[bytes, int]]:
        """The (script, amount) outputs a coinbase at `height` must carry besides the miner's."""
        outs = [
            (r.payment_script, fluxnode_subsidy(height, t)) for t, r in self.next_payees(height)
        ]
        if is_pon(height):
            outs.append((self.dev_fund_script, dev_fund_amount(height)))
        return outs

    # ------------------------------------------------------------------ validation
    def check_tx(
        self, tx: Transaction, txid: bytes, height: int, coin: Callable[[UtxoKey], Coin | None]
    ) -> None:
        """Contextual rules of a fluxnode start/confirm tx at `height`; raises TxRejected."""
        fn = tx.fluxnode
        assert fn is not None
        key = (fn.collateral.txid, fn.collateral.n)
        collateral = coin(key)
        if collateral is None:
            raise _reject("collateral-not-found-or-spent")
        if collateral.value not in TIER_OF_COLLATERAL:
            raise _reject("collateral-amount-not-a-tier")
        existing = self.records.get(key)
        if fn.type == START_TX_TYPE:
            if height - collateral.height < FLUXNODE_MIN_CONFIRMATION:
                raise _reject("collateral-needs-100-confirmations")
            if existing is not None:
                raise TxRejected(REJECT_INVALID, f"fluxnode-tx-already-{existing.status.lower()}")
            if fn.is_p2sh:
                if collateral.script != p2sh_script(hash160(fn.redeem_script)):
                    raise _reject("redeemscript-does-not-match-collateral")
                signers = list(solve(fn.redeem_script).data)
            else:
                if collateral.script != p2pkh_script(hash160(fn.collateral_pubkey)):
                    raise _reject("collateral-pubkey-does-not-match")
                signers = [fn.collateral_pubkey]
            message = txid[::-1].hex().encode()
            if not any(message_signer_matches(message, fn.sig, k) for k in signers):
                raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-invalid-signature")
            return
        if fn.type != CONFIRM_TX_TYPE:
            raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-invalid-type")
        if existing is None or existing.status == DOS:
            raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-confirm-not-started")
        if fn.update_type == 0 and existing.status != STARTED:
            raise TxRejected(REJECT_INVALID, "fluxnode-tx-malicious-update-type")
        if fn.update_type == 1 and existing.status != CONFIRMED:
            raise TxRejected(REJECT_INVALID, "fluxnode-tx-malicious-update-type")
        message = confirm_message(fn.collateral, fn.update_type, fn.sig_time)
        if not message_signer_matches(message, fn.sig, existing.pubkey):
            raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-invalid-signature")
        bench = benchmark_message(fn.sig, fn.benchmark_tier, fn.benchmark_sig_time, fn.ip)
        if not message_signer_matches(bench, fn.benchmark_sig, self.bench_pubkey):
            raise TxRejected(REJECT_INVALID, "bad-txns-fluxnode-tx-invalid-signature")

    def check_block(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]], fees: int
    ) -> None:
        """Block rule: coinbase amount and payees, and every fluxnode tx's context."""
        height = entry.height
        coinbase = parsed.block.txs[0]
        if coinbase.value_out() > block_subsidy(height) + fees:
            raise TxRejected(REJECT_INVALID, "bad-cb-amount")
        outputs = [(o.script_pubkey, o.value) for o in coinbase.vout]
        for script, amount in self.coinbase_outputs(height):
            if script == self.dev_fund_script:
                if not any(s == script and v >= amount for s, v in outputs):
                    raise TxRejected(REJECT_INVALID, "tx-coinbase-missing-dev-funding")
            elif (script, amount) in outputs:
                outputs.remove((script, amount))
            else:
                raise TxRejected(REJECT_INVALID, "bad-cb-payee")
        for i, tx in enumerate(parsed.block.txs):
            if tx.is_fluxnode:
                self.check_tx(tx, parsed.txids[i], height, self.chain.utxo.get)

    # ------------------------------------------------------------------ chain events
    def _save(self, undo: list[tuple[UtxoKey, FluxnodeRecord | None]], key: UtxoKey) -> None:
        current = self.records.get(key)
        undo.append((key, None if current is None else replace(current)))

    def block_connected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None:
        height = entry.height
        undo: list[tuple[UtxoKey, FluxnodeRecord | None]] = []
        for _tier, node in self.next_payees(height):
            key = (node.collateral.txid, node.collateral.n)
            self._save(undo, key)
            node.last_paid_height = height
        confirmed_now: set[UtxoKey] = set()
        for i, tx in enumerate(parsed.block.txs):
            for txin in tx.vin:
                key = (txin.prevout.txid, txin.prevout.n)
                if key in self.records:
                    self._save(undo, key)
                    log.info(
                        "fluxnode %s removed: its collateral was spent",
                        self.records[key].collateral.full(),
                    )
                    del self.records[key]
            if tx.fluxnode is not None:
                self._apply(tx, height, spent_coin=None, undo=undo, confirmed_now=confirmed_now)
            del i
        self._expire(height, undo, confirmed_now)
        self._undo[entry.hash] = undo

    def _apply(
        self,
        tx: Transaction,
        height: int,
        spent_coin: Coin | None,
        undo: list[tuple[UtxoKey, FluxnodeRecord | None]],
        confirmed_now: set[UtxoKey],
    ) -> None:
        fn = tx.fluxnode
        assert fn is not None
        key = (fn.collateral.txid, fn.collateral.n)
        if fn.type == START_TX_TYPE:
            coin = self.chain.utxo.get(key)
            if coin is None:
                return
            self._save(undo, key)
            payment = (
                p2sh_script(hash160(fn.redeem_script))
                if fn.is_p2sh
                else p2pkh_script(hash160(fn.collateral_pubkey))
            )
            self.records[key] = FluxnodeRecord(
                collateral=fn.collateral,
                status=STARTED,
                tier=TIER_OF_COLLATERAL.get(coin.value, 1),
                amount=coin.value,
                collateral_pubkey=fn.collateral_pubkey,
                pubkey=fn.pubkey,
                payment_script=payment,
                added_height=height,
                flux_tx_version=fn.flux_tx_version,
                redeem_script=fn.redeem_script,
            )
            return
        record = self.records.get(key)
        if record is None:
            return
        self._save(undo, key)
        if record.status == STARTED:
            record.status = CONFIRMED
            record.confirmed_height = height
        record.last_confirmed_height = height
        record.ip = fn.ip
        confirmed_now.add(key)

    def _expire(
        self,
        height: int,
        undo: list[tuple[UtxoKey, FluxnodeRecord | None]],
        confirmed_now: set[UtxoKey],
    ) -> None:
        for key, record in list(self.records.items()):
            if record.status == STARTED and height - record.added_height >= START_TX_EXPIRATION:
                self._save(undo, key)
                record.status = DOS
                log.info(
                    "fluxnode %s not confirmed in time: moved to the DoS list",
                    record.collateral.full(),
                )
            elif record.status == DOS and height - record.added_height >= DOS_REMOVE_AMOUNT:
                self._save(undo, key)
                del self.records[key]
            elif (
                record.status == CONFIRMED
                and key not in confirmed_now
                and record.last_confirmed_height < height - CONFIRM_UPDATE_EXPIRATION
            ):
                self._save(undo, key)
                del self.records[key]
                log.info(
                    "fluxnode %s expired: no confirmation for %d blocks",
                    record.collateral.full(),
                    CONFIRM_UPDATE_EXPIRATION,
                )

    def block_disconnected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None:
        for key, previous in reversed(self._undo.pop(entry.hash, [])):
            if previous is None:
                self.records.pop(key, None)
            else:
                self.records[key] = previous

    def describe(self, record: FluxnodeRecord) -> str:
        return f"{record.status} {hash_hex(record.collateral.txid)}:{record.collateral.n}"
