"""Reading a whole explorer database, to compare two of them row for row."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fluxos.storage.database import Database
from fluxos.storage.explorer import ALL_TABLES


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every explorer table's rows, sorted, keyed by table name."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with database.connect() as conn:
        for table in ALL_TABLES:
            rows = (await conn.execute(select(table))).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def snapshot_file(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The same, from a node's SQLite file (read-only, while or after it runs)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return {
            table.name: sorted(conn.execute(f"SELECT * FROM {table.name}").fetchall(), key=repr)
            for table in ALL_TABLES
        }
