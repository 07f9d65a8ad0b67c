"""The explorer's tables: scanned height, block hashes, the output and address indexes, app
payments, chain messages and fluxnode transactions.

Every row carries the height of the block that created it, so rewinding to a height is a
handful of range deletes; spends are recorded on the output (`spent_height`) rather than
deleting it, so a rewind restores the outputs exactly. Only P2PKH and P2SH outputs are
kept (what fluxd's address index keys), so an output's script follows from its address and
is not stored; a transaction's time is its block's.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from fluxos.storage.schema import Area, Migration, create_tables, metadata

HASH = String(64)

explorer_progress = Table(
    "explorer_progress",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("scanned_height", Integer, nullable=False),
    Column("start_height", Integer, nullable=False),
)

explorer_blocks = Table(
    "explorer_blocks",
    metadata,
    Column("height", Integer, primary_key=True, autoincrement=False),
    Column("hash", HASH, nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("tx_count", Integer, nullable=False),
)

explorer_outputs = Table(
    "explorer_outputs",
    metadata,
    Column("txid", HASH, primary_key=True),
    Column("vout", Integer, primary_key=True, autoincrement=False),
    Column("address", String(64), nullable=False),
    Column("satoshis", BigInteger, nullable=False),
    Column("height", Integer, nullable=False),
    Column("coinbase", Boolean, nullable=False),
    Column("spent_height", Integer),
    Index(
        "ix_explorer_outputs_unspent",
        "address",
        sqlite_where=text("spent_height IS NULL"),
        postgresql_where=text("spent_height IS NULL"),
    ),
    Index("ix_explorer_outputs_height", "height"),
    Index(
        "ix_explorer_outputs_spent_height",
        "spent_height",
        sqlite_where=text("spent_height IS NOT NULL"),
        postgresql_where=text("spent_height IS NOT NULL"),
    ),
)

explorer_address_txs = Table(
    "explorer_address_txs",
    metadata,
    Column("address", String(64), primary_key=True),
    Column("height", Integer, primary_key=True, autoincrement=False),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("txid", HASH, nullable=False),
    Column("delta", BigInteger, nullable=False),  # satoshis received minus spent
    Index("ix_explorer_address_txs_height", "height"),
)

explorer_app_payments = Table(
    "explorer_app_payments",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("txid", HASH, nullable=False),
    Column("height", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("value", BigInteger, nullable=False),
    # the apps registry's bookkeeping (upstream zelappshashes fields)
    Column("message", Boolean, nullable=False, default=False),
    Column("sync_attempts", Integer, nullable=False, default=0),
    Column("next_retry_height", Integer, nullable=False),
    Column("retry_from_height", Integer, nullable=False),
    Index("ix_explorer_app_payments_height", "height"),
    Index("ix_explorer_app_payments_txid", "txid"),
    Index("ix_explorer_app_payments_message", "message"),
)

explorer_chain_messages = Table(
    "explorer_chain_messages",
    metadata,
    Column("txid", HASH, primary_key=True),
    Column("height", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Column("version", Text, nullable=False),
    Index("ix_explorer_chain_messages_height", "height"),
    Index("ix_explorer_chain_messages_version", "version"),
)

explorer_fluxnode_txs = Table(
    "explorer_fluxnode_txs",
    metadata,
    Column("txid", HASH, primary_key=True),
    Column("height", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", Text, nullable=False),
    Column("update_type", Integer),
    Column("ip", Text),
    Column("benchmark_tier", Text),
    Column("collateral_hash", HASH, nullable=False),
    Column("collateral_index", Integer, nullable=False),
    Column("address", String(64)),
    Column("locked_amount", BigInteger),
    Index("ix_explorer_fluxnode_txs_height", "height"),
    Index("ix_explorer_fluxnode_txs_ip", "ip"),
    Index("ix_explorer_fluxnode_txs_address", "address"),
    Index("ix_explorer_fluxnode_txs_collateral", "collateral_hash", "collateral_index"),
)

# Rows above a height, deleted by a rewind; the progress row and outputs are handled apart.
HEIGHT_TABLES = (
    explorer_blocks,
    explorer_address_txs,
    explorer_app_payments,
    explorer_chain_messages,
    explorer_fluxnode_txs,
)
ALL_TABLES = (explorer_progress, explorer_outputs, *HEIGHT_TABLES)

AREA = Area(
    "explorer",
    [Migration(1, "explorer indexes", create_tables(*ALL_TABLES))],
)
