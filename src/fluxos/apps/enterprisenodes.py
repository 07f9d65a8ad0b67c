"""Which app owners may use enterprise nodes: Flux's `helpers/enterprisenodes.json`, a map
of enterprise node public key → the owner addresses allowed on it (upstream 8.18).

The node keeps the last good map in `<data dir>/enterprisenodes.json` (seeded from there at
start), asks Flux's helpers for a new one at start and every 6 hours, and replaces it only
with a valid map (an object whose every value is a list of strings): a malformed answer
would otherwise make enterprise nodes host nothing. `/flux/enterpriseappowners` answers
the union of all owners, in first-seen order.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from fluxos.clock import Clock

log = logging.getLogger(__name__)

FILE_NAME = "enterprisenodes.json"
SYNC_SECONDS = 6 * 3600.0


class NodeOwnerMapSource(Protocol):
    """Flux's published map (the internet); None when it cannot be had."""

    async def enterprise_node_owners(self) -> Any | None: ...


def valid_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(owners, list) and all(isinstance(owner, str) for owner in owners)
        for owners in value.values()
    )


class EnterpriseNodes:
    """The node → owners map the node currently trusts."""

    def __init__(self, data_dir: Path, source: NodeOwnerMapSource | None, clock: Clock) -> None:
        self.path = data_dir / FILE_NAME
        self._source = source
        self._clock = clock
        self._map: dict[str, list[str]] = {}

    def load(self) -> None:
        """Seed from the last good copy on disk, if there is a valid one."""
        try:
            document = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            log.warning(
                "%s cannot be read (%s); starting without enterprise nodes", self.path, error
            )
            return
        if valid_map(document):
            self._map = document
        else:
            log.error("%s is not a node → owners map; ignored", self.path)

    async def refresh(self) -> bool:
        """Ask the source once; True when a new valid map replaced the old one."""
        if self._source is None:
            return False
        document = await self._source.enterprise_node_owners()
        if document is None:
            log.warning("enterprise nodes: the list could not be fetched; keeping the current one")
            return False
        if not valid_map(document):
            log.error("enterprise nodes: the published list is malformed; keeping the current one")
            return False
        if document != self._map:
            self._map = document
            self._save()
            log.info("enterprise nodes: %d nodes, %d owners", len(self._map), len(self.owners()))
        return True

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{FILE_NAME}.")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(self._map, handle, indent=2)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def run(self) -> None:
        """Seed from disk, then refresh now and every 6 hours."""
        self.load()
        while True:
            await self.refresh()
            await self._clock.sleep(SYNC_SECONDS)

    def owners(self) -> list[str]:
        """Every allowed owner, once each, in first-seen order."""
        return list(dict.fromkeys(owner for owners in self._map.values() for owner in owners))

    def owners_for(self, node_pubkey: str) -> list[str]:
        return list(self._map.get(node_pubkey, []))

    def node_owner_map(self) -> dict[str, list[str]]:
        return {node: list(owners) for node, owners in self._map.items()}
