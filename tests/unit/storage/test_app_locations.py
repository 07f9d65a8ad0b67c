"""Where apps run, install and failed to install, on real SQLite: the newer broadcast
wins per app and IP, a running or failed install ends the installing claim, expired rows
are not read, names match in any case, and a reindex forgets everything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.databases import opened_database

from fluxos.storage.applocations import AppLocationsStore
from fluxos.storage.apps import AppsStore
from fluxos.storage.database import Database

NOW = 1_800_000_000_000
HOUR_MS = 3_600_000
IP = "10.0.0.1:16127"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with opened_database(tmp_path / "db.sqlite") as made:
        yield made


async def running(store: AppLocationsStore, at: int, app_hash: str = "aa" * 32) -> bool:
    return await store.put_location(
        "Wiki", IP, app_hash=app_hash, broadcasted_at=at, expire_at=at + HOUR_MS,
        running_since=at, os_uptime=12.5, static_ip=True,
    )  # fmt: skip


async def test_the_newer_running_broadcast_wins(database: Database) -> None:
    store = AppLocationsStore(database)
    assert await running(store, NOW)
    assert not await running(store, NOW, app_hash="bb" * 32)  # as new: kept
    assert not await running(store, NOW - 1, app_hash="bb" * 32)  # older: kept
    assert await running(store, NOW + 1, app_hash="cc" * 32)
    [row] = await store.locations(NOW, "wiki")
    assert (row.name, row.ip, row.hash, row.broadcasted_at) == ("Wiki", IP, "cc" * 32, NOW + 1)
    assert row.os_uptime == 12.5 and row.static_ip is True
    assert await store.has_locations_at(IP, NOW)
    assert await store.locations(NOW + 1 + HOUR_MS) == []  # expired: not read
    assert not await store.has_locations_at(IP, NOW + 1 + HOUR_MS)


async def test_running_or_failing_ends_the_installing_claim(database: Database) -> None:
    store = AppLocationsStore(database)
    assert await store.put_installing("Wiki", IP, NOW, NOW + HOUR_MS)
    assert not await store.put_installing("Wiki", IP, NOW - 5, NOW + HOUR_MS)
    assert [r.broadcasted_at for r in await store.installing(NOW, "WIKI")] == [NOW]
    assert await running(store, NOW + 10)
    assert await store.installing(NOW) == []

    assert await store.put_installing("Wiki", IP, NOW + 20, NOW + HOUR_MS)
    assert await store.put_installing_error("Wiki", "aa" * 32, IP, "no space", NOW + 30, NOW + 99)
    assert not await store.put_installing_error("Wiki", "aa" * 32, IP, "old", NOW + 29, NOW + 99)
    assert await store.installing(NOW) == []
    [error] = await store.installing_errors(NOW, "wiki")
    assert (error.error, error.broadcasted_at) == ("no space", NOW + 30)
    assert await store.installing_errors(NOW + 99) == []


async def test_ips_move_and_expire_and_a_reindex_forgets_all(database: Database) -> None:
    store = AppLocationsStore(database)
    assert await running(store, NOW)
    assert await store.shorten_ip_expiry(IP, NOW + 50) == 1
    assert await store.shorten_ip_expiry(IP, NOW + 60) == 0  # only ever shorter
    assert await store.move_ip(IP, "10.0.0.2:16127") == 1
    [row] = await store.locations(NOW)
    assert (row.ip, row.expire_at) == ("10.0.0.2:16127", NOW + 50)
    assert await store.remove_locations_of_ip("10.0.0.2:16127", NOW - 1) == 0
    assert await store.remove_location("Wiki", "10.0.0.2:16127", before_ms=NOW)
    assert await store.locations(NOW) == []

    assert await running(store, NOW)
    assert await store.put_installing("Other", IP, NOW, NOW + HOUR_MS)
    assert await store.put_installing_error("Wiki", "aa" * 32, IP, "x", NOW, NOW + HOUR_MS)
    await store.clear()
    assert await store.locations(NOW) == await store.installing(NOW) == []
    assert await store.installing_errors(NOW) == []


async def test_expired_rows_are_purged_with_the_temporary_messages(database: Database) -> None:
    store = AppLocationsStore(database)
    assert await running(store, NOW)
    assert await store.put_installing("Other", IP, NOW, NOW + 10)
    assert await AppsStore(database).purge_expired(NOW + 10) == 1
    assert len(await store.locations(NOW)) == 1
    assert await AppsStore(database).purge_expired(NOW + HOUR_MS) == 1
    assert await store.locations(NOW) == []
