"""Many rows in one `executemany`, without SQLAlchemy's per-row parameter processing.

SQLAlchemy Core spends ~20 µs per row building bind parameters, more than SQLite needs to
insert it. A `BulkStatement` compiles its Core statement once per dialect and hands the
driver plain tuples (or dicts, for drivers with named parameters), so one statement
serves each dialect at the driver's speed (SQLite is the one CI tests; PostgreSQL is not
offered until a CI job runs these tests against a real server).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class BulkStatement:
    """A statement whose bind parameters are named after `columns`, run with row tuples."""

    def __init__(self, statement: ClauseElement, columns: Sequence[str]) -> None:
        self.statement = statement
        self.columns = tuple(columns)
        self._compiled: dict[str, tuple[str, tuple[int, ...] | None]] = {}

    @classmethod
    def insert(cls, table: Table, columns: Sequence[str] | None = None) -> BulkStatement:
        names = tuple(columns or (c.name for c in table.columns))
        return cls(insert(table).values({name: bindparam(name) for name in names}), names)

    def _sql(self, conn: AsyncConnection) -> tuple[str, tuple[int, ...] | None]:
        dialect = conn.dialect
        cached = self._compiled.get(dialect.name)
        if cached is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            order: tuple[int, ...] | None = None
            if compiled.positional:
                order = tuple(self.columns.index(name) for name in compiled.positiontup or ())
            cached = (str(compiled), order)
            self._compiled[dialect.name] = cached
        return cached

    async def execute(self, conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run the statement once per row (tuples in `columns` order); nothing if no rows."""
        if not rows:
            return
        sql, order = self._sql(conn)
        params: Sequence[Any]
        if order is None:
            params = [dict(zip(self.columns, row, strict=True)) for row in rows]
        elif order == tuple(range(len(self.columns))):
            params = rows
        else:
            params = [tuple(row[i] for i in order) for row in rows]
        await conn.exec_driver_sql(sql, params)  # type: ignore[arg-type]
