"""The database engine: SQLite in WAL mode by default, any SQLAlchemy async URL otherwise."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from fluxos.storage.schema import Area, schema_versions

log = logging.getLogger(__name__)

# What a repository raises when the database fails, so that callers outside storage/
# can catch it without importing SQLAlchemy.
DatabaseError = SQLAlchemyError


class Database:
    """Owns the engine; `open()` creates it and brings every area's schema up to date."""

    def __init__(self, url: str, areas: Sequence[Area]) -> None:
        self.url = url
        self.areas = tuple(areas)
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("database is not open")
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.url).get_backend_name() == "sqlite"

    async def open(self) -> None:
        url = make_url(self.url)
        options: dict[str, Any] = {}
        if self.is_sqlite and url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": 30}
        self._engine = create_async_engine(self.url, **options)
        if self.is_sqlite:
            event.listen(self._engine.sync_engine, "connect", _sqlite_pragmas)
        await self.migrate()

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (autocommit-free; nothing is written)."""
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction, committed on success, rolled back on error."""
        async with self.engine.begin() as conn:
            yield conn

    async def migrate(self) -> None:
        async with self.transaction() as conn:
            await conn.run_sync(lambda sync: schema_versions.create(sync, checkfirst=True))
            rows = (await conn.execute(select(schema_versions))).all()
        current = {row.area: row.version for row in rows}
        for area in self.areas:
            version = current.get(area.name, 0)
            for migration in sorted(area.migrations, key=lambda m: m.version):
                if migration.version <= version:
                    continue
                async with self.transaction() as conn:
                    await conn.run_sync(migration.upgrade)
                    if version == 0:
                        await conn.execute(
                            schema_versions.insert().values(
                                area=area.name, version=migration.version
                            )
                        )
                    else:
                        await conn.execute(
                            schema_versions.update()
                            .where(schema_versions.c.area == area.name)
                            .values(version=migration.version)
                        )
                version = migration.version
                log.info(
                    "schema %s: migrated to version %d (%s)",
                    area.name,
                    version,
                    migration.description,
                )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
