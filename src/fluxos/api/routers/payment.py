"""`/payment/*` and `/ws/payment/:paymentid`: checkout payments reported by a wallet
(upstream's paymentService; public, as upstream's)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from fluxos.api.routing import Call, FluxRouter
from fluxos.payments.service import MAX_BODY_BYTES, PaymentService
from fluxos.wire.bodies import stringify_qs

router: FluxRouter[PaymentService] = FluxRouter("Payment", lambda node: node.payments)
Payments = Call[PaymentService]


@router.get("/payment/paymentrequest")
async def payment_request(call: Payments) -> dict[str, str]:
    """A new payment id, valid for one hour."""
    return await call.service.new_request()


@router.post("/payment/verifypayment", max_body=MAX_BODY_BYTES)
async def verify_payment(call: Payments) -> dict[str, str]:
    """A wallet reports the transaction it sent for a payment id (`?paymentid=` or the
    body's `paymentid`; `transaction_id` or `txid`, `coin`, optional `chain`, `explorer`,
    `from_address`, `to_address`, `amount`)."""
    query_id = call.request.query_params.get("paymentid")
    body: dict[str, Any] = call.body if isinstance(call.body, dict) else {}
    return await call.service.verify(body, query_id or None)


@router.websocket("/ws/payment/:paymentid")
async def payment_socket(websocket: WebSocket, service: PaymentService) -> None:
    """Tells the checkout page when the payment arrived (qs-encoded envelope, close 4012)."""
    await websocket.accept()
    watcher = asyncio.ensure_future(service.watch(websocket.path_params["paymentid"]))
    gone = asyncio.ensure_future(_disconnection(websocket))
    try:
        done, _ = await asyncio.wait({watcher, gone}, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done:
            message, code = watcher.result()
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await websocket.send_text(stringify_qs(message))
                await websocket.close(code)
    finally:
        for task in (watcher, gone):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _disconnection(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
