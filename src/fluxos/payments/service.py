"""Checkout payments (upstream 8.x paymentService): a page asks the node for a payment id
(`/payment/paymentrequest`, valid one hour), the user's wallet (ZelCore) reports the
transaction it sent to `/payment/verifypayment`, and the page learns of it on the
websocket `/ws/payment/:paymentid`. The node only records what the wallet reports; it
checks the shape of the report (upstream's limits and messages) and that the request is
open, not the transaction itself, as upstream does.
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime
from typing import Any

from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.storage.payments import PaymentStore
from fluxos.wire.jsvalues import UNDEFINED, string_to_number

REQUEST_VALIDITY_MS = 60 * 60 * 1000
POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 65 * 60.0  # slightly longer than a request lives
MAX_BODY_BYTES = 10_000
SUCCESS_URL = "https://home.runonflux.io/successcheckout"
_BASE36 = string.digits + string.ascii_lowercase


def _text(body: dict[str, Any], key: str) -> Any:
    value = body.get(key)
    return None if value in (None, "", UNDEFINED) else value


def _bounded(
    value: Any, *, missing: str | None, kind: str, length: str, low: int, high: int
) -> str | None:
    if value is None:
        if missing is not None:
            raise FluxError(missing)
        return None
    if not isinstance(value, str):
        raise FluxError(kind)
    if not low <= len(value) <= high:
        raise FluxError(length)
    return value


class PaymentService:
    def __init__(self, store: PaymentStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._watching: dict[str, int] = {}

    def watching(self, payment_id: str) -> int:
        """How many pages wait on `payment_id` now."""
        return self._watching.get(payment_id, 0)

    async def new_request(self) -> dict[str, str]:
        now = self.clock.millis()
        suffix = "".join(secrets.choice(_BASE36) for _ in range(11))
        payment_id = f"{now}_{suffix}"
        await self.store.add_request(payment_id, now, now + REQUEST_VALIDITY_MS)
        return {"paymentId": payment_id}

    async def verify(self, body: dict[str, Any], query_id: str | None) -> dict[str, str]:
        """Record a wallet's report; upstream's checks in upstream's order."""
        txid = _text(body, "transaction_id") or _text(body, "txid")
        payment_id = query_id or _text(body, "paymentid")
        if not payment_id:
            raise FluxError("No payment ID is specified")
        if not isinstance(payment_id, str) or not 10 <= len(payment_id) <= 100:
            raise FluxError("Invalid payment ID format")
        txid = _bounded(
            txid,
            missing="No transaction ID is specified",
            kind="Transaction ID must be a string",
            length="Invalid transaction ID length",
            low=1,
            high=500,
        )
        coin = _bounded(
            _text(body, "coin"),
            missing="No coin is specified",
            kind="Coin must be a string",
            length="Invalid coin name length",
            low=1,
            high=50,
        )
        addresses = {}
        for key, label in (("from_address", "From"), ("to_address", "To")):
            addresses[key] = _bounded(
                _text(body, key),
                missing=None,
                kind=f"{label} address must be a string",
                length=f"Invalid {label.lower()} address length",
                low=10,
                high=500,
            )
        amount = body.get("amount")
        if amount is not None and amount is not UNDEFINED and amount != "":
            number = string_to_number(amount) if isinstance(amount, str) else amount
            if not isinstance(number, int | float) or number != number or number <= 0:
                raise FluxError("Amount must be a positive number")
        now = self.clock.millis()
        created = await self.store.request(payment_id)
        if created is None:
            raise FluxError("Payment request not found or has expired")
        if created < now - REQUEST_VALIDITY_MS:
            raise FluxError("Payment request has expired")
        chain, explorer = _text(body, "chain"), _text(body, "explorer")
        await self.store.complete(
            {
                "payment_id": payment_id,
                "txid": txid,
                "coin": coin,
                "chain": str(chain or coin),
                "explorer": str(explorer or ""),
                "from_address": addresses["from_address"] or "",
                "to_address": addresses["to_address"] or "",
                "amount": "" if amount in (None, UNDEFINED) else str(amount),
                "created_at": now,
            }
        )
        return {
            "message": "Payment received successfully",
            "paymentId": payment_id,
            "txid": str(txid),
            "success_url": SUCCESS_URL,
        }

    async def watch(self, payment_id: str) -> tuple[dict[str, Any], int]:
        """For `/ws/payment`: the (message, close code) once the payment arrived (4012),
        the request is gone or expired (1000) or the wait is over (4016); polls every
        0.5 s."""
        self._watching[payment_id] = self.watching(payment_id) + 1
        try:
            return await self._poll(payment_id)
        finally:
            self._watching[payment_id] -= 1
            if not self._watching[payment_id]:
                del self._watching[payment_id]

    async def _poll(self, payment_id: str) -> tuple[dict[str, Any], int]:
        started = self.clock.monotonic()
        while self.clock.monotonic() - started <= MAX_POLL_SECONDS:
            payment = await self.store.completed(payment_id)
            if payment is not None:
                return {"status": "success", "data": self._received(payment)}, 4012
            created = await self.store.request(payment_id)
            if created is None or created < self.clock.millis() - REQUEST_VALIDITY_MS:
                message = "Payment request is no longer valid. Please request a new one."
                return {"status": "error", "data": {"message": message}}, 1000
            await self.clock.sleep(POLL_SECONDS)
        message = "Payment polling timeout reached. Please request a new payment."
        return {"status": "error", "data": {"message": message}}, 4016

    @staticmethod
    def _received(payment: dict[str, Any]) -> dict[str, Any]:
        return {
            "message": "Payment received",
            "paymentId": payment["payment_id"],
            "txid": payment["txid"],
            "coin": payment["coin"],
            "chain": payment["chain"],
            "explorer": payment["explorer"],
            "fromAddress": payment["from_address"],
            "toAddress": payment["to_address"],
            "amount": payment["amount"],
            "receivedAt": _iso(payment["created_at"]),
        }

    async def purge_loop(self) -> None:
        """Expired requests go every 10 minutes (upstream's TTL index)."""
        while True:
            await self.store.purge(self.clock.millis())
            await self.clock.sleep(600.0)


def _iso(ms: float) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
