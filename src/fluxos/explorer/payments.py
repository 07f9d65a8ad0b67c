"""App registration and update payments found on chain (explorer.md §4.3, apps.md §7.2).

A transaction (version 1–4) is an app payment when the outputs paying the app addresses in
force at its height add up to at least the minimum price, and the message of its last
output with a script is exactly 64 characters: the hash of the app message it pays for.
Whether it registers or updates, and whether it paid enough for the spec, is decided by
the apps registry when the message arrives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fluxos.explorer.blocks import ChainTx
from fluxos.explorer.memo import decode_message
from fluxos.explorer.prices import SATOSHIS_PER_FLUX, PriceSchedule

log = logging.getLogger(__name__)

APP_ADDRESS = "t1LUs6quf7TB2zVZmexqPQdnqmrFMGZGjV6"
MULTISIG_ADDRESS = "t3aGJvdtd8NR6GrnqnRuVEzH6MbrXuJFLUX"
MULTISIG_ADDRESS_B = "t3NryfAQLGeFs9jEoeqsxmBN2QLRaRKFLUX"
DEVELOPMENT_ADDRESS = "t1Mzja9iJcEYeW5B4m4s1tJG8M42odFZ16A"
MULTISIG_FROM_HEIGHT = 1_300_000  # appSpecsEnforcementHeights[6]
MULTISIG_B_FROM_HEIGHT = 1_670_000  # multisigAddressChange
EPOCH_START = 694_000
APP_HASH_LENGTH = 64


@dataclass(frozen=True, slots=True)
class AppPayment:
    """A payment for the app message with hash `hash` (value in satoshis)."""

    hash: str
    txid: str
    height: int
    value: int
    position: int = 0  # the transaction's index in its block, for chain order


@dataclass(frozen=True, slots=True)
class PaymentAddress:
    address: str
    from_height: int  # counts for blocks at or above this height


@dataclass(frozen=True, slots=True)
class PaymentRules:
    """Which outputs count as paying for apps, and from which height payments count."""

    addresses: tuple[PaymentAddress, ...]
    epoch_start: int = EPOCH_START
    _from_height: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        starts: dict[str, int] = {}
        for entry in self.addresses:
            known = starts.get(entry.address, entry.from_height)
            starts[entry.address] = min(entry.from_height, known)
        object.__setattr__(self, "_from_height", starts)

    @classmethod
    def flux(cls, development: bool = False) -> PaymentRules:
        """Mainnet rules; development mode also counts the development address.

        Upstream's standard (non-insight) path forgets the development address; ours
        counts it on every path.
        """
        addresses = [
            PaymentAddress(APP_ADDRESS, 0),
            PaymentAddress(MULTISIG_ADDRESS, MULTISIG_FROM_HEIGHT),
            PaymentAddress(MULTISIG_ADDRESS_B, MULTISIG_B_FROM_HEIGHT),
        ]
        if development:
            addresses.append(PaymentAddress(DEVELOPMENT_ADDRESS, 0))
        return cls(tuple(addresses))

    def counts(self, address: str, height: int) -> bool:
        start = self._from_height.get(address)
        return start is not None and height >= start

    def value_paid(self, tx: ChainTx, height: int) -> int:
        """Satoshis `tx` pays to app addresses in force at `height` (first address only)."""
        return sum(
            out.satoshis
            for out in tx.outputs
            if out.address is not None and self.counts(out.address, height)
        )


def recognise_payment(
    tx: ChainTx, height: int, rules: PaymentRules, prices: PriceSchedule
) -> AppPayment | None:
    """The app payment `tx` makes at `height`, or None (a near miss is logged with why)."""
    if not 0 < tx.version < 5:
        return None
    value = rules.value_paid(tx, height)
    if not value:
        return None
    message = decode_message(tx.memo_asm)
    reason = _rejection(value, message, height, rules, prices)
    if reason:
        log.info(
            "tx %s at height %d pays %d satoshis to the app address but is not an app "
            "payment: %s; ignored",
            tx.txid,
            height,
            value,
            reason,
        )
        return None
    return AppPayment(hash=message, txid=tx.txid, height=height, value=value, position=tx.position)


def _rejection(
    value: int, message: str, height: int, rules: PaymentRules, prices: PriceSchedule
) -> str | None:
    if height < rules.epoch_start:
        return f"height is below the apps epoch start {rules.epoch_start}"
    fork = prices.at(height)
    if fork is None:
        return "no app price is in force at this height"
    if not value >= fork.min_price * SATOSHIS_PER_FLUX:
        return f"value is below the minimum price of {fork.min_price} FLUX"
    if len(message) != APP_HASH_LENGTH:
        return (
            f"its OP_RETURN message must be {APP_HASH_LENGTH} characters "
            f"(the app message hash), got {len(message)}"
        )
    return None
