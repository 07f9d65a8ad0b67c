"""Which paid app messages make an app's global specification (§7.3–§7.5), as pure rules.

A registration becomes the app's global spec when its payment covers the registration
price at its block height; an update when it covers 90% of the new price minus the unused
part of the previous paid spec. The latest paid message by height wins, and an app is
gone once its PON-adjusted expiration height has passed.

The same rules serve the live path (one payment at a time) and a rebuild from the stored
permanent messages, so a node that rebuilt its registry and one that followed it block by
block agree. Upstream's reindex and rescan ignore payment; ours applies the rules in both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fluxos.apps.formatter import canonical_json
from fluxos.apps.messages import REGISTER_TYPES
from fluxos.apps.params import AppParams, PriceEntry
from fluxos.apps.pricing import onchain_minimum_registration, onchain_minimum_update
from fluxos.apps.specs import AppSpec
from fluxos.wire.jsvalues import parse_json, truthy

logger = logging.getLogger(__name__)

SATOSHIS = 1e8  # a float: upstream compares valueSat >= price * 1e8


def expiration_height(spec: AppSpec, height: int, params: AppParams) -> int:
    """The height after which an app paid at `height` is no longer global."""
    expire = spec.get("expire") if truthy(spec.get("expire")) else params.default_expire(height)
    return int(height + params.pon_adjusted_expire(height, float(expire)))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PaidMessage:
    """A permanent message as the rules need it."""

    hash: str
    type: str
    spec: AppSpec
    timestamp: int
    height: int
    value_sat: int
    # the stored canonical JSON the spec was parsed from (kept: writing it again is most of
    # a rebuild's time); empty when the spec was built in memory
    spec_text: str = ""

    @property
    def canonical_spec(self) -> str:
        return self.spec_text or canonical_json(self.spec)

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def is_registration(self) -> bool:
        return self.type in REGISTER_TYPES

    @classmethod
    def from_text(
        cls, hash_: str, type_: str, spec_text: str, timestamp: int, height: int, value: int
    ) -> PaidMessage:
        return cls(hash_, type_, parse_json(spec_text), timestamp, height, value, spec_text)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a paid message makes the global spec, and why not."""

    paid: bool
    needed_flux: float
    reason: str = ""


def registration_verdict(
    message: PaidMessage, table: Sequence[PriceEntry], params: AppParams
) -> Verdict:
    need = onchain_minimum_registration(message.spec, message.height, table, params)
    if message.value_sat >= need * SATOSHIS:
        return Verdict(True, need)
    return Verdict(False, need, f"underpaid: {message.value_sat} satoshis, needs {need} FLUX")


def update_verdict(
    message: PaidMessage,
    previous: PaidMessage | None,
    table: Sequence[PriceEntry],
    params: AppParams,
) -> Verdict:
    if previous is None:
        return Verdict(False, 0.0, "no earlier paid message of the app to update")
    need = onchain_minimum_update(
        message.spec, message.height, previous.spec, previous.height, table, params
    )
    if message.value_sat >= need * SATOSHIS:
        return Verdict(True, need)
    return Verdict(False, need, f"underpaid: {message.value_sat} satoshis, needs {need} FLUX")


def previous_paid(message: PaidMessage, history: Iterable[PaidMessage]) -> PaidMessage | None:
    """The app's latest message (by height) signed no later than `message` — what an update
    replaces (upstream looks it up by timestamp)."""
    best: PaidMessage | None = None
    for earlier in history:
        if earlier.hash == message.hash or earlier.timestamp > message.timestamp:
            continue
        if best is None or earlier.height > best.height:
            best = earlier
    return best


@dataclass
class GlobalEntry:
    """The current global spec of one app while deriving."""

    message: PaidMessage
    expire_height: int


def derive_global_specs(
    messages: Iterable[PaidMessage],
    table: Sequence[PriceEntry],
    params: AppParams,
    current_height: int,
) -> dict[str, GlobalEntry]:
    """Global specs by lowercased name from permanent messages in chain order."""
    by_app: dict[str, list[PaidMessage]] = {}
    current: dict[str, GlobalEntry] = {}
    underpaid = 0
    for message in messages:
        key = message.name.lower()
        history = by_app.setdefault(key, [])
        if message.is_registration:
            verdict = registration_verdict(message, table, params)
            existing = current.get(key)
            if verdict.paid and (existing is None or existing.message.height < message.height):
                current[key] = GlobalEntry(
                    message, expiration_height(message.spec, message.height, params)
                )
        else:
            verdict = update_verdict(message, previous_paid(message, history), table, params)
            existing = current.get(key)
            if verdict.paid and existing is not None and existing.message.height < message.height:
                current[key] = GlobalEntry(
                    message, expiration_height(message.spec, message.height, params)
                )
        if not verdict.paid:
            underpaid += 1
        history.append(message)
    if underpaid:
        logger.info("registry rebuild: %d permanent messages did not pay enough", underpaid)
    return {key: entry for key, entry in current.items() if entry.expire_height >= current_height}
