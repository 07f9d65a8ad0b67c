"""The registry's location rows as the Syncthing controller's peer list."""

from typing import Any

from fluxos.errors import FluxError
from fluxos.sync.apps import Location, RegistryLocations


class Rows:
    def __init__(self, rows: list[dict[str, Any]] | None) -> None:
        self.rows = rows
        self.asked: list[str] = []

    async def __call__(self, app: str) -> list[dict[str, Any]]:
        self.asked.append(app)
        if self.rows is None:
            raise FluxError("database closed")
        return self.rows


async def test_rows_become_ip_port_locations_once_each() -> None:
    rows = Rows(
        [
            {"name": "wiki", "ip": "1.2.3.4", "runningSince": "2026-01-02T03:04:05.678Z"},
            {"name": "wiki", "ip": "5.6.7.8:16137", "runningSince": None},
            {"name": "wiki", "ip": "1.2.3.4:16127"},  # the same node, spelled with its port
            {"name": "Wiki2", "ip": "9.9.9.9"},  # another app matched by a loose lookup
            {"name": "wiki", "ip": ""},
        ]
    )
    found = await RegistryLocations(rows).locations("wiki")
    assert rows.asked == ["wiki"]
    assert found == [
        Location("1.2.3.4:16127", 1767323045678),
        Location("5.6.7.8:16137", None),
    ]


async def test_a_registry_that_cannot_answer_gives_no_peers() -> None:
    assert await RegistryLocations(Rows(None)).locations("wiki") == []
