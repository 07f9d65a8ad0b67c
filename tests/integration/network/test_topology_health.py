"""/flux/topology and /flux/networkhealth over HTTP on in-process nodes that exchange
their peer lists over real websockets (p2p.md §10.1, upstream's network-health monitor)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fluxos.network.health import HealthParams
from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import InProcessNode, eventually, stop_nodes


async def _started(count: int, tmp_path: Path) -> tuple[FluxnodeRegistry, list[InProcessNode]]:
    registry = FluxnodeRegistry()
    nodes = [InProcessNode(tmp_path / f"node-{i}", registry) for i in range(count)]
    return registry, nodes


async def test_topology_reports_what_each_peer_is_connected_to(tmp_path: Path) -> None:
    _registry, nodes = await _started(3, tmp_path)
    a, b, c = nodes
    try:
        for node in nodes:
            await node.start()
        # a small devnet: every node ends up connected to both others
        await eventually(lambda: all(len(n.network.peers) == 2 for n in nodes), within=40)

        async def a_sees_b_and_c_report_each_other() -> bool:
            view = (await a.get("/flux/topology"))["data"]
            reports = view["topology"]
            if set(reports) != {b.address, c.address}:
                return False
            b_sees = set(reports[b.address]["outbound"]) | set(reports[b.address]["inbound"])
            c_sees = set(reports[c.address]["outbound"]) | set(reports[c.address]["inbound"])
            return c.address in b_sees and b.address in c_sees

        await eventually(a_sees_b_and_c_report_each_other, within=20)
        view = (await a.get("/flux/topology"))["data"]
        assert view["reporters"] == 2
        assert view["knownPeers"] >= 2  # b and c (and a, announced back in a peerUpdate)

        await c.stop()

        async def c_gone_from_a_and_from_b_report() -> bool:
            reports = (await a.get("/flux/topology"))["data"]["topology"]
            if set(reports) != {b.address}:
                return False
            entry = reports[b.address]
            return c.address not in entry["outbound"] + entry["inbound"]

        # the reporter goes at once; b's report loses c with its batched peerUpdate (2 s)
        await eventually(c_gone_from_a_and_from_b_report, within=20)
    finally:
        await stop_nodes(nodes)


async def test_network_health_diagnoses_bursts_of_disconnects(tmp_path: Path) -> None:
    _registry, nodes = await _started(4, tmp_path)
    a, b, c, d = nodes
    # upstream waits 2 minutes for a steady state and wants 5 drops of peers older than
    # 30 s; here two drops of any age, no cooldown
    a.network.health.params = replace(
        HealthParams(),
        steady_state_delay=0,
        min_connection_age=0,
        velocity_threshold=2,
        cooldown=0,
        probe_timeout=2,
    )
    try:
        for node in nodes:
            await node.start()
        await eventually(lambda: len(a.network.peers) == 3, within=40)
        assert a.network.health.view() == {
            "status": "HEALTHY",
            "inSteadyState": True,
            "history": [],
        }

        a.network.discovery.enabled = False  # no redials: the peers that remain are b's
        await stop_nodes([c, d])
        await eventually(lambda: len(a.network.health.history) >= 1, within=30)
        first = a.network.health.history[0]
        assert first["status"] == "NOT_AFFECTED", first
        assert first["triggerReason"] == {"disconnectsInWindow": 2, "windowMs": 60000}
        assert first["evidence"]["pingResults"] == {"sent": 1, "responded": 1, "failed": 0}
        correlation = first["evidence"]["topologyCorrelation"]
        assert correlation["recentlyLost"] == 2
        assert correlation["peersStillSeen"] + correlation["peersGone"] == 2
        assert first["evidence"]["probeResults"] is None

        await b.stop()
        await eventually(lambda: len(a.network.health.history) >= 2, within=30)
        # (asked over HTTP once, at the end: the route is cached 5 s, as upstream's)
        health = (await a.get("/flux/networkhealth"))["data"]
        assert health["status"] == "NETWORK_LOSS" and health["inSteadyState"] is True
        assert [event["status"] for event in health["history"]] == [
            "NOT_AFFECTED",
            "NETWORK_LOSS",
        ]
        last = health["history"][-1]
        assert last["evidence"]["pingResults"] == {"sent": 0, "responded": 0, "failed": 0}
        probes = last["evidence"]["probeResults"]
        # every other listed node is down: each probe fails
        assert probes["succeeded"] == 0 and 1 <= probes["attempted"] <= 3
        assert set(probes["targets"]) <= {b.address, c.address, d.address}
        assert last["evidence"]["topologyCorrelation"] is None
    finally:
        await stop_nodes(nodes)
