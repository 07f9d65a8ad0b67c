"""Port ranges of Flux apps: banned host ports and priced enterprise ports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fluxos.apps.jsvalues import to_number


def port_in(port: Any, ranges: Iterable[str | int]) -> bool:
    """Whether `+port` equals a listed port or lies in a listed 'min-max' range."""
    number = to_number(port)
    for entry in ranges:
        if isinstance(entry, str):
            low, _, high = entry.partition("-")
            if to_number(low) <= number <= to_number(high):
                return True
        elif entry == number:
            return True
    return False


def count_in(ports: Any, ranges: Iterable[str | int]) -> int:
    """How many of `ports` fall in `ranges` (0 when `ports` is not a list)."""
    if not isinstance(ports, list):
        return 0
    listed = tuple(ranges)
    return sum(1 for port in ports if port_in(port, listed))
