"""Tampering incidents (upstream 8.18's appTamperingEvents): one row per component, kind
of event and incident key (the machine's boot id and the hour), so a retry storm or a
host that keeps meddling is one incident with a count, not hundreds of rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Float, Integer, String, Table, Text, or_, select, update

from fluxos.storage.database import Database
from fluxos.storage.schema import Area, Migration, create_tables, metadata

tampering_events = Table(
    "tampering_events",
    metadata,
    Column("component", String, primary_key=True),  # the container: flux<component>_<app>
    Column("event_type", String, primary_key=True),
    Column("incident_key", String, primary_key=True),  # <boot id>:<hour since the epoch>
    Column("app", String, nullable=False, index=True),
    Column("severity", Integer, nullable=False),
    Column("boot_id", String, nullable=True),
    Column("uptime_at_event", Integer, nullable=False),
    Column("first_seen", Float, nullable=False),  # ms
    Column("last_seen", Float, nullable=False, index=True),
    Column("count", Integer, nullable=False),
    Column("details", Text, nullable=False),  # the first observation's, as upstream keeps
    Column("owner", String, nullable=True),
    Column("app_hash", String, nullable=True),
    # the node's identity as fluxd's getfluxnodestatus gives it (upstream 8.18 #1718/#1768)
    Column("node_txid", String, nullable=True),
    Column("node_outidx", Integer, nullable=True),
    Column("node_ip", String, nullable=True),
    Column("pubkey", String, nullable=True),
)
IDENTITY = {
    "node_txid": "VARCHAR",
    "node_outidx": "INTEGER",
    "node_ip": "VARCHAR",
    "pubkey": "VARCHAR",
}


def _identity_columns(connection: Connection) -> None:
    present = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(tampering_events)")}
    for column, kind in IDENTITY.items():
        if column not in present:
            connection.exec_driver_sql(f"ALTER TABLE tampering_events ADD COLUMN {column} {kind}")


AREA = Area(
    "tampering",
    [
        Migration(1, "tampering incidents of app containers", create_tables(tampering_events)),
        Migration(2, "the node's identity on each incident", _identity_columns),
    ],
)


@dataclass(frozen=True)
class Incident:
    component: str
    event_type: str
    incident_key: str
    app: str
    severity: int
    boot_id: str | None
    uptime_at_event: int
    first_seen: float
    last_seen: float
    count: int
    details: str
    owner: str | None
    app_hash: str | None
    node_txid: str | None = None
    node_outidx: int | None = None
    node_ip: str | None = None
    pubkey: str | None = None


class TamperingStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(self, incident: Incident) -> bool:
        """Add the observation to its incident; True when it opened a new incident."""
        table = tampering_events
        key = (
            (table.c.component == incident.component)
            & (table.c.event_type == incident.event_type)
            & (table.c.incident_key == incident.incident_key)
        )
        async with self.database.transaction() as conn:
            changed = await conn.execute(
                update(table)
                .where(key)
                .values(count=table.c.count + 1, last_seen=incident.last_seen)
            )
            if changed.rowcount:
                return False
            await conn.execute(table.insert().values(**incident.__dict__))
        return True

    async def incidents(self, app: str | None, limit: int) -> list[Incident]:
        """Newest first; `app` is an app's name or one component's (`component_app`)."""
        table = tampering_events
        query = select(table).order_by(table.c.last_seen.desc()).limit(limit)
        if app:
            query = query.where(or_(table.c.app == app, table.c.component == f"flux{app}"))
        async with self.database.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [Incident(**dict(row)) for row in rows]

    async def stamp_unidentified(self, identity: NodeIdentity) -> int:
        """Incidents recorded before fluxd answered get the node's identity (upstream's
        backfill); how many."""
        table = tampering_events
        async with self.database.transaction() as conn:
            changed = await conn.execute(
                update(table)
                .where(table.c.node_txid.is_(None))
                .values(
                    node_txid=identity.txid,
                    node_outidx=identity.outidx,
                    node_ip=identity.ip,
                    pubkey=identity.pubkey,
                )
            )
        return int(changed.rowcount or 0)


@dataclass(frozen=True)
class NodeIdentity:
    """This fluxnode: its collateral outpoint, its IP and its operator pubkey."""

    txid: str
    outidx: int | None
    ip: str | None
    pubkey: str | None


def incident_view(incident: Incident, iso: Any) -> dict[str, Any]:
    """An incident in upstream's document shape (dates as ISO strings)."""
    return {
        "schemaVersion": 1,
        "appName": incident.app,
        "component": incident.component,
        "eventType": incident.event_type,
        "incidentKey": incident.incident_key,
        "severity": incident.severity,
        "bootId": incident.boot_id,
        "uptimeSecAtEvent": incident.uptime_at_event,
        "firstSeen": iso(int(incident.first_seen)),
        "lastSeen": iso(int(incident.last_seen)),
        "count": incident.count,
        "detailsSample": incident.details,
        "ownerZelid": incident.owner,
        "appHash": incident.app_hash,
        "nodeTxid": incident.node_txid,
        "nodeOutidx": incident.node_outidx,
        "nodeIp": incident.node_ip,
        "pubkey": incident.pubkey,
    }
