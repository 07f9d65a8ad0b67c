"""/payment/* and /ws/payment over real HTTP and a real websocket on a running node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import websockets

from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import InProcessNode, eventually

WALLET = {"coin": "FLUX", "txid": "ab" * 32, "from_address": "t1FromAddress000", "amount": "12.5"}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[InProcessNode]:
    running = InProcessNode(tmp_path / "node", FluxnodeRegistry())
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_a_reported_payment_reaches_the_waiting_page(node: InProcessNode) -> None:
    requested = await node.get("/payment/paymentrequest")
    assert requested["status"] == "success"
    payment_id = requested["data"]["paymentId"]
    stamp, _, suffix = payment_id.partition("_")
    assert stamp.isdigit() and len(suffix) == 11

    async with websockets.connect(f"ws://{node.host}:16127/ws/payment/{payment_id}") as page:
        # the page waits before the wallet reports
        await eventually(lambda: node.node.payments.watching(payment_id) == 1)
        async with httpx.AsyncClient(timeout=10) as http:
            reply = (
                await http.post(
                    f"{node.url}/payment/verifypayment?paymentid={payment_id}", json=WALLET
                )
            ).json()
        frame = await asyncio.wait_for(page.recv(), 10)
        await asyncio.wait_for(page.wait_closed(), 10)
    assert reply == {
        "status": "success",
        "data": {
            "message": "Payment received successfully",
            "paymentId": payment_id,
            "txid": WALLET["txid"],
            "success_url": "https://home.runonflux.io/successcheckout",
        },
    }
    assert page.close_code == 4012
    text = unquote(str(frame))
    assert "status=success" in text and f"data[paymentId]={payment_id}" in text
    assert "data[chain]=FLUX" in text and "data[amount]=12.5" in text

    # the request is answered: a second report finds nothing open
    async with httpx.AsyncClient(timeout=10) as http:
        again = (
            await http.post(
                f"{node.url}/payment/verifypayment", json={**WALLET, "paymentid": payment_id}
            )
        ).json()
    assert again["data"]["message"] == "Payment request not found or has expired"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "No payment ID is specified"),
        ({"paymentid": "short"}, "Invalid payment ID format"),
        ({"paymentid": "1234567890_x"}, "No transaction ID is specified"),
        ({"paymentid": "1234567890_x", "txid": 7}, "Transaction ID must be a string"),
        ({"paymentid": "1234567890_x", "txid": "t" * 501}, "Invalid transaction ID length"),
        ({"paymentid": "1234567890_x", "txid": "t"}, "No coin is specified"),
        ({"paymentid": "1234567890_x", "txid": "t", "coin": "c" * 51}, "Invalid coin name length"),
        (
            {"paymentid": "1234567890_x", "txid": "t", "coin": "FLUX", "to_address": "short"},
            "Invalid to address length",
        ),
        (
            {"paymentid": "1234567890_x", "txid": "t", "coin": "FLUX", "amount": "-1"},
            "Amount must be a positive number",
        ),
        (
            {"paymentid": "1234567890_x", "txid": "t", "coin": "FLUX"},
            "Payment request not found or has expired",
        ),
    ],
)
async def test_reports_are_checked_in_upstreams_order(
    node: InProcessNode, body: dict[str, object], message: str
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = (await http.post(f"{node.url}/payment/verifypayment", json=body)).json()
    assert reply["status"] == "error"
    assert reply["data"]["message"] == message


async def test_a_page_waiting_on_an_unknown_payment_is_told(node: InProcessNode) -> None:
    async with websockets.connect(f"ws://{node.host}:16127/ws/payment/1234567890_nothing") as page:
        frame = await asyncio.wait_for(page.recv(), 10)
        await asyncio.wait_for(page.wait_closed(), 10)
    assert "no longer valid" in unquote(str(frame)).replace("+", " ")
    assert page.close_code == 1000


async def test_oversized_reports_are_refused(node: InProcessNode) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.post(
            f"{node.url}/payment/verifypayment", json={"paymentid": "x" * 20, "pad": "p" * 20_000}
        )
    # upstream answers HTTP 413; the node's edge answers its envelope with code 413
    data = reply.json()["data"]
    assert (data["code"], data["message"]) == (413, "request body must be at most 10000 bytes")
