"""Small named documents a node keeps across restarts (stored benchmark, geolocation, …)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, Float, String, Table, Text, select, update

from fluxos.storage.database import Database
from fluxos.storage.schema import Area, Migration, create_tables, metadata

node_state = Table(
    "node_state",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

AREA = Area("node", [Migration(1, "node_state documents", create_tables(node_state))])


class NodeState:
    """JSON documents by key."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def get(self, key: str) -> Any:
        async with self.database.connect() as conn:
            row = (
                await conn.execute(select(node_state.c.value).where(node_state.c.key == key))
            ).first()
        return json.loads(row[0]) if row else None

    async def put(self, key: str, value: Any, now: float) -> None:
        document = json.dumps(value)
        async with self.database.transaction() as conn:
            changed = await conn.execute(
                update(node_state)
                .where(node_state.c.key == key)
                .values(value=document, updated_at=now)
            )
            if changed.rowcount == 0:
                await conn.execute(
                    node_state.insert().values(key=key, value=document, updated_at=now)
                )
