"""The folder and primary/standby rules (files-and-sync.md §1.5–§1.7) on their own."""

from __future__ import annotations

from fluxos.sync import gating
from fluxos.sync.gating import PeerIndex, StallTracker, primary_choice

IDLE = {"state": "idle", "globalBytes": 300, "inSyncBytes": 300, "needTotalItems": 0}
ME, LOW, HIGH = "10.0.0.5:16127", "10.0.0.1:16127", "10.0.0.9:16127"


def test_in_sync_needs_idle_complete_and_nothing_to_fetch() -> None:
    assert gating.in_sync(IDLE) is None
    assert "syncing" in (gating.in_sync({**IDLE, "state": "syncing"}) or "")
    assert "3 items" in (gating.in_sync({**IDLE, "needTotalItems": 3, "needBytes": 9}) or "")
    assert "100 of 300" in (gating.in_sync({**IDLE, "inSyncBytes": 100}) or "")


def test_receive_only_changes_count_files_and_deletes_not_directories() -> None:
    status = {"receiveOnlyChangedDirectories": 4}
    assert gating.receive_only_changes(status) == 0
    status |= {"receiveOnlyChangedFiles": 2, "receiveOnlyChangedDeletes": 5}
    assert gating.receive_only_changes(status) == 7


def test_cold_start_only_when_no_other_node_answers() -> None:
    assert gating.cold_start_leader(ME, [ME], []) is None
    waiting = gating.cold_start_leader(ME, [ME, HIGH], [PeerIndex(HIGH, False, "unknown", 0)])
    assert waiting is not None and HIGH in waiting
    holder = [PeerIndex(LOW, True, "valid", 10)]
    assert "syncing from it" in (gating.cold_start_leader(ME, [ME, LOW], holder) or "")


def test_the_running_node_stays_primary_and_others_stand_by() -> None:
    kept = primary_choice(ME, [LOW, ME], [], True, True, None, 60, 180)
    assert kept.run and kept.reason == "primary"
    standby = primary_choice(ME, [LOW, ME], [LOW], False, True, 999, 60, 180)
    assert not standby.run and LOW in standby.reason


def test_split_brain_keeps_the_lowest_address() -> None:
    assert not primary_choice(ME, [LOW, ME], [LOW], True, True, None, 60, 180).run
    assert primary_choice(ME, [ME, HIGH], [HIGH], True, True, None, 60, 180).run


def test_takeover_waits_grace_plus_index_steps_and_needs_a_verified_copy() -> None:
    addresses = [LOW, ME, HIGH]  # this node is candidate #1
    assert not primary_choice(ME, addresses, [], False, False, 10_000, 60, 180).run
    assert not primary_choice(ME, addresses, [], False, True, 239, 60, 180).run
    assert primary_choice(ME, addresses, [], False, True, 240, 60, 180).run
    assert not primary_choice(ME, addresses, [], False, True, None, 60, 180).run
    first = primary_choice(LOW, addresses, [], False, True, 60, 60, 180)
    assert first.run and "#0" in first.reason


def test_stall_nudges_back_off_doubling_up_to_the_cap() -> None:
    stall = StallTracker(stall_seconds=100, max_backoff=300)
    stall.observe(10, now=0)
    assert not stall.due(99)
    assert stall.due(100)
    assert stall.nudged(100) == 100
    assert not stall.due(150) and stall.due(200)
    assert stall.nudged(200) == 200
    assert stall.nudged(400) == 300
    stall.observe(11, now=500)  # progress: the stall clock starts again
    assert not stall.due(550)
