"""fluxd's sync state as the poller records it (spec daemon.md §2.6)."""

from fluxos.chain.fluxd import fluxd_client
from fluxos.chain.liveness import (
    HEADER_FLOOR_MAINNET,
    HEADER_FLOOR_TESTNET,
    STALE_SECONDS,
    DaemonLiveness,
)
from fluxos.clock import ManualClock
from fluxos.errors import DaemonUnavailable


def liveness(clock: ManualClock, testnet: bool = False) -> DaemonLiveness:
    return DaemonLiveness(fluxd_client(clock), clock, testnet=testnet)


def test_header_floor_until_fluxd_knows_better() -> None:
    clock = ManualClock()
    state = liveness(clock)
    assert state.sync_state().header == HEADER_FLOOR_MAINNET
    assert not state.sync_state().synced
    assert liveness(clock, testnet=True).sync_state().header == HEADER_FLOOR_TESTNET


def test_synced_within_five_blocks_of_the_best_header() -> None:
    clock = ManualClock()
    state = liveness(clock)
    state.record_success(blocks=2_200_000, headers=2_200_004)
    assert state.sync_state().synced
    state.record_success(blocks=2_200_000, headers=2_200_005)
    assert not state.sync_state().synced
    # the header count never goes back
    state.record_success(blocks=2_200_010, headers=2_200_001)
    assert state.sync_state().header == 2_200_005
    assert state.sync_state().synced


def test_a_stale_poll_is_not_synced() -> None:
    clock = ManualClock()
    state = liveness(clock)
    state.record_success(blocks=2_200_000, headers=2_200_000)
    clock.advance(STALE_SECONDS - 1)
    assert state.sync_state().synced
    clock.advance(2)
    assert not state.sync_state().synced


def test_listeners_hear_outages_and_recoveries_once() -> None:
    clock = ManualClock()
    state = liveness(clock)
    events: list[str] = []
    state.add_listener(lambda event, _state: events.append(event))
    state.record_success(10, 10)
    down = DaemonUnavailable("connection refused", code="ECONNREFUSED")
    state.record_failure(down)
    state.record_failure(down)
    state.record_success(11, 11)
    assert events == ["polled", "unreachable", "recovered", "polled"]


async def test_unconfigured_fluxd_counts_as_unreachable() -> None:
    clock = ManualClock()
    state = liveness(clock)
    await state.poll_once()
    assert state.reachable is False
    assert not state.sync_state().synced
