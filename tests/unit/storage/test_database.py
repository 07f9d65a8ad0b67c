from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, select, text

from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.nodestate import NodeState
from fluxos.storage.schema import Area, Migration, create_tables, schema_versions

extra = Table("test_extra", MetaData(), Column("id", Integer, primary_key=True))


def _add_column(connection) -> None:  # type: ignore[no-untyped-def]
    connection.execute(text("ALTER TABLE test_extra ADD COLUMN note TEXT"))


async def test_sqlite_runs_in_wal_mode_and_records_versions(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", ALL_AREAS)
    await database.open()
    try:
        async with database.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            versions = dict((await conn.execute(select(schema_versions))).all())
        assert mode == "wal"
        assert versions == {area.name: area.latest for area in ALL_AREAS}
    finally:
        await database.close()


async def test_migrations_apply_once_and_in_order(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    v1 = Area("test", [Migration(1, "create", create_tables(extra))])
    database = Database(url, [v1])
    await database.open()
    await database.close()
    v2 = Area("test", [*v1.migrations, Migration(2, "add note", _add_column)])
    database = Database(url, [v2])
    await database.open()
    async with database.transaction() as conn:
        await conn.execute(text("INSERT INTO test_extra (id, note) VALUES (1, 'kept')"))
    await database.close()
    database = Database(url, [v2])  # a third start changes nothing
    await database.open()
    async with database.connect() as conn:
        assert (await conn.execute(text("SELECT note FROM test_extra"))).scalar() == "kept"
        version = (
            await conn.execute(
                select(schema_versions.c.version).where(schema_versions.c.area == "test")
            )
        ).scalar()
    assert version == 2
    await database.close()


async def test_node_state_documents(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", ALL_AREAS)
    await database.open()
    state = NodeState(database)
    assert await state.get("benchmark") is None
    await state.put("benchmark", {"tier": "CUMULUS"}, now=1.0)
    await state.put("benchmark", {"tier": "NIMBUS"}, now=2.0)
    assert await state.get("benchmark") == {"tier": "NIMBUS"}
    await database.close()
