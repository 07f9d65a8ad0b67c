"""The stored benchmark (spec daemon.md §4.3), on a real SQLite database."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxos.clock import ManualClock
from fluxos.daemon.benchmarks import REFRESH_SECONDS, StoredBenchmark, benchmark_tier
from fluxos.errors import NotFound
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.nodestate import NodeState

CUMULUS = {"status": "CUMULUS", "cores": 4, "ram": 8.0, "eps": 300.5}


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[NodeState]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", ALL_AREAS)
    await database.open()
    try:
        yield NodeState(database)
    finally:
        await database.close()


def test_tier_from_object_or_json_text() -> None:
    assert benchmark_tier(CUMULUS) == "CUMULUS"
    assert benchmark_tier(json.dumps({"status": "STRATUS"})) == "STRATUS"
    assert benchmark_tier({"status": "running"}) is None
    assert benchmark_tier("Benchmark not running") is None
    assert benchmark_tier(None) is None


async def test_nothing_stored_is_an_error(state: NodeState) -> None:
    with pytest.raises(NotFound, match=r"^No stored benchmark data available$"):
        await StoredBenchmark(state, ManualClock()).stored()


async def test_stores_a_valid_tier_at_most_once_a_day(state: NodeState) -> None:
    clock = ManualClock()
    stored = StoredBenchmark(state, clock)
    assert not await stored.remember({"status": "failed"})
    assert await stored.remember(CUMULUS)
    assert await stored.stored() == {"benchmark": CUMULUS, "tier": "CUMULUS"}
    nimbus = {**CUMULUS, "status": "NIMBUS"}
    clock.advance(REFRESH_SECONDS - 1)
    assert not await stored.remember(nimbus)
    assert (await stored.stored())["tier"] == "CUMULUS"
    clock.advance(1)
    assert await stored.remember(nimbus)
    assert (await stored.stored())["tier"] == "NIMBUS"
    document = await state.get("nodeBenchmark")
    assert document["updatedAt"] == clock.millis()


async def test_a_restarted_node_respects_the_stored_date(state: NodeState) -> None:
    clock = ManualClock()
    assert await StoredBenchmark(state, clock).remember(CUMULUS)
    clock.advance(60)
    again = StoredBenchmark(state, clock)
    assert not await again.remember({**CUMULUS, "status": "STRATUS"})
    assert (await again.stored())["tier"] == "CUMULUS"
