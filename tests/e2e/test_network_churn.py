"""Churn end to end: with small peer targets, the peers of a killed node replace it."""

from __future__ import annotations

import time
from pathlib import Path

from fluxos.network.cluster import PeerTargets
from tests.support.cluster import ClusterHarness, wait_until


def test_peers_of_a_killed_node_connect_elsewhere(tmp_path: Path) -> None:
    small = PeerTargets(min_outgoing=2, outgoing_target=2, min_incoming=1, incoming_target=1)
    with ClusterHarness(tmp_path, 6, targets=small) as net:
        watcher = net.node(1)
        ordered = sorted(net.fluxnode_list(), key=lambda entry: entry["added_height"])
        addresses = [entry["ip"] for entry in ordered]
        me = addresses.index(watcher.address)
        successors = {addresses[(me + 1) % 6], addresses[(me + 2) % 6]}
        wait_until(lambda: set(_outbound(net, 1)) >= successors, timeout=60, interval=0.5)
        for key in set(_outbound(net, 1)) - successors:  # leave only the deterministic two
            net.get(1, f"/flux/removepeer/{key}", headers=net.admin(1))
        wait_until(lambda: set(_outbound(net, 1)) == successors, timeout=20)
        victim_address = sorted(successors)[0]
        victim = next(n for n in net.nodes if n.address == victim_address)
        net.cluster.kill_node(victim)
        wait_until(lambda: victim_address not in net.peers(1), timeout=30)
        wait_until(lambda: len(_outbound(net, 1)) >= 2, timeout=60, interval=0.5)
        replaced = set(_outbound(net, 1)) - successors
        assert replaced and victim_address not in replaced
        assert net.log_count(1, f"peer {victim_address} disconnected") >= 1


def _outbound(net: ClusterHarness, index: int) -> list[str]:
    answer = net.get(index, "/flux/peers/outbound", params={"fresh": time.monotonic_ns()})
    return [f"{p['ip']}:{p['port']}" for p in answer["data"]]
