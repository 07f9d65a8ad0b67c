"""A node's real database for a test: SQLite in a file, every storage area migrated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database


@asynccontextmanager
async def opened_database(path: Path) -> AsyncIterator[Database]:
    """The database in SQLite file `path`, open (migrated) inside the block, closed after."""
    database = Database(f"sqlite+aiosqlite:///{path}", ALL_AREAS)
    await database.open()
    try:
        yield database
    finally:
        await database.close()
