"""FluxShare share records: `{name, token}` where name is the encoded relative path
(upstream's `zelshare.shared` collection)."""

from __future__ import annotations

from sqlalchemy import Column, Float, String, Table, delete, or_, select

from fluxos.storage.database import Database
from fluxos.storage.schema import Area, Migration, create_tables, metadata

fluxshare_shares = Table(
    "fluxshare_shares",
    metadata,
    Column("name", String, primary_key=True),
    Column("token", String, nullable=False),
    Column("created_at", Float, nullable=False),
)

AREA = Area("fluxshare", [Migration(1, "fluxshare share records", create_tables(fluxshare_shares))])


class ShareStore:
    """Share records by encoded name."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def get(self, name: str) -> dict[str, str] | None:
        async with self.database.connect() as conn:
            row = (
                await conn.execute(
                    select(fluxshare_shares.c.name, fluxshare_shares.c.token).where(
                        fluxshare_shares.c.name == name
                    )
                )
            ).first()
        return {"name": row.name, "token": row.token} if row else None

    async def matches(self, name: str, token: str) -> bool:
        record = await self.get(name)
        return record is not None and record["token"] == token

    async def add_if_missing(self, name: str, token: str, now: float) -> dict[str, str]:
        """The record of `name`: the stored one if shared already, else a new one."""
        async with self.database.transaction() as conn:
            row = (
                await conn.execute(
                    select(fluxshare_shares.c.token).where(fluxshare_shares.c.name == name)
                )
            ).first()
            if row is not None:
                return {"name": name, "token": row.token}
            await conn.execute(
                fluxshare_shares.insert().values(name=name, token=token, created_at=now)
            )
        return {"name": name, "token": token}

    async def all(self) -> list[dict[str, str]]:
        async with self.database.connect() as conn:
            rows = (
                await conn.execute(
                    select(fluxshare_shares.c.name, fluxshare_shares.c.token).order_by(
                        fluxshare_shares.c.created_at
                    )
                )
            ).all()
        return [{"name": row.name, "token": row.token} for row in rows]

    async def remove(self, name: str) -> int:
        async with self.database.transaction() as conn:
            result = await conn.execute(
                delete(fluxshare_shares).where(fluxshare_shares.c.name == name)
            )
        return int(result.rowcount or 0)

    async def remove_tree(self, name: str, separator: str) -> int:
        """Remove `name` and every record below it (`name + separator + …`), matched
        literally (upstream built an unescaped regex from the name)."""
        prefix = name + separator
        async with self.database.transaction() as conn:
            result = await conn.execute(
                delete(fluxshare_shares).where(
                    or_(
                        fluxshare_shares.c.name == name,
                        fluxshare_shares.c.name.startswith(prefix, autoescape=True),
                    )
                )
            )
        return int(result.rowcount or 0)
