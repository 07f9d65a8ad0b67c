"""POST /flux/keepupnpportsopen between two nodes: the asking node signs with its fluxnode
key; the other checks it is alive (/flux/uptime over HTTP), answers 202, then connects to
each port over TCP and sends a UDP datagram, which real sockets of the test receive."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.crypto import PrivateKey
from tests.support.network import InProcessNode, eventually, running_nodes, signed_body
from tests.support.processes import free_port


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[list[InProcessNode]]:
    async with running_nodes(2, tmp_path) as nodes:
        yield nodes


async def ask(node: InProcessNode, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(f"{node.url}/flux/keepupnpportsopen", json=body)


async def test_a_listed_node_gets_traffic_on_its_ports(pair) -> None:
    asker, helper = pair
    tcp_hits: list[int] = []
    port_a, port_b = free_port(asker.host), free_port(asker.host)

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tcp_hits.append(writer.get_extra_info("sockname")[1])
        writer.close()

    servers = [await asyncio.start_server(accept, asker.host, port) for port in (port_a, port_b)]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((asker.host, port_a))
    udp.setblocking(False)
    try:
        body = {"ip": asker.host, "apiPort": 16127, "ports": [port_a, port_b],
                "timestamp": int(time.time())}  # fmt: skip
        reply = await ask(helper, signed_body(body, asker.key))
        assert reply.status_code == 202 and reply.content == b""
        await eventually(lambda: sorted(tcp_hits) == sorted([port_a, port_b]), within=10)
        loop = asyncio.get_running_loop()
        datagram = await asyncio.wait_for(loop.sock_recv(udp, 16), 5)
        assert datagram == b"D"
    finally:
        udp.close()
        for server in servers:
            server.close()
            await server.wait_closed()


async def test_refusals_are_status_codes(pair) -> None:
    asker, helper = pair
    now = int(time.time())
    good = {"ip": asker.host, "apiPort": 16127, "ports": [35000], "timestamp": now}
    unsigned = {**good, "pubKey": asker.key.public_key.hex(), "signature": "AAAA"}
    assert (await ask(helper, unsigned)).status_code == 401
    stranger = signed_body(good, PrivateKey.generate())
    assert (await ask(helper, stranger)).status_code == 401
    stale = signed_body({**good, "timestamp": now - 601}, asker.key)
    assert (await ask(helper, stale)).status_code == 422
    bad_port = signed_body({**good, "ports": ["35000"]}, asker.key)
    assert (await ask(helper, bad_port)).status_code == 422
    assert (await ask(helper, [1, 2])).status_code == 422
    # nothing answers /flux/uptime there: no traffic for an address that is not a node
    elsewhere = signed_body({**good, "apiPort": free_port(asker.host)}, asker.key)
    assert (await ask(helper, elsewhere)).status_code == 503
