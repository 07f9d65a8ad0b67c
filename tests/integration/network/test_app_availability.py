"""POST /flux/checkappavailability between two nodes: the asking node opens a real
listener on its own address and signs the request with its fluxnode key; the other node
connects to it over TCP (p2p.md §15)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.crypto import PrivateKey
from tests.support.network import InProcessNode, running_nodes, signed_body
from tests.support.processes import free_port


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[list[InProcessNode]]:
    async with running_nodes(2, tmp_path) as nodes:
        yield nodes


async def ask(node: InProcessNode, body: dict[str, Any], **kwargs: Any) -> Any:
    async with httpx.AsyncClient(timeout=30) as client:
        reply = await client.post(f"{node.url}/flux/checkappavailability", json=body, **kwargs)
    return reply.json()


async def test_a_listed_node_asks_about_its_own_app_ports(pair) -> None:
    asker, checker = pair
    served: list[str] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(writer.get_extra_info("peername")[0])
        writer.close()

    open_port = free_port(asker.host)
    server = await asyncio.start_server(accept, asker.host, open_port)
    closed_port = free_port(asker.host)
    try:
        body = {"ip": asker.host, "port": 16127, "ports": [open_port, 16150]}
        # 16150 is banned for apps (16100-16299): skipped, although nothing listens there
        answer = await ask(checker, signed_body(body, asker.key))
        assert answer == {
            "status": "success",
            "data": {"message": f"Flux Applications on {asker.host}:16127 are available."},
        }
        assert len(served) == 1  # the checker really connected, once

        failing = {"ip": asker.host, "port": 16127, "ports": [open_port, closed_port]}
        answer = await ask(checker, signed_body(failing, asker.key))
        assert answer["status"] == "error"
        assert answer["data"]["message"] == (
            f"Flux Applications on {asker.host}:16127 are not available. Failed port: {closed_port}"
        )

        # the owner may ask without a signature
        admin = await checker.admin_headers()
        assert (await ask(checker, body, headers=admin))["status"] == "success"
    finally:
        server.close()
        await server.wait_closed()


async def test_unsigned_foreign_and_malformed_requests_are_refused(pair) -> None:
    asker, checker = pair
    body = {"ip": asker.host, "port": 16127, "ports": [35000]}
    refused = {
        "status": "error",
        "data": {"name": "Error", "message": "Unable to verify request authenticity"},
    }
    assert await ask(checker, body) == refused
    stranger = PrivateKey.generate()  # signs well, but owns no listed node
    assert await ask(checker, signed_body(body, stranger)) == refused
    tampered = signed_body(body, asker.key) | {"ports": [35001]}
    assert await ask(checker, tampered) == refused

    bad_ip = await ask(checker, signed_body({**body, "ip": "localhost"}, asker.key))
    assert bad_ip["data"]["message"] == "ip must be an IPv4 address, got 'localhost'"
    bad_ports = await ask(checker, signed_body({**body, "ports": "35000"}, asker.key))
    assert bad_ports["data"]["message"] == "ports must be a list of port numbers"
