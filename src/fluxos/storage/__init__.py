"""Persistence: the database engine, the versioned schema and one small module per area."""

from fluxos.storage.database import Database

__all__ = ["Database"]
