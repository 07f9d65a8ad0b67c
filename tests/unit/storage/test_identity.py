"""The identity tables: expiry honoured on read, purged by the sweep, insertion order kept."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.identity import IdentityStore, PhraseRecord, SessionRecord, SignatureRecord

NOW = 1_700_000_000_000


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[IdentityStore]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", ALL_AREAS)
    await database.open()
    try:
        yield IdentityStore(database)
    finally:
        await database.close()


def session(zelid: str, phrase: str, created: int = NOW, lifetime: int = 1000) -> SessionRecord:
    return SessionRecord(zelid, phrase, "sig", created, created + lifetime)


async def open_session(store: IdentityStore, record: SessionRecord) -> None:
    await store.add_phrase(
        PhraseRecord(record.login_phrase, record.created_ms, record.created_ms + 900)
    )
    assert await store.consume_phrase_into_session(
        record, record.created_ms + 60, record.created_ms
    )


async def test_phrase_is_consumed_once_and_only_while_alive(store: IdentityStore) -> None:
    await store.add_phrase(PhraseRecord("p1", NOW, NOW + 900))
    assert await store.find_phrase("p1", NOW + 899) is not None
    assert await store.find_phrase("p1", NOW + 900) is None
    assert not await store.consume_phrase_into_session(session("1a", "p1"), NOW, NOW + 900)
    assert await store.consume_phrase_into_session(session("1a", "p1"), NOW, NOW + 1)
    assert not await store.consume_phrase_into_session(session("1a", "p1"), NOW, NOW + 1)
    assert len(await store.all_sessions(NOW)) == 1
    assert await store.active_phrases(NOW) == []


async def test_sessions_expire_on_read_and_keep_order(store: IdentityStore) -> None:
    for zelid, phrase in (("1a", "p1"), ("1b", "p2"), ("1a", "p3")):
        await open_session(store, session(zelid, phrase))
    assert [s.login_phrase for s in await store.sessions_of("1a", NOW)] == ["p1", "p3"]
    assert [s.zelid for s in await store.all_sessions(NOW)] == ["1a", "1b", "1a"]
    assert await store.has_session("1a", "p1", NOW + 999)
    assert not await store.has_session("1a", "p1", NOW + 1000)
    assert not await store.has_session("1b", "p1", NOW)  # phrase and zelid together
    assert await store.all_sessions(NOW + 1000) == []


async def test_deletes(store: IdentityStore) -> None:
    for zelid, phrase in (("1a", "p1"), ("1b", "p2"), ("1a", "p3")):
        await open_session(store, session(zelid, phrase))
    assert await store.delete_session("1b", "p1") == 0  # not b's
    assert await store.delete_session("1a", "p1") == 1
    assert await store.delete_session_by_phrase("p2", NOW)
    assert not await store.delete_session_by_phrase("p2", NOW)
    assert await store.delete_sessions_of("1a") == 1
    await open_session(store, session("1c", "p4"))
    assert await store.delete_all_sessions() == 1


async def test_purge_mirrors_upstreams_ttl_indexes(store: IdentityStore) -> None:
    await store.add_phrase(PhraseRecord("old", NOW - 2000, NOW - 1100))
    await store.add_phrase(PhraseRecord("new", NOW, NOW + 900))
    await open_session(store, session("1a", "s1", created=NOW - 5000))  # expired at NOW - 4000
    await open_session(store, session("1a", "s2", created=NOW, lifetime=10_000))
    await store.add_signature(SignatureRecord("00" * 12, "sig", "id1", NOW - 2000, NOW - 1))
    counts = await store.purge_expired(NOW + 60)
    assert (counts.phrases, counts.sessions, counts.signatures, counts.signatures_dropped) == (
        1,
        1,
        1,
        1,
    )
    assert [p.login_phrase for p in await store.active_phrases(NOW)] == ["new"]
    kept = await store.session_by_phrase("s2", NOW)
    assert kept is not None and kept.signature is None


async def test_first_parked_signature_wins(store: IdentityStore) -> None:
    await store.add_signature(SignatureRecord("a" * 24, "first", "id", NOW, NOW + 900))
    await store.add_signature(SignatureRecord("b" * 24, "second", "id", NOW, NOW + 900))
    found = await store.find_signature("id", NOW)
    assert found is not None and found.signature == "first"
    assert await store.find_signature("id", NOW + 900) is None
    await store.ping()
