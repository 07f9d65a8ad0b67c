"""The schema, versioned per area.

Each area module under `fluxos.storage` owns its tables (on the shared `metadata`) and a
list of migrations; `AREAS` lists them once. At start the database applies, in order and
each in its own transaction, every migration newer than the version recorded for its area.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table

metadata = MetaData()

schema_versions = Table(
    "schema_versions",
    metadata,
    Column("area", String, primary_key=True),
    Column("version", Integer, nullable=False),
)


@dataclass(frozen=True)
class Migration:
    """Step `version` of an area's schema; `upgrade` runs inside a transaction."""

    version: int
    description: str
    upgrade: Callable[[Connection], None]


def create_tables(*tables: Table) -> Callable[[Connection], None]:
    """A migration step that creates `tables` (the usual first version of an area)."""

    def upgrade(connection: Connection) -> None:
        for table in tables:
            table.create(connection, checkfirst=True)

    return upgrade


@dataclass(frozen=True)
class Area:
    name: str
    migrations: Sequence[Migration]

    @property
    def latest(self) -> int:
        return max((m.version for m in self.migrations), default=0)
