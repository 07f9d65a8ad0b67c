"""Payments make app messages permanent (§7.3) and permanent messages make global specs
(§7.4), which expire (§7.5).

`Promoter` takes one payment at a time from the explorer: the paid temporary message is
stored for good (whatever it paid), and becomes the app's global spec when it paid enough.
`rebuild` derives every global spec again from the permanent messages with the same rules.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from fluxos.apps.appmessages import AppMessage, MessageChecks
from fluxos.apps.errors import AppMessageError, AppSpecError
from fluxos.apps.globalspecs import (
    PaidMessage,
    derive_global_specs,
    expiration_height,
    previous_paid,
    registration_verdict,
    update_verdict,
)
from fluxos.apps.heights import HeightSource
from fluxos.apps.params import AppParams, PriceEntry
from fluxos.storage.apps import AppsStore, GlobalSpecRecord, StoredMessage

logger = logging.getLogger(__name__)

PriceTable = Callable[[], Awaitable[Sequence[PriceEntry]]]


@dataclass
class PromotionCounters:
    promoted: int = 0
    global_specs: int = 0
    underpaid: int = 0
    expired_on_arrival: int = 0
    refused_at_payment: int = 0
    expired: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


@dataclass(frozen=True, slots=True)
class Payment:
    hash: str
    txid: str
    height: int
    value: int


def paid_message(message: StoredMessage) -> PaidMessage:
    return PaidMessage.from_text(
        message.hash,
        message.type,
        message.spec,
        message.timestamp,
        message.height,
        message.value_sat,
    )


def global_record(message: PaidMessage, params: AppParams) -> GlobalSpecRecord:
    return GlobalSpecRecord(
        name=message.name,
        owner=str(message.spec.get("owner", "")),
        hash=message.hash,
        height=message.height,
        expire_height=expiration_height(message.spec, message.height, params),
        spec=message.canonical_spec,
    )


class Promoter:
    """Turns paid temporary messages into permanent ones and global specs."""

    def __init__(
        self,
        store: AppsStore,
        params: AppParams,
        checks: MessageChecks,
        heights: HeightSource,
        price_table: PriceTable,
        on_registered: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._params = params
        self._checks = checks
        self._heights = heights
        self._price_table = price_table
        self._table: Sequence[PriceEntry] | None = None
        self.on_registered = on_registered
        self.counters = PromotionCounters()

    def prices_changed(self) -> None:
        self._table = None

    async def table(self) -> Sequence[PriceEntry]:
        if self._table is None:
            self._table = await self._price_table()
        return self._table

    async def promote(self, message: AppMessage, payment: Payment) -> bool:
        """Store `message` as paid by `payment`; True if it is (now) permanent."""
        height = payment.height
        if message.is_update:
            # the owner may have changed since the update was signed (§7.3 step 1)
            try:
                await self._checks.verify_owner(message, height)
            except (AppMessageError, AppSpecError) as error:
                self.counters.refused_at_payment += 1
                self.counters.refuse("owner changed before payment")
                logger.warning(
                    "paid update %s of %s not made permanent: %s",
                    message.hash,
                    message.name,
                    error.message,
                )
                return False
        stored = message.stored(0)
        permanent = StoredMessage(
            hash=stored.hash,
            type=stored.type,
            version=stored.version,
            spec=stored.spec,
            timestamp=stored.timestamp,
            signature=stored.signature,
            name=stored.name,
            owner=stored.owner,
            txid=payment.txid,
            height=height,
            value_sat=payment.value,
        )
        if not await self._store.add_permanent(permanent):
            return True
        self.counters.promoted += 1
        logger.info(
            "app message %s (%s of %s) is permanent: paid %d satoshis in %s at height %d",
            message.hash,
            message.type,
            message.name,
            payment.value,
            payment.txid,
            height,
        )
        await self._apply(paid_message(permanent))
        return True

    async def _apply(self, message: PaidMessage) -> None:
        expire_height = expiration_height(message.spec, message.height, self._params)
        current = await self._heights.current_height()
        if expire_height < current:
            self.counters.expired_on_arrival += 1
            logger.info(
                "app %s paid at %d expired at %d, before height %d: not global",
                message.name,
                message.height,
                expire_height,
                current,
            )
            await self._store.delete_global_spec(message.name)
            return
        table = await self.table()
        if message.is_registration:
            verdict = registration_verdict(message, table, self._params)
        else:
            history = [paid_message(m) for m in await self._store.permanents_of_app(message.name)]
            verdict = update_verdict(message, previous_paid(message, history), table, self._params)
        if not verdict.paid:
            self.counters.underpaid += 1
            self.counters.refuse("underpaid")
            logger.warning(
                "app message %s of %s is permanent but does not become global: %s",
                message.hash,
                message.name,
                verdict.reason,
            )
            return
        written = await self._store.put_global_spec(
            global_record(message, self._params), upsert=message.is_registration
        )
        if written:
            self.counters.global_specs += 1
            logger.info(
                "global spec of %s is now %s (height %d, expires after %d)",
                message.name,
                message.hash,
                message.height,
                expire_height,
            )
            if message.is_registration and self.on_registered is not None:
                await self.on_registered(message.name)
        else:
            logger.info(
                "app message %s of %s paid but the global spec stays (newer, or no app to update)",
                message.hash,
                message.name,
            )

    async def expire(self, height: int) -> list[str]:
        """Delete global specs whose expiration height is below `height`; their names."""
        gone = []
        for record in await self._store.expired_global_specs(height):
            await self._store.delete_global_spec(record.name)
            gone.append(record.name)
            self.counters.expired += 1
            logger.info(
                "app %s expired at height %d (now %d): no longer global",
                record.name,
                record.expire_height,
                height,
            )
        return gone

    async def rebuild(self, height: int | None = None) -> int:
        """Derive every global spec again from the permanent messages; how many there are."""
        current = height if height is not None else await self._heights.current_height()
        messages = [paid_message(m) for m in await self._store.permanents()]
        table = await self.table()
        derived = derive_global_specs(messages, table, self._params, current)
        records = [
            GlobalSpecRecord(
                name=entry.message.name,
                owner=str(entry.message.spec.get("owner", "")),
                hash=entry.message.hash,
                height=entry.message.height,
                expire_height=entry.expire_height,
                spec=entry.message.canonical_spec,
            )
            for entry in derived.values()
        ]
        await self._store.replace_global_specs(records)
        logger.info(
            "global app specs rebuilt from %d permanent messages: %d apps",
            len(messages),
            len(records),
        )
        return len(records)
