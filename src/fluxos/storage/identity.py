"""Login phrases, sessions and parked signatures (upstream's `activeloginphrases`,
`loggedusers` and `activesignatures` collections).

Times are integer milliseconds since the epoch, as upstream's phrase timestamps are. Rows
carry their expiry; readers ignore expired rows and `purge_expired` deletes them, which is
what upstream's MongoDB TTL indexes do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)

from fluxos.storage.database import Database
from fluxos.storage.schema import Area, Migration, create_tables, metadata

login_phrases = Table(
    "identity_login_phrases",
    metadata,
    Column("login_phrase", String, primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("expire_ms", BigInteger, nullable=False),
)

# `seq` keeps insertion order, which upstream's listings follow (natural order).
sessions = Table(
    "identity_sessions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("zelid", String, nullable=False),
    Column("login_phrase", String, nullable=False),
    Column("signature", Text, nullable=True),
    Column("signature_until_ms", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expire_ms", BigInteger, nullable=False),
    Index("identity_sessions_phrase", "login_phrase"),
    Index("identity_sessions_zelid", "zelid"),
)

signatures = Table(
    "identity_signatures",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String, nullable=False, unique=True),
    Column("identifier", String, nullable=False),
    Column("signature", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expire_ms", BigInteger, nullable=False),
    Index("identity_signatures_identifier", "identifier"),
)

AREA = Area(
    "identity",
    [
        Migration(
            1,
            "login phrases, sessions, parked signatures",
            create_tables(login_phrases, sessions, signatures),
        )
    ],
)


@dataclass(frozen=True)
class PhraseRecord:
    login_phrase: str
    created_ms: int
    expire_ms: int


@dataclass(frozen=True)
class SessionRecord:
    """A logged-in session; `signature` is None once its 60 s hand-over window has passed."""

    zelid: str
    login_phrase: str
    signature: str | None
    created_ms: int
    expire_ms: int


@dataclass(frozen=True)
class SignatureRecord:
    """A signature parked by /id/providesign for a browser waiting on /ws/sign."""

    id: str
    signature: str
    identifier: str
    created_ms: int
    expire_ms: int


@dataclass(frozen=True)
class PurgeCounts:
    phrases: int
    sessions: int
    signatures: int
    signatures_dropped: int


class IdentityStore:
    """Reads and writes of the identity tables; every read takes `now_ms` to honour expiry."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # -- login phrases ------------------------------------------------------------------
    async def add_phrase(self, phrase: PhraseRecord) -> None:
        async with self.database.transaction() as conn:
            await conn.execute(
                login_phrases.insert().values(
                    login_phrase=phrase.login_phrase,
                    created_ms=phrase.created_ms,
                    expire_ms=phrase.expire_ms,
                )
            )

    async def find_phrase(self, login_phrase: str, now_ms: int) -> PhraseRecord | None:
        async with self.database.connect() as conn:
            row = (
                await conn.execute(
                    select(login_phrases).where(
                        login_phrases.c.login_phrase == login_phrase,
                        login_phrases.c.expire_ms > now_ms,
                    )
                )
            ).first()
        return PhraseRecord(row.login_phrase, row.created_ms, row.expire_ms) if row else None

    async def active_phrases(self, now_ms: int) -> list[PhraseRecord]:
        async with self.database.connect() as conn:
            rows = (
                await conn.execute(
                    select(login_phrases)
                    .where(login_phrases.c.expire_ms > now_ms)
                    .order_by(login_phrases.c.created_ms)
                )
            ).all()
        return [PhraseRecord(r.login_phrase, r.created_ms, r.expire_ms) for r in rows]

    async def ping(self) -> None:
        """A trivial read of the phrase table: raises if the database cannot answer."""
        async with self.database.connect() as conn:
            await conn.execute(select(login_phrases.c.login_phrase).limit(1))

    # -- sessions -----------------------------------------------------------------------
    async def consume_phrase_into_session(
        self, session: SessionRecord, signature_until_ms: int, now_ms: int
    ) -> bool:
        """Delete the session's unexpired phrase and insert the session, atomically.

        False (nothing written) when the phrase is gone: used, expired or never issued —
        so two concurrent logins with one phrase cannot both succeed.
        """
        async with self.database.transaction() as conn:
            consumed = await conn.execute(
                delete(login_phrases).where(
                    login_phrases.c.login_phrase == session.login_phrase,
                    login_phrases.c.expire_ms > now_ms,
                )
            )
            if consumed.rowcount != 1:
                return False
            await conn.execute(
                sessions.insert().values(
                    zelid=session.zelid,
                    login_phrase=session.login_phrase,
                    signature=session.signature,
                    signature_until_ms=signature_until_ms,
                    created_ms=session.created_ms,
                    expire_ms=session.expire_ms,
                )
            )
        return True

    async def has_session(self, zelid: str, login_phrase: str, now_ms: int) -> bool:
        """Whether a live session holds exactly this phrase for exactly this zelid."""
        async with self.database.connect() as conn:
            row = (
                await conn.execute(
                    select(sessions.c.seq)
                    .where(
                        sessions.c.login_phrase == login_phrase,
                        sessions.c.zelid == zelid,
                        sessions.c.expire_ms > now_ms,
                    )
                    .limit(1)
                )
            ).first()
        return row is not None

    async def session_by_phrase(self, login_phrase: str, now_ms: int) -> SessionRecord | None:
        async with self.database.connect() as conn:
            row = (
                await conn.execute(
                    select(sessions)
                    .where(sessions.c.login_phrase == login_phrase, sessions.c.expire_ms > now_ms)
                    .order_by(sessions.c.seq)
                    .limit(1)
                )
            ).first()
        return _session(row, now_ms) if row else None

    async def sessions_of(self, zelid: str, now_ms: int) -> list[SessionRecord]:
        async with self.database.connect() as conn:
            rows = (
                await conn.execute(
                    select(sessions)
                    .where(sessions.c.zelid == zelid, sessions.c.expire_ms > now_ms)
                    .order_by(sessions.c.seq)
                )
            ).all()
        return [_session(row, now_ms) for row in rows]

    async def all_sessions(self, now_ms: int) -> list[SessionRecord]:
        async with self.database.connect() as conn:
            rows = (
                await conn.execute(
                    select(sessions).where(sessions.c.expire_ms > now_ms).order_by(sessions.c.seq)
                )
            ).all()
        return [_session(row, now_ms) for row in rows]

    async def delete_session(self, zelid: str, login_phrase: str) -> int:
        """Delete the one session with this phrase and zelid; the number deleted (0 or 1)."""
        async with self.database.transaction() as conn:
            first = (
                await conn.execute(
                    select(sessions.c.seq)
                    .where(sessions.c.login_phrase == login_phrase, sessions.c.zelid == zelid)
                    .order_by(sessions.c.seq)
                    .limit(1)
                )
            ).first()
            if first is None:
                return 0
            await conn.execute(delete(sessions).where(sessions.c.seq == first.seq))
        return 1

    async def delete_session_by_phrase(self, login_phrase: str, now_ms: int) -> bool:
        """Delete the live session holding this phrase, whoever owns it; whether one existed."""
        async with self.database.transaction() as conn:
            first = (
                await conn.execute(
                    select(sessions.c.seq)
                    .where(sessions.c.login_phrase == login_phrase, sessions.c.expire_ms > now_ms)
                    .order_by(sessions.c.seq)
                    .limit(1)
                )
            ).first()
            if first is None:
                return False
            await conn.execute(delete(sessions).where(sessions.c.seq == first.seq))
        return True

    async def delete_sessions_of(self, zelid: str) -> int:
        async with self.database.transaction() as conn:
            result = await conn.execute(delete(sessions).where(sessions.c.zelid == zelid))
        return int(result.rowcount)

    async def delete_all_sessions(self) -> int:
        async with self.database.transaction() as conn:
            result = await conn.execute(delete(sessions))
        return int(result.rowcount)

    # -- parked signatures --------------------------------------------------------------
    async def add_signature(self, record: SignatureRecord) -> None:
        async with self.database.transaction() as conn:
            await conn.execute(
                signatures.insert().values(
                    id=record.id,
                    identifier=record.identifier,
                    signature=record.signature,
                    created_ms=record.created_ms,
                    expire_ms=record.expire_ms,
                )
            )

    async def find_signature(self, identifier: str, now_ms: int) -> SignatureRecord | None:
        """The first live signature parked under `identifier` (upstream's natural order)."""
        async with self.database.connect() as conn:
            row = (
                await conn.execute(
                    select(signatures)
                    .where(signatures.c.identifier == identifier, signatures.c.expire_ms > now_ms)
                    .order_by(signatures.c.seq)
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        return SignatureRecord(row.id, row.signature, row.identifier, row.created_ms, row.expire_ms)

    # -- expiry -------------------------------------------------------------------------
    async def purge_expired(self, now_ms: int) -> PurgeCounts:
        """Delete expired rows and blank session signatures past their hand-over window."""
        async with self.database.transaction() as conn:
            phrases = await conn.execute(
                delete(login_phrases).where(login_phrases.c.expire_ms <= now_ms)
            )
            gone = await conn.execute(delete(sessions).where(sessions.c.expire_ms <= now_ms))
            parked = await conn.execute(delete(signatures).where(signatures.c.expire_ms <= now_ms))
            dropped = await conn.execute(
                update(sessions)
                .where(
                    sessions.c.signature.is_not(None),
                    sessions.c.signature_until_ms <= now_ms,
                )
                .values(signature=None)
            )
        return PurgeCounts(
            int(phrases.rowcount), int(gone.rowcount), int(parked.rowcount), int(dropped.rowcount)
        )


def _session(row: Row[Any], now_ms: int) -> SessionRecord:
    # The hand-over window is honoured at read time; the purge only tidies the rows.
    signature = row.signature if row.signature_until_ms > now_ms else None
    return SessionRecord(
        zelid=row.zelid,
        login_phrase=row.login_phrase,
        signature=signature,
        created_ms=row.created_ms,
        expire_ms=row.expire_ms,
    )
