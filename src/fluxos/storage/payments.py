"""Payment requests and the payments that answered them (upstream's
`activepaymentrequests` and `completedpayments` collections)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Float, String, Table, delete, select

from fluxos.storage.database import Database
from fluxos.storage.schema import Area, Migration, create_tables, metadata

payment_requests = Table(
    "payment_requests",
    metadata,
    Column("payment_id", String, primary_key=True),
    Column("created_at", Float, nullable=False),  # ms
    Column("expire_at", Float, nullable=False),  # ms
)

payments_completed = Table(
    "payments_completed",
    metadata,
    Column("payment_id", String, primary_key=True),
    Column("txid", String, nullable=False),
    Column("coin", String, nullable=False),
    Column("chain", String, nullable=False),
    Column("explorer", String, nullable=False),
    Column("from_address", String, nullable=False),
    Column("to_address", String, nullable=False),
    Column("amount", String, nullable=False),
    Column("created_at", Float, nullable=False),  # ms
)

AREA = Area(
    "payments",
    [
        Migration(
            1, "payment requests and payments", create_tables(payment_requests, payments_completed)
        )
    ],
)


class PaymentStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def add_request(self, payment_id: str, created_ms: float, expire_ms: float) -> None:
        async with self.database.transaction() as conn:
            await conn.execute(
                payment_requests.insert().values(
                    payment_id=payment_id, created_at=created_ms, expire_at=expire_ms
                )
            )

    async def request(self, payment_id: str) -> float | None:
        """The creation time (ms) of an open request (expired ones stay until purged)."""
        async with self.database.connect() as conn:
            row = (
                await conn.execute(
                    select(payment_requests.c.created_at).where(
                        payment_requests.c.payment_id == payment_id
                    )
                )
            ).first()
        return float(row.created_at) if row else None

    async def complete(self, payment: dict[str, Any]) -> None:
        """Store the payment and close its request, in one transaction."""
        async with self.database.transaction() as conn:
            await conn.execute(
                payments_completed.insert().prefix_with("OR REPLACE").values(**payment)
            )
            await conn.execute(
                delete(payment_requests).where(
                    payment_requests.c.payment_id == payment["payment_id"]
                )
            )

    async def completed(self, payment_id: str) -> dict[str, Any] | None:
        async with self.database.connect() as conn:
            row = (
                await conn.execute(
                    select(payments_completed).where(payments_completed.c.payment_id == payment_id)
                )
            ).first()
        return dict(row._mapping) if row else None

    async def purge(self, now_ms: float) -> int:
        """Forget expired requests (upstream's TTL index)."""
        async with self.database.transaction() as conn:
            result = await conn.execute(
                delete(payment_requests).where(payment_requests.c.expire_at <= now_ms)
            )
        return int(result.rowcount or 0)
