"""Peer exchange bookkeeping (p2p.md §10.1) and the network-health trigger, on the manual
clock with a real peer table."""

import asyncio
import json

from fluxos.clock import ManualClock
from fluxos.network.health import HealthParams, NetworkHealth
from fluxos.network.networkstate import NetworkState
from fluxos.network.params import NetworkParams
from fluxos.network.peers import CloseCode, Direction, Peer, PeerManager, Source
from fluxos.network.topology import ExchangeSender, PeerTopology


class Link:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        return None

    def abort(self) -> None:
        return None


def peer(key: str, clock: ManualClock, *, exchange: bool = True, inbound: bool = False) -> Peer:
    ip, port = key.split(":")
    direction = Direction.INBOUND if inbound else Direction.OUTBOUND
    caps = ("peerExchange",) if exchange else ()
    return Peer(
        ip,
        int(port),
        direction,
        Source.MANUAL,
        Link(),
        clock.millis(),
        clock.monotonic(),
        capabilities=caps,
    )


def public(n: int, port: int = 16127) -> str:
    return f"8.{n // 250}.{n % 250}.1:{port}"


def test_a_full_exchange_keeps_the_first_60_valid_keys_per_direction() -> None:
    topology = PeerTopology()
    outbound = ["10.0.0.1:16127", "8.8.8.8:1234", "nonsense", 7] + [public(i) for i in range(70)]
    assert topology.exchange("1.1.1.1:16127", outbound, [public(100, 16137)])
    entry = topology.entry("1.1.1.1:16127")
    assert entry is not None
    # the first 60 entries are looked at: 4 invalid ones (private, port, shape) among them
    assert entry.outbound == {public(i) for i in range(56)}
    assert entry.inbound == {public(100, 16137)}
    assert not topology.exchange("1.1.1.1:16127", "not a list", [])


def test_updates_need_a_full_exchange_first_and_stop_adding_at_120() -> None:
    topology = PeerTopology()
    reporter = "1.1.1.1:16127"
    assert not topology.update(reporter, [public(1)], [], [])
    assert topology.entry(reporter) is None
    topology.exchange(reporter, [public(i) for i in range(60)], [public(i) for i in range(60, 110)])
    topology.update(reporter, [public(i) for i in range(200, 220)], [], [public(0)])
    entry = topology.entry(reporter)
    # 110 + 10 adds reach the cap; the removal in the same update still applies
    assert entry is not None and len(entry) == 119 and not entry.sees(public(0))
    topology.update(reporter, [], [], [public(1), public(60)])
    assert len(entry) == 117 and not entry.sees(public(60))


def test_at_most_100_reporters_and_devnet_keys() -> None:
    topology = PeerTopology()
    for i in range(101):
        topology.exchange(public(i), [], [])
    assert topology.view()["reporters"] == 100
    assert topology.exchange(public(5), [public(300)], [])  # a known reporter still updates
    assert topology.view()["knownPeers"] == 1
    devnet = PeerTopology(allow_private=True)
    devnet.exchange("127.0.0.2:16127", ["127.0.0.3:16127", "127.0.0.4:9"], [])
    assert devnet.view()["topology"] == {
        "127.0.0.2:16127": {"outbound": ["127.0.0.3:16127"], "inbound": []}
    }


async def test_sender_tells_a_new_peer_everything_and_batches_the_changes() -> None:
    clock = ManualClock()
    peers = PeerManager(clock, NetworkParams())
    sender = ExchangeSender(peers, debounce=3600)  # flushed by hand below
    peers.watchers.append(sender)
    old = peer("8.8.8.8:16127", clock)
    legacy = peer("9.9.9.9:16127", clock, exchange=False, inbound=True)
    peers.add(old)
    peers.add(legacy)
    new = peer("7.7.7.7:16127", clock, inbound=True)
    peers.add(new)
    await asyncio.sleep(0)  # let the writers send
    first = json.loads(new.link.sent[0])  # type: ignore[attr-defined]
    assert first == {
        "type": "peerExchange",
        "outbound": ["8.8.8.8:16127"],
        "inbound": ["9.9.9.9:16127"],
    }
    peers.remove(legacy, CloseCode.CLOSED_INBOUND)
    gone = peer("6.6.6.6:16127", clock)
    peers.add(gone)
    peers.remove(gone, 1006)  # added and removed in one window: only the removal is told
    assert sender.flush() == 2  # old and new advertise peerExchange
    await asyncio.sleep(0)
    update = json.loads(old.link.sent[-1])  # type: ignore[attr-defined]
    assert update == {
        "type": "peerUpdate",
        "addOutbound": ["8.8.8.8:16127"],
        "addInbound": ["7.7.7.7:16127"],
        "rm": ["6.6.6.6:16127", "9.9.9.9:16127"],
    }
    assert sender.flush() == 0  # nothing new
    sender.cancel()


class NoList:
    async def deterministic_list(self) -> list[dict[str, object]]:
        return []

    async def node_status(self) -> dict[str, object]:
        return {}

    async def block_height(self) -> int:
        return 0


async def test_health_counts_only_unexpected_drops_of_established_peers() -> None:
    clock = ManualClock()
    params = NetworkParams()
    peers = PeerManager(clock, params)
    health = NetworkHealth(
        peers=peers,
        topology=PeerTopology(),
        state=NetworkState(NoList(), clock, params),
        clock=clock,
        own_address=lambda: "1.2.3.4:16127",
        params=HealthParams(),
    )
    peers.watchers.append(health)
    first = peer("8.8.8.1:16127", clock)
    peers.add(first)
    assert not health.in_steady_state
    clock.advance(120)
    peers.add(peer("8.8.8.2:16127", clock))
    assert health.in_steady_state  # two minutes after the first peer
    young = [peer(public(i), clock) for i in range(5)]
    for p in young:
        peers.add(p)
    clock.advance(10)
    for p in young:
        peers.remove(p, 1006)  # connected for 10 s only: not counted
    assert not health.diagnosing and not health.history
    clock.advance(30)
    old = [peer(public(i), clock) for i in range(10, 20)]
    for p in old:
        peers.add(p)
    clock.advance(31)
    for p in old[:5]:
        peers.remove(p, CloseCode.CLOSED_OUTBOUND)  # sent away on purpose: not counted
    assert not health.diagnosing
    for p in old[5:9]:
        peers.remove(p, 1006)
    assert not health.diagnosing  # four within the minute
    peers.remove(old[9], CloseCode.DEAD_CONNECTION)
    assert health.diagnosing  # the fifth starts a diagnosis
    health.close()
