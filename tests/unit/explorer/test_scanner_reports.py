"""The scanner's failure reports: the same failure every retry is told once, then again
with its count every REPEAT_REPORT tries (a stalled explorer never goes silent); a
database refusal is an ERROR."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from fluxos.explorer.scanner import REPEAT_REPORT, Scanner
from fluxos.jsonrpc import RpcError
from fluxos.storage.database import DatabaseError


def scanner() -> Scanner:
    nothing: Any = None  # _report reads neither the fetcher, the indexes nor the events
    return Scanner(nothing, nothing, nothing)


def test_a_repeated_failure_is_told_again_with_its_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scan = scanner()
    with caplog.at_level(logging.DEBUG, logger="fluxos.explorer.scanner"):
        for _ in range(2 * REPEAT_REPORT + 1):
            scan._report(DatabaseError("UNIQUE constraint failed: explorer_fluxnode_txs.txid"))
    told = [(r.levelno, r.getMessage()) for r in caplog.records if r.levelno > logging.DEBUG]
    assert [level for level, _ in told] == [logging.ERROR] * 3
    assert "(still" not in told[0][1]
    assert f"(still, {REPEAT_REPORT + 1} tries)" in told[1][1]
    assert f"(still, {2 * REPEAT_REPORT + 1} tries)" in told[2][1]


def test_a_new_failure_is_told_at_once(caplog: pytest.LogCaptureFixture) -> None:
    scan = scanner()
    with caplog.at_level(logging.INFO, logger="fluxos.explorer.scanner"):
        scan._report(RpcError(-28, "Loading block index..."))
        scan._report(RpcError(-28, "Loading block index..."))
        scan._report(DatabaseError("disk I/O error"))
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.ERROR]
