"""The global apps registry of one node: app messages from owners and peers, payments from
the explorer, and the state every node derives from them alike.

* An owner's signed registration or update (`register`/`update`) is checked in full,
  stored as a temporary message and broadcast; the answer is its hash, which the owner
  pays for on chain.
* Peers' app messages (`fluxappregister` & co.) are checked again and stored for an hour;
  `fluxapprequest` asks are answered from the stores.
* The explorer's payments promote messages (`promotion.Promoter`); a payment whose message
  this node never received is asked of peers (`hashsync.HashSync`).

Nothing is dropped silently: every refused or given-up message is logged with its reason
and counted in `counters`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fluxos.apps.appmessages import (
    APP_MESSAGE_TYPES,
    AppMessage,
    MessageChecks,
    UpdateBeforeRegistration,
    parse_app_message,
)
from fluxos.apps.directory import RegistryDirectory
from fluxos.apps.errors import AppMessageError, AppSpecError
from fluxos.apps.heights import HeightSource
from fluxos.apps.params import AppParams
from fluxos.apps.promotion import Payment, Promoter
from fluxos.apps.registration import AppSpecChecker
from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.network.gossip import ReceivedMessage
from fluxos.network.service import NetworkService
from fluxos.storage.apps import AppsStore
from fluxos.wire.jsvalues import as_parsed_json, parse_json

logger = logging.getLogger(__name__)

REQUEST_TYPE = "fluxapprequest"
MAX_REQUEST_HASHES = 500
QUEUED_UPDATE_MS = 30 * 60_000
MAX_QUEUED_APPS = 200


@dataclass
class MessageCounters:
    """What happened to app messages (for logs, metrics and tests)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    queued_updates: int = 0
    requests_served: int = 0
    requested: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


@dataclass(frozen=True)
class PeerMinimums:
    """Peers a node needs before it accepts an owner's registration (§6.1)."""

    outgoing: int = 8
    incoming: int = 4


class AppRegistry:
    """App messages in and out of this node."""

    def __init__(
        self,
        store: AppsStore,
        params: AppParams,
        *,
        checker: AppSpecChecker,
        network: NetworkService,
        heights: HeightSource,
        clock: Clock,
        promoter: Promoter,
        checks: MessageChecks,
        minimums: PeerMinimums = PeerMinimums(),
    ) -> None:
        self.store = store
        self.params = params
        self.directory = RegistryDirectory(store)
        self._checker = checker
        self._network = network
        self._heights = heights
        self._clock = clock
        self.promoter = promoter
        self._checks = checks
        self._minimums = minimums
        self.counters = MessageCounters()
        # app name (lowercase) -> updates received before the app was known
        self._queued: OrderedDict[str, list[tuple[int, AppMessage]]] = OrderedDict()
        self._lock = asyncio.Lock()
        self._ask_refused = False
        promoter.on_registered = self._replay_queued

    def subscribe(self) -> None:
        for kind in APP_MESSAGE_TYPES:
            self._network.subscribe(kind, self.on_app_message)
        self._network.subscribe(REQUEST_TYPE, self.on_request)

    # -- an owner's registration and update ----------------------------------------------
    async def register(self, body: Any) -> str:
        self._check_peers("registration")
        height = await self._heights.current_height()
        temporary = await self._checker.check_registration(
            _parsed(body), height, self._clock.millis()
        )
        return await self._accept_own(temporary, "register")

    async def update(self, body: Any) -> str:
        self._check_peers("update")
        height = await self._heights.current_height()
        parsed = _parsed(body)
        current = await self._current_of(parsed)
        temporary = await self._checker.check_update(
            parsed, height, self._clock.millis(), current=current
        )
        return await self._accept_own(temporary, "update")

    async def _current_of(self, body: Any) -> dict[str, Any] | None:
        spec = (
            body.get("appSpecification", body.get("appSpecifications"))
            if isinstance(body, dict)
            else None
        )
        if isinstance(spec, str):
            try:
                spec = parse_json(spec)
            except ValueError:
                return None
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            return None
        return await self.directory.global_spec(spec["name"])

    def _check_peers(self, what: str) -> None:
        outgoing = len(self._network.peers.outbound())
        incoming = len(self._network.peers.inbound())
        if outgoing < self._minimums.outgoing:
            raise FluxError(
                f"Sorry, This Flux does not have enough outgoing peers for safe application"
                f" {what} ({outgoing} of {self._minimums.outgoing} needed)"
            )
        if incoming < self._minimums.incoming:
            raise FluxError(
                f"Sorry, This Flux does not have enough incoming peers for safe application"
                f" {what} ({incoming} of {self._minimums.incoming} needed)"
            )

    async def _accept_own(self, temporary: dict[str, Any], kind: str) -> str:
        message = AppMessage(
            temporary["type"],
            1,
            temporary["appSpecifications"],
            temporary["hash"],
            temporary["timestamp"],
            temporary["signature"],
            arcane_sender=False,
        )
        if await self.store.permanent(message.hash) is not None:
            raise FluxError(f"App message {message.hash} is already on the network and paid")
        stored = await self.store.add_temporary(message.stored(self._clock.millis()))
        try:
            await self._network.broadcast(message.to_wire())
        except FluxError as error:
            raise FluxError(
                f"Unable to {kind} application on the network. Try again later. ({error.message})"
            ) from None
        logger.info(
            "%s of %s accepted as %s and broadcast%s",
            message.type,
            message.name,
            message.hash,
            "" if stored else " again",
        )
        await self._promote_if_paid(message)
        return message.hash

    # -- app messages from peers ---------------------------------------------------------
    async def on_app_message(self, received: ReceivedMessage) -> bool:
        """A peer's app message: check, store for an hour; True to announce it on."""
        self.counters.received += 1
        try:
            message = parse_app_message(received.data)
        except AppMessageError as error:
            self._refused(received, "malformed", error.message)
            return False
        async with self._lock:
            if await self.store.permanent(message.hash) is not None or (
                await self.store.temporary(message.hash, self._clock.millis()) is not None
            ):
                self.counters.duplicates += 1
                logger.debug("app message %s from %s: already stored", message.hash, received.peer)
                return False
            payment = await self.store.payment(message.hash)
            height = (
                payment.height
                if payment is not None and not payment.message
                else await self._heights.current_height()
            )
            try:
                checked = await self._checks.verify(message, height, paid=payment is not None)
            except UpdateBeforeRegistration:
                self._queue_update(message)
                return False
            except (AppSpecError, AppMessageError) as error:
                self._refused(received, "invalid", error.message)
                return False
            await self.store.add_temporary(checked.stored(self._clock.millis()))
            self.counters.stored += 1
        logger.info(
            "app message %s (%s of %s) from %s stored for an hour",
            checked.hash,
            checked.type,
            checked.name,
            received.peer,
        )
        if payment is not None and not payment.message:
            # a message we asked for: it is on chain already, so it goes permanent now
            await self.promoter.promote(
                checked, Payment(payment.hash, payment.txid, payment.height, payment.value)
            )
            return False
        return True

    def _refused(self, received: ReceivedMessage, reason: str, detail: str) -> None:
        self.counters.refuse(reason)
        logger.warning(
            "app message %s from %s refused (%s): %s",
            received.data.get("hash"),
            received.peer,
            reason,
            detail,
        )

    def _queue_update(self, message: AppMessage) -> None:
        key = message.name.lower()
        now = self._clock.millis()
        entries = [e for e in self._queued.pop(key, []) if now - e[0] < QUEUED_UPDATE_MS]
        if all(m.hash != message.hash for _, m in entries):
            entries.append((now, message))
        self._queued[key] = entries
        while len(self._queued) > MAX_QUEUED_APPS:
            dropped, old = self._queued.popitem(last=False)
            self.counters.refuse("update queue full")
            logger.warning(
                "%d queued updates of %s dropped: more than %d apps wait for a registration",
                len(old),
                dropped,
                MAX_QUEUED_APPS,
            )
        self.counters.queued_updates += 1
        logger.info(
            "update %s of %s kept for 30 minutes until its registration is known",
            message.hash,
            message.name,
        )

    async def _replay_queued(self, name: str) -> None:
        entries = self._queued.pop(name.lower(), [])
        now = self._clock.millis()
        for received_at, message in entries:
            if now - received_at >= QUEUED_UPDATE_MS:
                self.counters.refuse("queued update expired")
                logger.warning("queued update %s of %s expired unchecked", message.hash, name)
                continue
            try:
                height = await self._heights.current_height()
                checked = await self._checks.verify(message, height, paid=False)
            except (AppSpecError, AppMessageError) as error:
                self.counters.refuse("invalid")
                logger.warning(
                    "queued update %s of %s refused: %s", message.hash, name, error.message
                )
                continue
            await self.store.add_temporary(checked.stored(now))
            self.counters.stored += 1
            await self._promote_if_paid(checked)

    async def _promote_if_paid(self, message: AppMessage) -> None:
        payment = await self.store.payment(message.hash)
        if payment is not None and not payment.message:
            await self.promoter.promote(
                message, Payment(payment.hash, payment.txid, payment.height, payment.value)
            )

    # -- asking for and serving messages by hash -----------------------------------------
    async def on_request(self, received: ReceivedMessage) -> bool:
        """`fluxapprequest` v1 `{hash}` or v2 `{hashes}`: answer this peer from the stores."""
        data = received.data
        hashes: Sequence[Any]
        if data.get("version") == 2 and isinstance(data.get("hashes"), list):
            hashes = data["hashes"][:MAX_REQUEST_HASHES]
        elif isinstance(data.get("hash"), str):
            hashes = [data["hash"]]
        else:
            logger.info("fluxapprequest from %s without hash(es); ignored", received.peer)
            return False
        for value in hashes:
            if not isinstance(value, str):
                continue
            message = await self.message_by_hash(value)
            if message is None:
                continue
            if await self._network.send_to(received.peer, message.to_wire()):
                self.counters.requests_served += 1
            await asyncio.sleep(0)
        return False

    async def message_by_hash(self, message_hash: str) -> AppMessage | None:
        """The stored message (permanent first, else temporary) with this hash."""
        permanent = await self.store.permanent(message_hash)
        if permanent is not None:
            return AppMessage.from_stored(permanent)
        temporary = await self.store.temporary(message_hash, self._clock.millis())
        return None if temporary is None else AppMessage.from_stored(temporary)

    async def request(self, hashes: Sequence[str], peers: Iterable[str] | None = None) -> set[str]:
        """Ask these peers (every connected one by default) for these messages (v1 for one,
        v2 for many); the peers that were asked, empty when nobody could be."""
        targets = [p.key for p in self._network.peers] if peers is None else list(peers)
        asked: set[str] = set()
        for low in range(0, len(hashes), MAX_REQUEST_HASHES):
            chunk = list(hashes[low : low + MAX_REQUEST_HASHES])
            data: dict[str, Any] = (
                {"type": REQUEST_TYPE, "version": 1, "hash": chunk[0]}
                if len(chunk) == 1
                else {"type": REQUEST_TYPE, "version": 2, "hashes": chunk}
            )
            try:
                reached = await self._network.originate_to(targets, data)
            except FluxError as error:
                # a node that is not confirmed yet tries again each second: say it once
                log = logger.debug if self._ask_refused else logger.warning
                log("cannot ask peers for %d app messages: %s", len(chunk), error.message)
                self._ask_refused = True
                return set()
            self._ask_refused = False
            if reached:
                self.counters.requested += len(chunk)
            asked |= reached
        return asked

    # -- payments ------------------------------------------------------------------------
    async def on_payment(self, payment: Payment) -> bool:
        """A payment found by the explorer; True if its message is now permanent."""
        if payment.height < self.params_epoch:
            return False
        if await self.store.permanent(payment.hash) is not None:
            await self.store.mark_payment(payment.hash)
            return True
        temporary = await self.store.temporary(payment.hash, self._clock.millis())
        if temporary is None:
            return False
        return await self.promoter.promote(AppMessage.from_stored(temporary), payment)

    params_epoch = 694_000


def _parsed(body: Any) -> Any:
    try:
        return as_parsed_json(body)
    except ValueError as exc:
        raise AppMessageError(f"request body: {exc}") from None
