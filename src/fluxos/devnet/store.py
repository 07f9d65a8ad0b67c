"""The devnet's data dir database: raw blocks, wallet keys, metadata, the saved mempool.

Everything else (UTXO set, indexes, fluxnode list) is rebuilt in memory from the blocks
on start, which keeps the file format small and a restart exact. One SQLite file in WAL
mode, used from the engine's single worker thread only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = "1"

_INSERT_KEY = (
    "INSERT INTO wallet_keys (endpoint, kind, data, label, created) VALUES (?, ?, ?, ?, ?)"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    hash BLOB NOT NULL UNIQUE,
    height INTEGER NOT NULL,
    raw BLOB NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS wallet_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS wallet_keys_endpoint ON wallet_keys (endpoint);
CREATE TABLE IF NOT EXISTS mempool (
    txid BLOB PRIMARY KEY, raw BLOB NOT NULL, time INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class StoredBlock:
    seq: int
    hash: bytes
    height: int
    failed: bool


@dataclass(frozen=True, slots=True)
class StoredKey:
    endpoint: int
    kind: str  # "key" (WIF), "watch" (address), "script" (redeem script hex)
    data: str
    label: str
    created: int


class Store:
    """SQLite persistence; callers decide when to `commit`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level="DEFERRED", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise RuntimeError(
                f"{path}: devnet schema {version}, this fluxos needs {SCHEMA_VERSION}"
            )
        self._db.commit()
        self.dirty = False
        self._taken: list[tuple[str, str, int]] = []

    def close(self) -> None:
        self.commit()
        self._db.close()

    def commit(self) -> None:
        if self._taken:
            self._db.executemany(
                "UPDATE wallet_keys SET kind = ?, label = ? WHERE seq = ?", self._taken
            )
            self._taken.clear()
        if self.dirty or self._db.in_transaction:
            self._db.commit()
            self.dirty = False

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
        self.dirty = True

    # ------------------------------------------------------------------ blocks
    def add_block(self, block_hash: bytes, height: int, raw: bytes) -> int:
        cur = self._db.execute(
            "INSERT INTO blocks (hash, height, raw) VALUES (?, ?, ?)", (block_hash, height, raw)
        )
        self.dirty = True
        return int(cur.lastrowid or 0)

    def set_failed(self, block_hash: bytes, failed: bool) -> None:
        self._db.execute("UPDATE blocks SET failed = ? WHERE hash = ?", (int(failed), block_hash))
        self.dirty = True

    def raw_block(self, block_hash: bytes) -> bytes | None:
        row = self._db.execute("SELECT raw FROM blocks WHERE hash = ?", (block_hash,)).fetchone()
        return None if row is None else bytes(row[0])

    def iter_blocks(self) -> Iterator[tuple[StoredBlock, bytes]]:
        """Every stored block in the order it was accepted (parents before children)."""
        cur = self._db.execute("SELECT seq, hash, height, failed, raw FROM blocks ORDER BY seq")
        for seq, block_hash, height, failed, raw in cur:
            yield StoredBlock(int(seq), bytes(block_hash), int(height), bool(failed)), bytes(raw)

    def block_bytes_total(self) -> int:
        row = self._db.execute("SELECT COALESCE(SUM(LENGTH(raw)), 0) FROM blocks").fetchone()
        return int(row[0])

    # ------------------------------------------------------------------ wallet keys
    def add_key(self, key: StoredKey) -> None:
        self._db.execute(_INSERT_KEY, (key.endpoint, key.kind, key.data, key.label, key.created))
        # keys are the one thing that cannot be rebuilt: make them durable at once
        self._db.commit()

    def add_keys(self, keys: list[StoredKey]) -> list[int]:
        """Insert several keys in one durable write; returns their row ids."""
        ids = []
        for k in keys:
            cur = self._db.execute(_INSERT_KEY, (k.endpoint, k.kind, k.data, k.label, k.created))
            ids.append(int(cur.lastrowid or 0))
        self._db.commit()
        return ids

    def take_pool_key(self, seq: int, kind: str, label: str) -> None:
        """Mark keypool row `seq` as handed out (written with the next commit)."""
        self._taken.append((kind, label, seq))
        self.dirty = True

    def keys(self, endpoint: int) -> list[tuple[int, StoredKey]]:
        """(row id, key) of an endpoint's wallet, oldest first."""
        cur = self._db.execute(
            "SELECT seq, endpoint, kind, data, label, created FROM wallet_keys "
            "WHERE endpoint = ? ORDER BY seq",
            (endpoint,),
        )
        return [
            (int(s), StoredKey(int(e), str(k), str(d), str(lbl), int(c)))
            for s, e, k, d, lbl, c in cur
        ]

    # ------------------------------------------------------------------ mempool
    def save_mempool(self, entries: list[tuple[bytes, bytes, int]]) -> None:
        self._db.execute("DELETE FROM mempool")
        self._db.executemany("INSERT INTO mempool (txid, raw, time) VALUES (?, ?, ?)", entries)
        self.dirty = True

    def load_mempool(self) -> list[tuple[bytes, int]]:
        cur = self._db.execute("SELECT raw, time FROM mempool ORDER BY rowid")
        return [(bytes(raw), int(t)) for raw, t in cur]
