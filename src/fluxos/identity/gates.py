"""The checks GET /id/loginphrase runs before issuing a phrase (identity.md §3.2).

A node that is unhealthy refuses logins so its owner notices; the emergency phrase skips
every gate. The gates run in upstream's order and the first refusal is the answer.

Wiring status: the database gate is real. Syncthing, Docker, hardware tier and the two DOS
states belong to areas that do not exist yet; their gate logic is here, behind small
source protocols, and `Node` plugs each in when its area lands. Until then the slot is
empty, `LoginGates.missing()` names it and the node logs it at start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from fluxos.errors import FluxError, UnnamedError

log = logging.getLogger(__name__)

# identity.md §3.2: the two DOS messages that keep the name "DOS"; others are "CONNERROR".
DOS_NAMED_MESSAGES = frozenset(
    {
        "Flux IP detection failed",
        "Flux collision detection. Another ip:port is confirmed on flux network with the same "
        "collateral transaction information.",
    }
)
# (tier, collateral) → (minimum RAM GiB, minimum CPU threads)
TIER_MINIMUMS: dict[tuple[str, int], tuple[float, int]] = {
    ("bamf", 100000): (30, 8),
    ("super", 25000): (7, 4),
    ("basic", 10000): (3, 2),
    ("bamf", 40000): (61, 16),
    ("super", 12500): (30, 8),
    ("basic", 1000): (3, 4),
}


class LoginGate(Protocol):
    async def check(self) -> None:
        """Return if a phrase may be issued; raise a FluxError (the client's answer) if not."""
        ...


class PhraseTable(Protocol):
    async def ping(self) -> None: ...


class DatabaseGate:
    """Gate 1: the phrase table answers a trivial read."""

    def __init__(self, table: PhraseTable) -> None:
        self.table = table

    async def check(self) -> None:
        try:
            await self.table.ping()
        except Exception as error:
            log.error("login phrase refused: database check failed: %s", error)
            cause = getattr(error, "orig", None) or error  # the driver's error, not SQL text
            raise FluxError(str(cause), name=type(cause).__name__) from error


class SyncthingProbe(Protocol):
    async def is_running(self) -> bool: ...


class SyncthingGate:
    """Gate 2: Syncthing runs. The first check ever passes; one failure in a row is forgiven."""

    def __init__(self, probe: SyncthingProbe) -> None:
        self.probe = probe
        self._first = True
        self._was_working = False

    async def check(self) -> None:
        running = await self.probe.is_running()
        first, self._first = self._first, False
        if running or first:
            self._was_working = True
            return
        if self._was_working:
            self._was_working = False
            return
        raise FluxError("Syncthing is not running properly")


class DockerProbe(Protocol):
    async def list_images(self) -> object: ...


class DockerGate:
    """Gate 3: the Docker daemon answers "list images"; its error is the answer."""

    def __init__(self, probe: DockerProbe) -> None:
        self.probe = probe

    async def check(self) -> None:
        try:
            await self.probe.list_images()
        except FluxError:
            raise
        except Exception as error:
            raise FluxError(str(error), name=type(error).__name__) from error


@dataclass(frozen=True)
class HardwareFacts:
    tier: str | None
    collateral: int | None
    ram_gib: float
    cpu_threads: int


class HardwareSource(Protocol):
    async def hardware(self) -> HardwareFacts: ...


def meets_tier(facts: HardwareFacts) -> bool:
    """Whether RAM and CPU threads reach the tier's minimum; unknown tiers pass, as upstream."""
    minimum = TIER_MINIMUMS.get((facts.tier or "", facts.collateral or 0))
    if minimum is None:
        return True
    ram, threads = minimum
    return facts.ram_gib >= ram and facts.cpu_threads >= threads


class HardwareGate:
    """Gate 4: this machine meets its node tier's hardware minimum."""

    def __init__(self, source: HardwareSource) -> None:
        self.source = source

    async def check(self) -> None:
        try:
            facts = await self.source.hardware()
            good = meets_tier(facts)
        except Exception as error:
            log.error("hardware check failed: %s", error)
            good = False
        if not good:
            raise FluxError("Node hardware requirements not met")


@dataclass(frozen=True)
class DosState:
    state: int
    message: str | None


class DosSource(Protocol):
    async def dos_state(self) -> DosState:
        """The DOS state; raises when it cannot be determined."""
        ...


class NodeDosGate:
    """Gate 5: the node's own DOS state (p2p.md §14) is clear."""

    def __init__(self, source: DosSource) -> None:
        self.source = source

    async def check(self) -> None:
        try:
            dos = await self.source.dos_state()
        except Exception as error:
            log.error("DOS state unavailable: %s", error)
            raise UnnamedError("Unable to check DOS state") from error
        if dos.state > 10 or dos.message is not None:
            name = "DOS" if dos.message in DOS_NAMED_MESSAGES else "CONNERROR"
            raise FluxError(dos.message or "", code=dos.state, name=name)


class AppsDosGate:
    """Gate 6: the apps DOS state is below 100."""

    def __init__(self, source: DosSource) -> None:
        self.source = source

    async def check(self) -> None:
        dos = await self.source.dos_state()
        if dos.state >= 100:
            log.error("login phrase refused: apps DOS state %d: %s", dos.state, dos.message)
            raise FluxError(dos.message or "", code=dos.state, name="DOS")


@dataclass(frozen=True)
class LoginGates:
    """The gates in upstream's order; an empty slot is an area not wired yet."""

    database: LoginGate
    syncthing: LoginGate | None = None
    docker: LoginGate | None = None
    hardware: LoginGate | None = None
    node_dos: LoginGate | None = None
    apps_dos: LoginGate | None = None

    def _slots(self) -> list[tuple[str, LoginGate | None]]:
        return [
            ("database", self.database),
            ("syncthing", self.syncthing),
            ("docker", self.docker),
            ("hardware", self.hardware),
            ("node_dos", self.node_dos),
            ("apps_dos", self.apps_dos),
        ]

    def missing(self) -> list[str]:
        return [name for name, gate in self._slots() if gate is None]

    async def check(self) -> None:
        """Run every wired gate in order; the first refusal propagates."""
        for _name, gate in self._slots():
            if gate is not None:
                await gate.check()
