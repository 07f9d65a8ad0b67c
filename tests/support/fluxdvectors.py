"""Loading the daemon's test data (tests/vectors/fluxd, see its README for sources)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parents[1] / "vectors" / "fluxd"


def load(name: str) -> list[Any]:
    data = json.loads((VECTORS / name).read_text())
    assert isinstance(data, list)
    return data


def cases(name: str, min_len: int = 2) -> list[tuple[int, list[Any]]]:
    """(index in the file, entry) of every entry that is not a one-element comment."""
    return [(i, entry) for i, entry in enumerate(load(name)) if len(entry) >= min_len]


def case_ids(items: list[tuple[int, list[Any]]]) -> list[str]:
    return [f"#{i}" for i, _ in items]
