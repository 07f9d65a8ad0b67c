from fluxos.clock import ManualClock
from fluxos.network.params import NetworkParams
from fluxos.network.peers import CloseCode, Direction, Peer, PeerManager, Source


class Link:
    async def send_text(self, text: str) -> None:
        return None

    async def close(self, code: int, reason: str) -> None:
        return None

    def abort(self) -> None:
        return None


def peer(key: str, clock: ManualClock, direction: Direction = Direction.OUTBOUND) -> Peer:
    ip, port = key.split(":")
    return Peer(ip, int(port), direction, Source.MANUAL, Link(), clock.millis(), clock.monotonic())


def test_failed_dials_back_off_along_the_ladder() -> None:
    clock = ManualClock()
    peers = PeerManager(clock, NetworkParams())  # 2, 5, 10, 15 minutes
    key = "1.2.3.4:16127"
    for wait in (120, 300, 600, 900, 900):
        assert peers.begin_dial(key)
        assert not peers.begin_dial(key)  # already pending
        peers.end_dial(key, failed=True)
        clock.advance(wait - 1)
        assert not peers.may_dial(key)
        clock.advance(1)
        assert peers.may_dial(key)


async def test_reconnect_queue_follows_the_close_code() -> None:
    clock = ManualClock()
    peers = PeerManager(clock, NetworkParams())
    for key, code in (
        ("1.1.1.1:16127", 1006),
        ("2.2.2.2:16127", CloseCode.MAX_CONNECTIONS),
        ("3.3.3.3:16127", CloseCode.CLOSED_OUTBOUND),
        ("4.4.4.4:16127", CloseCode.BAD_ORIGIN_OUTBOUND),
        ("5.5.5.5:16127", None),
    ):
        p = peer(key, clock)
        peers.add(p)
        peers.remove(p, code)
    inbound = peer("6.6.6.6:16127", clock, Direction.INBOUND)
    peers.add(inbound)
    peers.remove(inbound, 1006)
    assert sorted(peers.reconnect_candidates()) == [
        "1.1.1.1:16127",
        "2.2.2.2:16127",
        "5.5.5.5:16127",
    ]
    for _ in range(4):
        peers.note_reconnect_attempt("1.1.1.1:16127")
    assert "1.1.1.1:16127" not in peers.reconnect_candidates()  # more than 3 attempts


async def test_five_disconnects_in_two_hours_make_a_peer_unstable() -> None:
    clock = ManualClock()
    peers = PeerManager(clock, NetworkParams())
    key = "7.7.7.7:16127"
    for _ in range(4):
        p = peer(key, clock)
        peers.add(p)
        peers.remove(p, 1006)
        clock.advance(60)
    assert not peers.is_unstable(key)
    p = peer(key, clock)
    peers.add(p)
    peers.remove(p, 1006)
    assert peers.is_unstable(key)
    assert key not in peers.reconnect_candidates()
    clock.advance(7200)
    assert not peers.is_unstable(key)


async def test_a_replaced_connection_is_not_removed_by_the_old_one() -> None:
    clock = ManualClock()
    peers = PeerManager(clock, NetworkParams())
    old = peer("8.8.8.8:16127", clock)
    peers.add(old)
    new = peer("8.8.8.8:16127", clock, Direction.INBOUND)
    peers.add(new)
    peers.remove(old, CloseCode.DUPLICATE_PEER)
    assert peers.get("8.8.8.8:16127") is new
    assert [p.key for p in peers.inbound()] == ["8.8.8.8:16127"] and not peers.outbound()
