"""Following the explorer's app payments, and finding every paid message (§7.3, §8.3).

`PaymentFollower.run` takes the explorer's events: each payment promotes its message;
a payment whose message this node does not hold is asked of peers at once (as soon as one
is connected: a node just started asks nobody otherwise) and twice more a minute apart,
then by the hash sync on later blocks with a growing back-off. When most paid messages
are missing (a new node, or one offline for long), they are fetched in bulk
from a peer's `/apps/permanentmessages` and each is checked against this node's own chain
(the payment's hash, txid and height come from our explorer, never from the peer) —
upstream #1485. Every message given up on is logged and counted (upstream #1713).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from fluxos.apps.appmessages import AppMessage, parse_app_message
from fluxos.apps.errors import AppMessageError, AppSpecError
from fluxos.apps.messages import verify_message_hash, verify_registration_signature
from fluxos.apps.promotion import Payment
from fluxos.apps.registry import AppRegistry
from fluxos.clock import Clock
from fluxos.explorer.events import AppPaymentFound, BlocksIndexed, ChainRewound, ExplorerEvents
from fluxos.network.service import NetworkService
from fluxos.storage.apps import PaymentRecord, StoredMessage

logger = logging.getLogger(__name__)

RETRY_SECONDS = 60.0
IMMEDIATE_TRIES = 3
BACKOFF_BLOCKS = (0, 100, 500, 2500, 12500, 50000, 100000)
BULK_THRESHOLD = 500
BULK_PEERS = 3
ROUNDS = 4


@dataclass
class SyncCounters:
    payments: int = 0
    missing: int = 0
    resolved_by_request: int = 0
    bulk_fetched: int = 0
    bulk_refused: int = 0
    given_up: int = 0
    runs: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


class PaymentFollower:
    """The registry's background loop over the explorer's events."""

    def __init__(
        self,
        registry: AppRegistry,
        events: ExplorerEvents,
        network: NetworkService,
        clock: Clock,
        http: httpx.AsyncClient,
        rng: random.Random | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self._registry = registry
        self._report = report
        self._store = registry.store
        self._events = events
        self._network = network
        self._clock = clock
        self._http = http
        self._rng = rng or random.Random()
        self._waiting: dict[str, int] = {}  # hash -> tries so far (the minute-apart asks)
        self._height = 0
        self._synced = False
        self._sync_lock = asyncio.Lock()
        self.counters = SyncCounters()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        start = await self._store.replay_height()
        retry = asyncio.create_task(self._retry_loop(), name="app message retries")
        try:
            async with self._events.subscribe(replay_from=start) as events:
                self.ready.set()
                async for event in events:
                    await self._on_event(event)
                    if self._report is not None:
                        self._report(self.summary())
        finally:
            retry.cancel()
            await asyncio.gather(retry, return_exceptions=True)

    async def _on_event(self, event: object) -> None:
        if isinstance(event, AppPaymentFound):
            self.counters.payments += 1
            payment = Payment(event.hash, event.txid, event.height, event.value)
            if not await self._registry.on_payment(payment):
                self._missing(payment.hash)
        elif isinstance(event, BlocksIndexed):
            self._height = event.height
            self._registry.promoter.prices_changed()
            await self._registry.promoter.expire(event.height)
            await self._store.purge_expired(self._clock.millis())
            if event.synced:
                first = not self._synced
                self._synced = True
                await self.sync_missing(force=first)
        elif isinstance(event, ChainRewound) and (event.rescan_apps or event.height < 0):
            removed = await self._store.delete_permanents_above(max(event.height, -1))
            logger.info(
                "chain rewound to %d: %d permanent app messages above it forgotten",
                event.height,
                removed,
            )
            await self._registry.promoter.rebuild()

    def summary(self) -> str:
        """Every message received, refused, promoted, underpaid, missing or given up on,
        with the reasons (the registry loop shows it: nothing is dropped unseen)."""
        messages = self._registry.counters
        promoted = self._registry.promoter.counters
        sync = self.counters
        reasons = {**messages.by_reason, **promoted.by_reason}
        for reason, count in sync.by_reason.items():
            reasons[reason] = reasons.get(reason, 0) + count
        why = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        return (
            f"messages: {messages.received} received, {messages.stored} stored, "
            f"{messages.refused} refused; payments: {sync.payments}, {promoted.promoted} "
            f"promoted, {promoted.underpaid} underpaid, {promoted.expired} expired; missing: "
            f"{sync.missing}, {sync.resolved_by_request} found by asking, "
            f"{sync.bulk_fetched} in bulk, {sync.given_up} given up"
            + (f"; reasons: {why}" if why else "")
        )

    def _missing(self, message_hash: str) -> None:
        if message_hash in self._waiting:
            return
        self.counters.missing += 1
        self._waiting[message_hash] = 0

    async def _retry_loop(self) -> None:
        """Ask for waiting messages now, then twice more a minute apart.

        An ask that reached nobody (no peer yet, or this node not yet confirmed as a
        fluxnode after a start) is not a try: it is made again a second later. A peer that
        connects between the tries is asked at once, so a node that restarts together with
        others does not wait a minute because its first peer lacked the message too."""
        while True:
            due = [h for h, tries in self._waiting.items() if tries < IMMEDIATE_TRIES]
            asked: set[str] = set()
            if due:
                asked = await self._registry.request(due)
                if not asked:
                    await self._clock.sleep(1.0)
                    continue
                for message_hash in due:
                    self._waiting[message_hash] += 1
                waited = 0.0
                while waited < RETRY_SECONDS:
                    await self._clock.sleep(1.0)
                    waited += 1.0
                    asked |= await self._ask_newcomers(asked)
            else:
                await self._clock.sleep(1.0)
            for message_hash in list(self._waiting):
                payment = await self._store.payment(message_hash)
                if payment is None or payment.message:
                    if payment is not None:
                        self.counters.resolved_by_request += 1
                    del self._waiting[message_hash]
                elif self._waiting[message_hash] >= IMMEDIATE_TRIES:
                    del self._waiting[message_hash]
                    await self._back_off(payment)

    async def _ask_newcomers(self, asked: set[str]) -> set[str]:
        """Ask peers connected since the last try for what is still missing."""
        newcomers = [peer.key for peer in self._network.peers if peer.key not in asked]
        if not newcomers:
            return set()
        still: list[str] = []
        for message_hash in list(self._waiting):
            payment = await self._store.payment(message_hash)
            if payment is not None and not payment.message:
                still.append(message_hash)
        if not still:
            return set(newcomers)
        return await self._registry.request(still, newcomers)

    async def _back_off(self, payment: PaymentRecord) -> None:
        attempts = min(payment.sync_attempts + 1, len(BACKOFF_BLOCKS) - 1)
        next_height = max(self._height, payment.height) + BACKOFF_BLOCKS[attempts]
        await self._store.record_sync_attempt(payment.hash, next_height)
        self.counters.given_up += 1
        self.counters.refuse("no peer had it")
        logger.warning(
            "app message %s (paid in %s at %d) not found on any peer after %d tries; "
            "asking again from height %d",
            payment.hash,
            payment.txid,
            payment.height,
            payment.sync_attempts + 1,
            next_height,
        )

    # -- the hash sync --------------------------------------------------------------------
    async def sync_missing(self, force: bool = False) -> dict[str, int]:
        """Find every paid message this node lacks (`/apps/checkhashes` forces it)."""
        async with self._sync_lock:
            self.counters.runs += 1
            unresolved = await self._store.payments(unresolved_only=True)
            candidates = [p for p in unresolved if force or p.next_retry_height <= self._height]
            resolved = 0
            missing: list[PaymentRecord] = []
            for payment in candidates:
                record = Payment(payment.hash, payment.txid, payment.height, payment.value)
                if await self._registry.on_payment(record):
                    resolved += 1
                else:
                    missing.append(payment)
            fetched = 0
            if len(missing) > BULK_THRESHOLD:
                fetched = await self.bulk_fetch(missing)
                still = await self._store.payments(unresolved_only=True)
                wanted = {p.hash for p in missing}
                missing = [p for p in still if p.hash in wanted]
            for payment in missing:
                self._missing(payment.hash)
            if missing:
                logger.info("hash sync: %d paid app messages missing, asking peers", len(missing))
            return {"resolved": resolved, "bulk": fetched, "missing": len(missing)}

    async def bulk_fetch(self, missing: list[PaymentRecord]) -> int:
        """Fetch permanent messages from up to three peers; how many were stored."""
        wanted = {p.hash: p for p in missing}
        peers = [peer.key for peer in self._network.peers]
        self._rng.shuffle(peers)
        stored = 0
        for peer in peers[:BULK_PEERS]:
            if not wanted:
                break
            try:
                messages = await self._download(peer)
            except (httpx.HTTPError, ValueError) as error:
                logger.warning("bulk app messages from %s failed: %s", peer, error)
                continue
            batch = self._accepted(messages, wanted, peer)
            added = await self._store.add_permanents(batch)
            for message in batch:
                wanted.pop(message.hash, None)
            stored += added
            logger.info("bulk app messages from %s: %d stored", peer, added)
        if stored:
            self.counters.bulk_fetched += stored
            await self._registry.promoter.rebuild()
        return stored

    async def _download(self, peer: str) -> list[Any]:
        response = await self._http.get(f"http://{peer}/apps/permanentmessages", timeout=120)
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ValueError(f"answer is not a success envelope: {str(body)[:200]}")
        data = body.get("data")
        if not isinstance(data, list):
            raise ValueError("answer data is not a list")
        return data

    def _accepted(
        self, messages: list[Any], wanted: dict[str, PaymentRecord], peer: str
    ) -> list[StoredMessage]:
        """Messages of our unresolved payments whose content matches their hash."""
        accepted: list[StoredMessage] = []
        for item in messages:
            if not isinstance(item, dict) or item.get("hash") not in wanted:
                continue
            try:
                message: AppMessage = parse_app_message(item)
                verify_message_hash(message.to_wire())
                if not message.is_update:
                    verify_registration_signature(
                        message.type,
                        1,
                        message.spec,
                        message.timestamp,
                        message.signature,
                        self._registry.params,
                    )
            except (AppMessageError, AppSpecError) as error:
                self.counters.bulk_refused += 1
                self.counters.refuse("bulk message invalid")
                logger.warning(
                    "bulk message %s from %s refused: %s", item.get("hash"), peer, error.message
                )
                continue
            payment = wanted[message.hash]
            stored = message.stored(0)
            accepted.append(
                StoredMessage(
                    hash=stored.hash,
                    type=stored.type,
                    version=stored.version,
                    spec=stored.spec,
                    timestamp=stored.timestamp,
                    signature=stored.signature,
                    name=stored.name,
                    owner=stored.owner,
                    txid=payment.txid,
                    height=payment.height,
                    value_sat=payment.value,
                )
            )
        accepted.sort(key=lambda m: (m.height, m.timestamp))
        return accepted
