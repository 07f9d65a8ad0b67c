"""Where the global apps run, are being installed and failed to install (upstream's
`zelappslocation`, `appsInstallingLocations` and `appsInstallingErrorsLocations`
collections): one row an app and node IP, written from the nodes' broadcasts, the newer
broadcast winning. Rows carry their expiry and readers skip expired rows
(`fluxos.storage.apps.AppsStore.purge_expired` deletes them with the temporary messages);
the tables belong to the `apps` storage area.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    String,
    Table,
    Text,
    and_,
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from fluxos.storage.database import Database
from fluxos.storage.schema import metadata

locations = Table(
    "apps_locations",
    metadata,
    Column("name", String, primary_key=True),
    Column("ip", String, primary_key=True),
    Column("name_lower", String, nullable=False),
    Column("hash", String, nullable=False),
    Column("broadcasted_at", BigInteger, nullable=False),
    Column("expire_at", BigInteger, nullable=False),
    Column("running_since", BigInteger),
    Column("os_uptime", Float),
    Column("static_ip", Boolean, nullable=False, default=False),
    Index("ix_apps_locations_name", "name_lower"),
    Index("ix_apps_locations_ip", "ip"),
)

installing = Table(
    "apps_installing_locations",
    metadata,
    Column("name", String, primary_key=True),
    Column("ip", String, primary_key=True),
    Column("name_lower", String, nullable=False),
    Column("broadcasted_at", BigInteger, nullable=False),
    Column("expire_at", BigInteger, nullable=False),
)

installing_errors = Table(
    "apps_installing_errors",
    metadata,
    Column("name", String, primary_key=True),
    Column("hash", String, primary_key=True),
    Column("ip", String, primary_key=True),
    Column("name_lower", String, nullable=False),
    Column("error", Text, nullable=False),
    Column("broadcasted_at", BigInteger, nullable=False),
    Column("expire_at", BigInteger, nullable=False),
)


class AppLocationsStore:
    """All SQL of the apps' locations, install claims and install errors."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def put_location(
        self,
        name: str,
        ip: str,
        *,
        app_hash: str,
        broadcasted_at: int,
        expire_at: int,
        running_since: int | None,
        os_uptime: float | None,
        static_ip: bool,
    ) -> bool:
        """Record that `ip` runs `name`, unless a newer broadcast is recorded; also clears
        the installing entry. True if something changed."""
        values = {
            "name_lower": name.lower(),
            "hash": app_hash,
            "broadcasted_at": broadcasted_at,
            "expire_at": expire_at,
            "running_since": running_since,
            "os_uptime": os_uptime,
            "static_ip": static_ip,
        }
        c = locations.c
        key = and_(c.name == name, c.ip == ip)
        async with self.database.transaction() as conn:
            if not await _write_newer(conn, locations, key, {"name": name, "ip": ip}, values):
                return False
            await conn.execute(
                delete(installing).where(installing.c.name == name, installing.c.ip == ip)
            )
        return True

    async def remove_location(self, name: str, ip: str, before_ms: int | None = None) -> bool:
        c = locations.c
        condition = and_(c.name == name, c.ip == ip)
        if before_ms is not None:
            condition = and_(condition, c.broadcasted_at <= before_ms)
        async with self.database.transaction() as conn:
            gone = await conn.execute(delete(locations).where(condition))
        return bool(gone.rowcount)

    async def remove_locations_of_ip(self, ip: str, before_ms: int) -> int:
        c = locations.c
        async with self.database.transaction() as conn:
            gone = await conn.execute(
                delete(locations).where(c.ip == ip, c.broadcasted_at <= before_ms)
            )
        return int(gone.rowcount or 0)

    async def move_ip(self, old_ip: str, new_ip: str) -> int:
        async with self.database.transaction() as conn:
            moved = await conn.execute(
                update(locations).where(locations.c.ip == old_ip).values(ip=new_ip)
            )
        return int(moved.rowcount or 0)

    async def shorten_ip_expiry(self, ip: str, expire_at: int) -> int:
        c = locations.c
        async with self.database.transaction() as conn:
            changed = await conn.execute(
                update(locations)
                .where(c.ip == ip, c.expire_at > expire_at)
                .values(expire_at=expire_at)
            )
        return int(changed.rowcount or 0)

    async def locations(self, now_ms: int, name: str | None = None) -> list[Any]:
        return await self._unexpired(locations, now_ms, name)

    async def has_locations_at(self, ip: str, now_ms: int) -> bool:
        c = locations.c
        query = select(c.name).where(c.ip == ip, c.expire_at > now_ms).limit(1)
        async with self.database.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def put_installing(self, name: str, ip: str, broadcasted_at: int, expire_at: int) -> bool:
        c = installing.c
        key = and_(c.name == name, c.ip == ip)
        identity = {"name": name, "ip": ip, "name_lower": name.lower()}
        values = {"broadcasted_at": broadcasted_at, "expire_at": expire_at}
        async with self.database.transaction() as conn:
            return await _write_newer(conn, installing, key, identity, values)

    async def installing(self, now_ms: int, name: str | None = None) -> list[Any]:
        return await self._unexpired(installing, now_ms, name)

    async def put_installing_error(
        self, name: str, app_hash: str, ip: str, error: str, broadcasted_at: int, expire_at: int
    ) -> bool:
        c = installing_errors.c
        key = and_(c.name == name, c.hash == app_hash, c.ip == ip)
        identity = {"name": name, "hash": app_hash, "ip": ip, "name_lower": name.lower()}
        values = {"error": error, "broadcasted_at": broadcasted_at, "expire_at": expire_at}
        async with self.database.transaction() as conn:
            if not await _write_newer(conn, installing_errors, key, identity, values):
                return False
            await conn.execute(
                delete(installing).where(installing.c.name == name, installing.c.ip == ip)
            )
        return True

    async def installing_errors(self, now_ms: int, name: str | None = None) -> list[Any]:
        return await self._unexpired(installing_errors, now_ms, name)

    async def clear(self) -> None:
        """Forget every location, claim and error (a reindex: the broadcasts fill them again)."""
        async with self.database.transaction() as conn:
            for table in (locations, installing, installing_errors):
                await conn.execute(delete(table))

    async def _unexpired(self, table: Table, now_ms: int, name: str | None) -> list[Any]:
        """The table's rows not expired at `now_ms`, of the app `name` (any case) if given,
        by app and IP."""
        c = table.c
        query = select(table).where(c.expire_at > now_ms).order_by(c.name, c.ip)
        if name is not None:
            query = query.where(c.name_lower == name.lower())
        async with self.database.connect() as conn:
            return list(await conn.execute(query))


async def _write_newer(
    conn: AsyncConnection,
    table: Table,
    key: ColumnElement[bool],
    identity: dict[str, Any],
    values: dict[str, Any],
) -> bool:
    """Write `values` into the row `key` selects (inserted with `identity` if missing),
    unless that row records a broadcast at least as new; True if written."""
    row = (await conn.execute(select(table.c.broadcasted_at).where(key))).first()
    if row is not None and row.broadcasted_at >= values["broadcasted_at"]:
        return False
    if row is None:
        await conn.execute(table.insert().values(**identity, **values))
    else:
        await conn.execute(update(table).where(key).values(values))
    return True
