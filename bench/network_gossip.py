"""Gossip performance: how many signed messages one node verifies and relays per second,
and how long one broadcast takes to reach every node of a 16-node `fluxos cluster`.

    .venv/bin/python bench/network_gossip.py [--nodes 16] [--rounds 7]

1. Pipeline: distinct envelopes, really signed by listed fluxnode keys, go through a
   node's full receive pipeline (rate-limit check, parse, object-hash, signature check
   against the node list, de-duplication cache, dispatch to a relaying subscriber and a
   hash announcement queued to 8 peers). The per-peer rate limit is lifted so the figure
   is the CPU cost; on the wire each peer is held to ~122 frames/s.
2. Cluster: a devnet and 16 node processes on 127.0.0.2…; the owner logs in to node 1 and
   POSTs /flux/broadcastmessage; the time until the last other node logs the message
   (each node's log line carries its own receive time).
Figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from fluxos.clock import SystemClock
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message
from fluxos.identity.client import Signer, login
from fluxos.network.cluster import Cluster
from fluxos.network.envelope import Envelope
from fluxos.network.gossip import Gossip, ReceivedMessage
from fluxos.network.networkstate import NetworkState
from fluxos.network.objecthash import object_hash
from fluxos.network.params import NetworkParams
from fluxos.network.peers import Direction, Peer, PeerManager, Source
from fluxos.network.ratelimit import FrameRateLimiter

PIPELINE_MESSAGES = 3000
SIGNERS = 50
RELAY_PEERS = 8


# -- 1. the receive pipeline ------------------------------------------------------------------
class _StaticList:
    """The node list the pipeline judges against (fluxd's answer, made here)."""

    def __init__(self, keys: list[PrivateKey]) -> None:
        self.entries = [
            {
                "ip": f"10.1.{i // 250}.{i % 250 + 1}:16127",
                "pubkey": key.public_key.hex(),
                "added_height": i,
                "collateral": f"COutPoint({i:064x}, 0)",
            }
            for i, key in enumerate(keys)
        ]

    async def deterministic_list(self) -> list[dict[str, Any]]:
        return self.entries

    async def node_status(self) -> dict[str, Any]:
        return {"status": "CONFIRMED", "collateral": self.entries[0]["collateral"]}

    async def block_height(self) -> int:
        return 1


class _Sink:
    """A peer socket that accepts every frame (the bench measures our side only)."""

    def __init__(self) -> None:
        self.frames = 0

    async def send_text(self, text: str) -> None:
        self.frames += 1

    async def close(self, code: int, reason: str) -> None:
        return None

    def abort(self) -> None:
        return None


def _peer(i: int, clock: SystemClock) -> Peer:
    return Peer(
        ip=f"10.2.0.{i + 1}",
        port=16127,
        direction=Direction.OUTBOUND,
        source=Source.MANUAL,
        link=_Sink(),
        connected_at_ms=clock.millis(),
        connected_mono=clock.monotonic(),
    )


async def pipeline_round(frames: list[str], keys: list[PrivateKey]) -> float:
    clock = SystemClock()
    params = NetworkParams()
    state = NetworkState(_StaticList(keys), clock, params)
    await state.refresh_list()
    peers = PeerManager(clock, params)
    unlimited = FrameRateLimiter(clock, frames_per_window=10**9, flood_drops=10**9)
    gossip = Gossip(
        state=state, peers=peers, clock=clock, params=params, key=None, limiter=unlimited
    )

    async def relay(_message: ReceivedMessage) -> bool:
        return True

    gossip.subscribe("benchnote", relay)
    sender = _peer(0, clock)
    for i in range(RELAY_PEERS + 1):
        peers.add(sender if i == 0 else _peer(i, clock))
    started = time.perf_counter()
    for frame in frames:
        await gossip.on_frame(sender, frame)
    await gossip.drain()
    elapsed = time.perf_counter() - started
    assert gossip.stats.accepted == len(frames), gossip.stats
    assert gossip.stats.announced == len(frames), gossip.stats
    for peer in peers:
        await peer.close(1000, "bench over")
    return len(frames) / elapsed


def pipeline(rounds: int) -> list[float]:
    keys = [PrivateKey.generate(compressed=i % 2 == 0) for i in range(SIGNERS)]
    now = int(time.time() * 1000)
    frames = [
        Envelope.sign(
            {"type": "benchnote", "n": n, "ip": "10.1.0.1:16127", "payload": "x" * 200},
            keys[n % SIGNERS],
            now,
        ).to_json()
        for n in range(PIPELINE_MESSAGES)
    ]
    return [asyncio.run(pipeline_round(frames, keys)) for _ in range(rounds)]


# -- 2. one broadcast across a cluster -------------------------------------------------------
def _log_time(line: str) -> float:
    stamp = line.split()[0].rstrip("Z")
    return datetime.datetime.fromisoformat(stamp).replace(tzinfo=datetime.UTC).timestamp()


def _received_at(path: Path, message_hash: str) -> float | None:
    for line in path.read_text(errors="replace").splitlines():
        if message_hash in line:
            return _log_time(line)
    return None


def cluster_rounds(nodes: int, rounds: int) -> tuple[list[float], list[float], float]:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(nodes, Path(tmp))
        started = time.monotonic()
        cluster.start()
        try:
            others = cluster.nodes[1:]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                counts = [
                    len(httpx.get(f"{n.url}/flux/peers?t={time.monotonic_ns()}").json()["data"])
                    for n in cluster.nodes
                ]
                if min(counts) >= nodes - 1:
                    break
                time.sleep(0.5)
            mesh_seconds = time.monotonic() - started
            owner = cluster.owner
            signer = Signer(bitcoin_address(owner.public_key), lambda t: sign_message(t, owner))
            header = {"zelidauth": login(cluster.nodes[0].url, signer).header_json()}
            last: list[float] = []
            median_node: list[float] = []
            for round_number in range(rounds):
                data = {"type": "benchnote", "round": round_number, "nonce": time.time_ns()}
                message_hash = object_hash(data)
                sent_at = time.time()
                reply = httpx.post(
                    f"{cluster.nodes[0].url}/flux/broadcastmessage", json=data, headers=header
                )
                assert reply.json()["status"] == "success", reply.text
                arrivals: list[float] = []
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    arrivals = [t for n in others if (t := _received_at(n.log_path, message_hash))]
                    if len(arrivals) == len(others):
                        break
                    time.sleep(0.2)
                if len(arrivals) < len(others):
                    raise SystemExit(f"round {round_number}: only {len(arrivals)} nodes got it")
                delays = [max(0.0, t - sent_at) for t in arrivals]
                last.append(max(delays))
                median_node.append(statistics.median(delays))
                time.sleep(1.0)
            return last, median_node, mesh_seconds
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-cluster", action="store_true")
    args = parser.parse_args()

    rates = pipeline(args.rounds)
    print(
        f"pipeline: {statistics.median(rates):,.0f} messages verified and relayed per second "
        f"per node (median of {len(rates)}: {', '.join(f'{r:,.0f}' for r in rates)}; "
        f"{PIPELINE_MESSAGES} signed envelopes, {SIGNERS} listed signers, "
        f"announced to {RELAY_PEERS} peers)"
    )
    if args.skip_cluster:
        return
    last, median_node, mesh = cluster_rounds(args.nodes, args.rounds)
    print(f"cluster: {args.nodes} nodes up and fully meshed in {mesh:.1f} s")
    print(
        f"broadcast to all {args.nodes - 1} other nodes: median {statistics.median(last):.3f} s "
        f"until the last one has it (rounds: {', '.join(f'{x:.3f}' for x in last)}); "
        f"a typical node has it after {statistics.median(median_node):.3f} s; target < 2 s"
    )


if __name__ == "__main__":
    main()
