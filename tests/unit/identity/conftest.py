"""Real identity components on a temporary SQLite database, driven by a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxos.clock import ManualClock
from fluxos.storage.database import Database
from fluxos.storage.identity import IdentityStore
from tests.support.databases import opened_database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with opened_database(tmp_path / "identity.sqlite") as database:
        yield database


@pytest.fixture
def store(database: Database) -> IdentityStore:
    return IdentityStore(database)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)
