"""/flux/eventstream: Server-Sent Events of the peer table over a real HTTP stream, the
`Last-Event-ID` replay, and the 404 when `testEventStream` is off."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import (
    InProcessNode,
    eventually,
    running_nodes,
    start_nodes,
    stop_nodes,
)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[list[InProcessNode]]:
    async with running_nodes(2, tmp_path, connected=True, test_event_stream=True) as nodes:
        yield nodes


async def read_events(
    lines: AsyncIterator[str], count: int
) -> list[tuple[str, dict[str, Any], int]]:
    """The next `count` events (name, data, id) from an open SSE response's lines."""
    events: list[tuple[str, dict[str, Any], int]] = []
    fields: dict[str, str] = {}
    async for line in lines:
        if line.startswith(":"):
            continue
        if line == "":
            if fields:
                events.append((fields["event"], json.loads(fields["data"]), int(fields["id"])))
                fields = {}
                if len(events) == count:
                    return events
            continue
        name, _, value = line.partition(": ")
        fields[name] = value
    raise AssertionError(f"the stream ended after {events}")


async def test_peer_events_stream_and_replay(pair) -> None:
    dialer, listener = pair if pair[0].network.peers.outbound() else pair[::-1]
    for node in pair:
        node.network.discovery.enabled = False
    admin = await dialer.admin_headers()
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", f"{dialer.url}/flux/eventstream") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        # the connection made at start is replayed to a new subscriber
        (first,) = await read_events(lines, 1)
        assert first[0] == "peers:added" and first[1]["ip"] == listener.host
        closed = await client.get(f"{dialer.url}/flux/removepeer/{listener.address}", headers=admin)
        assert closed.json()["status"] == "success"
        (removed,) = await asyncio.wait_for(read_events(lines, 1), 20)
    name, data, removed_id = removed
    assert name == "peers:removed"
    assert data == {
        "ip": listener.host,
        "port": "16127",
        "direction": "outbound",
        "closeCode": 4009,
        "outbound": 0,
        "inbound": 0,
        "total": 0,
    }
    assert removed_id > first[2]

    await dialer.get(f"/flux/addpeer/{listener.address}", headers=admin)
    await eventually(lambda: listener.address in dialer.peer_keys())
    # a client coming back with Last-Event-ID gets only what it missed
    headers = {"Last-Event-ID": str(removed_id)}
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", f"{dialer.url}/flux/eventstream", headers=headers) as response,
    ):
        (missed,) = await asyncio.wait_for(read_events(response.aiter_lines(), 1), 20)
    assert missed[0] == "peers:added" and missed[2] == removed_id + 1
    assert missed[1]["direction"] == "outbound" and missed[1]["total"] == 1
    await eventually(lambda: dialer.node.events.subscribers == 0)


async def test_the_stream_is_off_by_default(tmp_path: Path) -> None:
    (node,) = await start_nodes(1, tmp_path, FluxnodeRegistry())
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            reply = await client.get(f"{node.url}/flux/eventstream")
        assert reply.status_code == 404
        assert reply.json() == {"status": "error", "data": {"message": "Event stream not enabled"}}
    finally:
        await stop_nodes([node])
