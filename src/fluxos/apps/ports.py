"""Port ranges of Flux apps: banned host ports and priced enterprise ports."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fluxos.wire.jsvalues import to_number

PortList = tuple[str | int, ...]
"""Ports and 'min-max' ranges, as upstream's config lists them."""


@lru_cache(maxsize=16)
def _bounds(ranges: PortList) -> tuple[tuple[float, float], ...]:
    bounds = []
    for entry in ranges:
        if isinstance(entry, str):
            low, _, high = entry.partition("-")
            bounds.append((float(to_number(low)), float(to_number(high))))
        else:
            bounds.append((entry, entry))
    return tuple(bounds)


def port_in(port: Any, ranges: PortList) -> bool:
    """Whether `+port` equals a listed port or lies in a listed 'min-max' range."""
    number = to_number(port)
    return any(low <= number <= high for low, high in _bounds(ranges))


def count_in(ports: Any, ranges: PortList) -> int:
    """How many of `ports` fall in `ranges` (0 when `ports` is not a list)."""
    if not isinstance(ports, list):
        return 0
    return sum(1 for port in ports if port_in(port, ranges))
