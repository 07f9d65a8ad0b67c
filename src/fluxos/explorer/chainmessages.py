"""Chain-parameter ("soft fork") messages the Flux foundation publishes on chain
(explorer.md §4.5): a transaction from a foundation multisig address to one, carrying a
`<version>_<field>_…` OP_RETURN text. Version `p` announces new app prices.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

from fluxos.explorer.blocks import ChainTx
from fluxos.explorer.memo import decode_message
from fluxos.explorer.payments import MULTISIG_ADDRESS, MULTISIG_ADDRESS_B
from fluxos.explorer.prices import PriceFork
from fluxos.wire.jsvalues import string_to_number

log = logging.getLogger(__name__)

FOUNDATION_ADDRESSES = frozenset({MULTISIG_ADDRESS, MULTISIG_ADDRESS_B})
PRICE_VERSION = "p"


@dataclass(frozen=True, slots=True)
class ChainMessage:
    txid: str
    height: int
    message: str
    version: str  # the text before the first "_"
    position: int = 0  # the transaction's index in its block


def recognise_chain_message(
    tx: ChainTx, senders: Iterable[str | None], height: int
) -> ChainMessage | None:
    """The chain message `tx` carries, given the addresses its inputs spend from."""
    if not 0 < tx.version < 5:
        return None
    if not any(sender in FOUNDATION_ADDRESSES for sender in senders):
        return None
    if not any(out.address in FOUNDATION_ADDRESSES for out in tx.outputs):
        return None
    message = decode_message(tx.memo_asm)
    if not message:
        return None
    parts = message.split("_")
    if not parts[0] or len(parts) < 2:
        log.info(
            "foundation tx %s at height %d carries %r, not a <version>_<data> message; ignored",
            tx.txid,
            height,
            message,
        )
        return None
    return ChainMessage(tx.txid, height, message, parts[0], tx.position)


def price_fork(message: ChainMessage) -> PriceFork | None:
    """The price fork a `p_<cpu>_<ram>_<hdd>_<minPrice>[_<port>_<scope>_<staticip>]` sets.

    Numbers follow JavaScript's `+text` (so a malformed one is NaN, as upstream stores it);
    missing or zero port/scope/staticip default to 2/6/3.
    """
    if message.version != PRICE_VERSION:
        return None
    parts = message.message.split("_")
    if len(parts) < 5 or not parts[4]:
        log.info("price message %s lacks the minPrice field; ignored", message.txid)
        return None

    def number(index: int, default: float | None = None) -> float:
        value = float(string_to_number(parts[index])) if index < len(parts) else math.nan
        if default is not None and (value == 0 or math.isnan(value)):  # JS `+x || default`
            return default
        return value

    return PriceFork(
        height=message.height,
        cpu=number(1),
        ram=number(2),
        hdd=number(3),
        min_price=number(4),
        port=number(5, 2),
        scope=number(6, 6),
        staticip=number(7, 3),
    )
