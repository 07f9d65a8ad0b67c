"""/flux/peerhistory and /flux/unstablenodes over HTTP on two in-process nodes whose
connection the admin closes and reopens (real websockets, real logins)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.network import InProcessNode, eventually, running_nodes

CYCLES = 5  # upstream's unstable threshold: 5 disconnects within 2 hours


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[list[InProcessNode]]:
    async with running_nodes(2, tmp_path, connected=True) as nodes:
        yield nodes


async def test_history_and_unstable_nodes_after_repeated_disconnects(pair) -> None:
    a, b = pair
    dialer, listener = (a, b) if a.network.peers.outbound() else (b, a)
    for node in (a, b):
        node.network.discovery.enabled = False  # only the admin reconnects
    admin = await dialer.admin_headers()
    # (not asked before: the answer is cached for 30 s, as upstream's)
    assert dialer.network.peers.unstable_nodes() == []
    for _ in range(CYCLES):
        closed = await dialer.get(f"/flux/removepeer/{listener.address}", headers=admin)
        assert closed["status"] == "success", closed
        await eventually(lambda: not dialer.network.peers)
        added = await dialer.get(f"/flux/addpeer/{listener.address}", headers=admin)
        assert added["status"] == "success", added
        await eventually(lambda: listener.address in dialer.peer_keys())

    unstable = (await dialer.get("/flux/unstablenodes"))["data"]
    assert len(unstable) == 1
    entry = unstable[0]
    assert (entry["ip"], entry["port"], entry["disconnects"]) == (listener.host, "16127", CYCLES)
    assert isinstance(entry["firstDisconnect"], int) and entry["firstDisconnect"] > 0

    history = (await dialer.get("/flux/peerhistory", headers=admin))["data"]
    events = [event["event"] for event in history]
    assert events == ["connected"] + ["disconnected", "connected"] * CYCLES
    last_drop = [event for event in history if event["event"] == "disconnected"][-1]
    assert last_drop["ip"] == listener.host and last_drop["port"] == "16127"
    assert last_drop["direction"] == "outbound" and last_drop["source"] == "manual"
    assert last_drop["closeCode"] == 4009 and last_drop["closeCodeName"] == "CLOSED_OUTBOUND"
    assert last_drop["duration"] >= 0 and last_drop["messagesSent"] >= 0
    times = [event["timestamp"] for event in history]
    assert times == sorted(times)

    def query(text: str) -> str:
        return f"/flux/peerhistory?{text}"

    drops = (await dialer.get(query("event=disconnected&code=4009"), headers=admin))["data"]
    assert len(drops) == CYCLES
    last_two = (await dialer.get(query("limit=2"), headers=admin))["data"]
    assert last_two == history[-2:]
    since = (await dialer.get(query(f"since={times[-1]}"), headers=admin))["data"]
    assert since and all(event["timestamp"] >= times[-1] for event in since)
    prefix = listener.host.rsplit(".", 1)[0] + "."
    assert len((await dialer.get(query(f"ip={prefix}"), headers=admin))["data"]) == len(history)
    assert (await dialer.get(query("ip=10.99."), headers=admin))["data"] == []

    bad = await dialer.get(query("event=gone"), headers=admin)
    assert bad["status"] == "error"
    assert bad["data"]["message"] == "event must be one of connected, disconnected, got 'gone'"
    bad_code = await dialer.get(query("code=abc"), headers=admin)
    assert bad_code["data"]["message"] == "code must be an integer, got 'abc'"
    anonymous = await dialer.get("/flux/peerhistory")
    assert anonymous["status"] == "error" and anonymous["data"]["code"] == 401
