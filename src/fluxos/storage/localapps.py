"""Apps installed on this node (upstream's `zelappsinformation`) and what the operator
wants of each component: running, or stopped (an operator stop is durable)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, Float, String, Table, Text, delete, select, update

from fluxos.storage.database import Database
from fluxos.storage.schema import Area, Migration, create_tables, metadata

local_apps = Table(
    "local_apps",
    metadata,
    Column("name", String, primary_key=True),
    Column("spec", Text, nullable=False),  # the stored spec document (key order kept)
    Column("installed_at", Float, nullable=False),
)
component_wishes = Table(
    "component_wishes",
    metadata,
    Column("container", String, primary_key=True),  # flux<component>_<app>
    Column("app", String, nullable=False, index=True),
    Column("desired", String, nullable=False),  # "running" | "stopped"
    Column("updated_at", Float, nullable=False),
)

AREA = Area(
    "localapps",
    [Migration(1, "installed apps, operator wishes", create_tables(local_apps, component_wishes))],
)

RUNNING = "running"
STOPPED = "stopped"


class LocalApps:
    """The installed apps' specs, in install order, and the components' desired states."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def add(self, name: str, spec: dict[str, Any], now: float) -> None:
        async with self.database.transaction() as conn:
            await conn.execute(
                local_apps.insert().values(name=name, spec=json.dumps(spec), installed_at=now)
            )

    async def replace(self, name: str, spec: dict[str, Any]) -> None:
        async with self.database.transaction() as conn:
            await conn.execute(
                update(local_apps).where(local_apps.c.name == name).values(spec=json.dumps(spec))
            )

    async def remove(self, name: str) -> None:
        async with self.database.transaction() as conn:
            await conn.execute(delete(local_apps).where(local_apps.c.name == name))
            await conn.execute(delete(component_wishes).where(component_wishes.c.app == name))

    async def get(self, name: str) -> dict[str, Any] | None:
        async with self.database.connect() as conn:
            row = (
                await conn.execute(select(local_apps.c.spec).where(local_apps.c.name == name))
            ).first()
        return json.loads(row[0]) if row else None

    async def find(self, name: str) -> dict[str, Any] | None:
        """The app whose name matches case-insensitively (app names are unique that way)."""
        for spec in await self.all():
            if str(spec.get("name", "")).lower() == name.lower():
                return spec
        return None

    async def all(self) -> list[dict[str, Any]]:
        async with self.database.connect() as conn:
            rows = await conn.execute(
                select(local_apps.c.spec).order_by(local_apps.c.installed_at, local_apps.c.name)
            )
            return [json.loads(row[0]) for row in rows]

    async def installed_at(self, name: str) -> float | None:
        async with self.database.connect() as conn:
            row = (
                await conn.execute(
                    select(local_apps.c.installed_at).where(local_apps.c.name == name)
                )
            ).first()
        return float(row[0]) if row else None

    async def set_desired(self, container: str, app: str, desired: str, now: float) -> None:
        async with self.database.transaction() as conn:
            changed = await conn.execute(
                update(component_wishes)
                .where(component_wishes.c.container == container)
                .values(desired=desired, updated_at=now)
            )
            if changed.rowcount == 0:
                await conn.execute(
                    component_wishes.insert().values(
                        container=container, app=app, desired=desired, updated_at=now
                    )
                )

    async def desired(self) -> dict[str, str]:
        """Container name -> desired state; a component without a wish should run."""
        async with self.database.connect() as conn:
            rows = await conn.execute(
                select(component_wishes.c.container, component_wishes.c.desired)
            )
            return {row[0]: row[1] for row in rows}
