"""The global apps registry's tables (upstream's `globalzelapps` database): temporary and
permanent app messages, the current global specification per app, and the registry's
bookkeeping on the explorer's app payments; where apps run, install and failed to install
is `fluxos.storage.applocations` (the same `apps` area).

Specs are stored as their canonical JSON text (`JSON.stringify` of the formatted spec),
the same text their hash covers, so a stored message reads back byte for byte. Times are
integer milliseconds; rows carry their expiry and readers skip expired rows, which is what
upstream's MongoDB TTL indexes do (`purge_expired` deletes them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fluxos.storage.applocations import installing, installing_errors, locations
from fluxos.storage.database import Database
from fluxos.storage.explorer import explorer_app_payments
from fluxos.storage.schema import Area, Migration, create_tables, metadata

HASH = String(64)

temporary_messages = Table(
    "apps_temporary_messages",
    metadata,
    Column("hash", HASH, primary_key=True),
    Column("name", String, nullable=False),
    Column("name_lower", String, nullable=False),
    Column("type", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("spec", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("signature", Text, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("expire_at", BigInteger, nullable=False),
    Column("arcane_sender", Boolean, nullable=False),
    Index("ix_apps_temporary_name", "name_lower"),
    Index("ix_apps_temporary_expire", "expire_at"),
)

permanent_messages = Table(
    "apps_permanent_messages",
    metadata,
    Column("hash", HASH, primary_key=True),
    Column("name", String, nullable=False),
    Column("name_lower", String, nullable=False),
    Column("owner", String, nullable=False),
    Column("type", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("spec", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("signature", Text, nullable=False),
    Column("txid", HASH, nullable=False),
    Column("height", Integer, nullable=False),
    Column("value_sat", BigInteger, nullable=False),
    Index("ix_apps_permanent_name", "name_lower"),
    Index("ix_apps_permanent_owner", "owner"),
    Index("ix_apps_permanent_height", "height"),
)

global_specs = Table(
    "apps_global_specs",
    metadata,
    Column("name_lower", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("owner", String, nullable=False),
    Column("hash", HASH, nullable=False),
    Column("height", Integer, nullable=False),
    Column("expire_height", Integer, nullable=False),
    Column("spec", Text, nullable=False),
    Index("ix_apps_global_owner", "owner"),
    Index("ix_apps_global_hash", "hash"),
)

EXPIRING = (temporary_messages, locations, installing, installing_errors)

AREA = Area(
    "apps",
    [
        Migration(
            1,
            "app messages, global specs, locations",
            create_tables(
                temporary_messages,
                permanent_messages,
                global_specs,
                locations,
                installing,
                installing_errors,
            ),
        )
    ],
)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """An app message; `txid`/`height`/`value_sat` are set once it is permanent."""

    hash: str
    type: str
    version: int
    spec: str  # canonical JSON
    timestamp: int
    signature: str
    name: str
    received_at: int = 0
    expire_at: int = 0
    arcane_sender: bool = False
    txid: str = ""
    height: int = 0
    value_sat: int = 0
    owner: str = ""


@dataclass(frozen=True, slots=True)
class GlobalSpecRecord:
    name: str
    owner: str
    hash: str
    height: int
    expire_height: int
    spec: str  # canonical JSON of the formatted spec (without hash and height)


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A row of the explorer's app payments with the registry's bookkeeping."""

    hash: str
    txid: str
    height: int
    value: int
    message: bool
    sync_attempts: int
    next_retry_height: int
    retry_from_height: int


def _temporary(row: Any) -> StoredMessage:
    return StoredMessage(
        hash=row.hash,
        type=row.type,
        version=row.version,
        spec=row.spec,
        timestamp=row.timestamp,
        signature=row.signature,
        name=row.name,
        received_at=row.received_at,
        expire_at=row.expire_at,
        arcane_sender=row.arcane_sender,
    )


def _permanent(row: Any) -> StoredMessage:
    return StoredMessage(
        hash=row.hash,
        type=row.type,
        version=row.version,
        spec=row.spec,
        timestamp=row.timestamp,
        signature=row.signature,
        name=row.name,
        txid=row.txid,
        height=row.height,
        value_sat=row.value_sat,
        owner=row.owner,
        arcane_sender=True,
    )


def _global(row: Any) -> GlobalSpecRecord:
    return GlobalSpecRecord(row.name, row.owner, row.hash, row.height, row.expire_height, row.spec)


class AppsStore:
    """All SQL of the apps registry."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # -- temporary messages ---------------------------------------------------------------
    async def add_temporary(self, message: StoredMessage) -> bool:
        """Store a temporary message; False if one with its hash is already stored."""
        async with self.database.transaction() as conn:
            if await self._exists(conn, temporary_messages, message.hash):
                return False
            await conn.execute(
                temporary_messages.insert().values(
                    hash=message.hash,
                    name=message.name,
                    name_lower=message.name.lower(),
                    type=message.type,
                    version=message.version,
                    spec=message.spec,
                    timestamp=message.timestamp,
                    signature=message.signature,
                    received_at=message.received_at,
                    expire_at=message.expire_at,
                    arcane_sender=message.arcane_sender,
                )
            )
        return True

    async def temporary(self, message_hash: str, now_ms: int) -> StoredMessage | None:
        c = temporary_messages.c
        query = select(temporary_messages).where(c.hash == message_hash, c.expire_at > now_ms)
        async with self.database.connect() as conn:
            row = (await conn.execute(query)).first()
        return _temporary(row) if row else None

    async def temporaries(
        self, now_ms: int, message_hash: str | None = None
    ) -> list[StoredMessage]:
        c = temporary_messages.c
        query = select(temporary_messages).where(c.expire_at > now_ms).order_by(c.received_at)
        if message_hash is not None:
            query = query.where(c.hash == message_hash)
        async with self.database.connect() as conn:
            return [_temporary(row) for row in await conn.execute(query)]

    # -- permanent messages ---------------------------------------------------------------
    async def add_permanent(self, message: StoredMessage) -> bool:
        """Store a permanent message and mark its payment; False if it was already stored."""
        async with self.database.transaction() as conn:
            if await self._exists(conn, permanent_messages, message.hash):
                await self._mark(conn, message.hash)
                return False
            await conn.execute(permanent_messages.insert().values(**_permanent_row(message)))
            await self._mark(conn, message.hash)
        return True

    async def add_permanents(self, messages: Sequence[StoredMessage]) -> int:
        """Store many permanent messages (a bulk sync) in one transaction; how many were new."""
        if not messages:
            return 0
        added = 0
        async with self.database.transaction() as conn:
            hashes = [m.hash for m in messages]
            known: set[str] = set()
            for low in range(0, len(hashes), 500):
                chunk = hashes[low : low + 500]
                query = select(permanent_messages.c.hash).where(
                    permanent_messages.c.hash.in_(chunk)
                )
                known.update(row.hash for row in await conn.execute(query))
            fresh = [m for m in messages if m.hash not in known]
            if fresh:
                await conn.execute(permanent_messages.insert(), [_permanent_row(m) for m in fresh])
                added = len(fresh)
            for low in range(0, len(hashes), 500):
                await conn.execute(
                    update(explorer_app_payments)
                    .where(explorer_app_payments.c.hash.in_(hashes[low : low + 500]))
                    .values(message=True)
                )
        return added

    async def permanent(self, message_hash: str) -> StoredMessage | None:
        query = select(permanent_messages).where(permanent_messages.c.hash == message_hash)
        async with self.database.connect() as conn:
            row = (await conn.execute(query)).first()
        return _permanent(row) if row else None

    async def permanents(
        self,
        *,
        message_hash: str | None = None,
        owner: str | None = None,
        name: str | None = None,
        from_height: int | None = None,
    ) -> list[StoredMessage]:
        """Permanent messages in chain order, filtered by exact hash, owner and name."""
        c = permanent_messages.c
        query = select(permanent_messages).order_by(c.height, c.timestamp)
        if message_hash is not None:
            query = query.where(c.hash == message_hash)
        if owner is not None:
            query = query.where(c.owner == owner)
        if name is not None:
            query = query.where(c.name == name)
        if from_height is not None:
            query = query.where(c.height >= from_height)
        async with self.database.connect() as conn:
            return [_permanent(row) for row in await conn.execute(query)]

    async def permanents_of_app(self, name: str) -> list[StoredMessage]:
        """Every permanent message of the app (case-insensitive), newest height first."""
        c = permanent_messages.c
        query = (
            select(permanent_messages)
            .where(c.name_lower == name.lower())
            .order_by(c.height.desc(), c.timestamp.desc())
        )
        async with self.database.connect() as conn:
            return [_permanent(row) for row in await conn.execute(query)]

    async def count_by_owner(self, owner: str) -> int:
        query = select(func.count()).where(permanent_messages.c.owner == owner)
        async with self.database.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def permanent_hashes(self, hashes: Iterable[str]) -> set[str]:
        wanted = list(hashes)
        found: set[str] = set()
        async with self.database.connect() as conn:
            for low in range(0, len(wanted), 500):
                query = select(permanent_messages.c.hash).where(
                    permanent_messages.c.hash.in_(wanted[low : low + 500])
                )
                found.update(row.hash for row in await conn.execute(query))
        return found

    async def delete_permanents_above(self, height: int) -> int:
        async with self.database.transaction() as conn:
            gone = await conn.execute(
                delete(permanent_messages).where(permanent_messages.c.height > height)
            )
        return int(gone.rowcount or 0)

    # -- global specifications ------------------------------------------------------------
    async def global_spec(self, name: str) -> GlobalSpecRecord | None:
        query = select(global_specs).where(global_specs.c.name_lower == name.lower())
        async with self.database.connect() as conn:
            row = (await conn.execute(query)).first()
        return _global(row) if row else None

    async def global_specs(
        self,
        *,
        message_hash: str | None = None,
        owner: str | None = None,
        name: str | None = None,
    ) -> list[GlobalSpecRecord]:
        c = global_specs.c
        query = select(global_specs).order_by(c.name_lower)
        if message_hash is not None:
            query = query.where(c.hash == message_hash)
        if owner is not None:
            query = query.where(c.owner == owner)
        if name is not None:
            query = query.where(c.name == name)
        async with self.database.connect() as conn:
            return [_global(row) for row in await conn.execute(query)]

    async def put_global_spec(self, record: GlobalSpecRecord, *, upsert: bool) -> bool:
        """Write the app's global spec if it is newer than the stored one.

        `upsert` (a paid registration) inserts a missing app; an update only replaces an
        existing app. Install errors of the app are cleared on a registration.
        """
        key = record.name.lower()
        values = {
            "name": record.name,
            "owner": record.owner,
            "hash": record.hash,
            "height": record.height,
            "expire_height": record.expire_height,
            "spec": record.spec,
        }
        async with self.database.transaction() as conn:
            c = global_specs.c
            row = (await conn.execute(select(c.height).where(c.name_lower == key))).first()
            if row is None:
                if not upsert:
                    return False
                await conn.execute(global_specs.insert().values(name_lower=key, **values))
            elif row.height >= record.height:
                return False
            else:
                await conn.execute(update(global_specs).where(c.name_lower == key).values(values))
            if upsert:
                await conn.execute(
                    delete(installing_errors).where(installing_errors.c.name_lower == key)
                )
        return True

    async def replace_global_specs(self, records: Sequence[GlobalSpecRecord]) -> None:
        """Drop every global spec and write `records` (a reindex)."""
        async with self.database.transaction() as conn:
            await conn.execute(delete(global_specs))
            if records:
                await conn.execute(
                    global_specs.insert(),
                    [
                        {
                            "name_lower": r.name.lower(),
                            "name": r.name,
                            "owner": r.owner,
                            "hash": r.hash,
                            "height": r.height,
                            "expire_height": r.expire_height,
                            "spec": r.spec,
                        }
                        for r in records
                    ],
                )

    async def delete_global_spec(self, name: str) -> bool:
        key = name.lower()
        async with self.database.transaction() as conn:
            gone = await conn.execute(delete(global_specs).where(global_specs.c.name_lower == key))
            await conn.execute(
                delete(installing_errors).where(installing_errors.c.name_lower == key)
            )
        return bool(gone.rowcount)

    async def expired_global_specs(self, height: int) -> list[GlobalSpecRecord]:
        query = select(global_specs).where(global_specs.c.expire_height < height)
        async with self.database.connect() as conn:
            return [_global(row) for row in await conn.execute(query)]

    # -- expiry (upstream's TTL indexes) --------------------------------------------------
    async def purge_expired(self, now_ms: int) -> int:
        """Delete the expired temporary messages, locations, claims and errors."""
        removed = 0
        async with self.database.transaction() as conn:
            for table in EXPIRING:
                gone = await conn.execute(delete(table).where(table.c.expire_at <= now_ms))
                removed += int(gone.rowcount or 0)
        return removed

    # -- app payments (the explorer's table, the registry's bookkeeping) ------------------
    async def payments(self, *, unresolved_only: bool = False) -> list[PaymentRecord]:
        c = explorer_app_payments.c
        query = select(explorer_app_payments).order_by(c.height, c.position)
        if unresolved_only:
            query = query.where(c.message.is_(False))
        async with self.database.connect() as conn:
            return [
                PaymentRecord(
                    row.hash,
                    row.txid,
                    row.height,
                    row.value,
                    bool(row.message),
                    row.sync_attempts,
                    row.next_retry_height,
                    row.retry_from_height,
                )
                for row in await conn.execute(query)
            ]

    async def payment(self, message_hash: str) -> PaymentRecord | None:
        c = explorer_app_payments.c
        async with self.database.connect() as conn:
            row = (
                await conn.execute(select(explorer_app_payments).where(c.hash == message_hash))
            ).first()
        if row is None:
            return None
        return PaymentRecord(
            row.hash,
            row.txid,
            row.height,
            row.value,
            bool(row.message),
            row.sync_attempts,
            row.next_retry_height,
            row.retry_from_height,
        )

    async def replay_height(self) -> int:
        """Where payment replay starts: the lowest unresolved payment, else past the last."""
        c = explorer_app_payments.c
        async with self.database.connect() as conn:
            low = (
                await conn.execute(select(func.min(c.height)).where(c.message.is_(False)))
            ).scalar()
            if low is not None:
                return int(low)
            high = (await conn.execute(select(func.max(c.height)))).scalar()
        return 0 if high is None else int(high) + 1

    async def record_sync_attempt(self, message_hash: str, next_retry_height: int) -> None:
        c = explorer_app_payments.c
        async with self.database.transaction() as conn:
            await conn.execute(
                update(explorer_app_payments)
                .where(c.hash == message_hash)
                .values(sync_attempts=c.sync_attempts + 1, next_retry_height=next_retry_height)
            )

    async def reconcile_payment_flags(self) -> int:
        """Set each payment's `message` flag from the permanent store; how many changed."""
        c = explorer_app_payments.c
        stored = select(permanent_messages.c.hash)
        async with self.database.transaction() as conn:
            on = await conn.execute(
                update(explorer_app_payments)
                .where(c.message.is_(False), c.hash.in_(stored))
                .values(message=True)
            )
            off = await conn.execute(
                update(explorer_app_payments)
                .where(or_(c.message.is_(True)), c.hash.not_in(stored))
                .values(message=False)
            )
        return int(on.rowcount or 0) + int(off.rowcount or 0)

    async def mark_payment(self, message_hash: str) -> None:
        async with self.database.transaction() as conn:
            await self._mark(conn, message_hash)

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    async def _exists(conn: AsyncConnection, table: Table, message_hash: str) -> bool:
        query = select(table.c.hash).where(table.c.hash == message_hash)
        return (await conn.execute(query)).first() is not None

    @staticmethod
    async def _mark(conn: AsyncConnection, message_hash: str) -> None:
        await conn.execute(
            update(explorer_app_payments)
            .where(explorer_app_payments.c.hash == message_hash)
            .values(message=True)
        )


def _permanent_row(message: StoredMessage) -> dict[str, Any]:
    return {
        "hash": message.hash,
        "name": message.name,
        "name_lower": message.name.lower(),
        "owner": message.owner,
        "type": message.type,
        "version": message.version,
        "spec": message.spec,
        "timestamp": message.timestamp,
        "signature": message.signature,
        "txid": message.txid,
        "height": message.height,
        "value_sat": message.value_sat,
    }
