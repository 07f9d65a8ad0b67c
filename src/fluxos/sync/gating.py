"""The rules that decide, per synced component, whether its folder may send and whether
its container may run here (files-and-sync.md §1.5–§1.7). Pure: the controller gathers
the facts (Syncthing's folder status, peers' index state, who runs what) and applies the
outcome.

* A replica sends (send-receive) only once its copy is verified: the folder is idle,
  needs nothing, has no receive-only changes, and its global state includes the index
  of a connected peer; or, when no other node of the app answers at all (a cold start),
  after it has been alone for a while.
* `g:` runs on one node: the one running it stays primary; with none running, the
  nodes holding a verified copy take over in address order, candidate *i* after
  `grace + i × step` seconds of vacancy, each checking that no node runs it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACTIVE_STATES = frozenset(
    {
        "syncing",
        "sync-preparing",
        "sync-waiting",
        "scanning",
        "scan-waiting",
        "cleaning",
        "clean-waiting",
    }
)
# Locally added directories alone are not held against a copy: promoting sends them as
# additions, and a revert would delete the `appdata` directory the container mounts.
RECEIVE_ONLY_CHANGES = (
    "receiveOnlyChangedFiles",
    "receiveOnlyChangedSymlinks",
    "receiveOnlyChangedDeletes",
)


def _int(status: dict[str, Any], key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) else 0


def receive_only_changes(status: dict[str, Any]) -> int:
    """Local file changes a receive-only folder holds back (reverted before promotion)."""
    return sum(_int(status, key) for key in RECEIVE_ONLY_CHANGES)


def in_sync(status: dict[str, Any]) -> str | None:
    """None when the local copy equals the global state Syncthing knows, else why not."""
    state = status.get("state")
    if state != "idle":
        return f"folder is {state or 'in an unknown state'}"
    if status.get("error"):
        return f"folder error: {status.get('error')}"
    need = _int(status, "needTotalItems")
    if need:
        return f"{need} items ({_int(status, 'needBytes')} bytes) still to fetch"
    if _int(status, "inSyncBytes") != _int(status, "globalBytes"):
        return f"{_int(status, 'inSyncBytes')} of {_int(status, 'globalBytes')} bytes in sync"
    return None


@dataclass(frozen=True)
class PeerIndex:
    """What the local Syncthing knows of one peer for one folder."""

    address: str
    connected: bool
    remote_state: str  # "valid": we hold its index; "notSharing", "unknown"
    global_bytes: int

    @property
    def has_index(self) -> bool:
        return self.connected and self.remote_state == "valid"


def cold_start_leader(me: str, live: list[str], peers: list[PeerIndex]) -> str | None:
    """None when this node may seed a folder (no other node of the app answers), else why
    not. `live` are the addresses of the app's nodes that answered (this one included);
    a live peer whose index has not arrived yet is waited for, never raced."""
    if any(p.has_index for p in peers):
        return "a connected peer holds the folder: syncing from it instead"
    others = [address for address in live if address != me]
    if others:
        return f"waiting for the index of {', '.join(others)}"
    return None


@dataclass(frozen=True)
class PrimaryChoice:
    run: bool
    reason: str


def primary_choice(
    me: str,
    addresses: list[str],
    running_elsewhere: list[str],
    runs_here: bool,
    ready: bool,
    vacant_for: float | None,
    grace: float,
    step: float,
) -> PrimaryChoice:
    """Whether this node runs the `g:` component (see the module docstring)."""
    if running_elsewhere:
        if runs_here:
            keeper = min([me, *running_elsewhere])
            if keeper == me:
                return PrimaryChoice(
                    True, f"also running on {', '.join(running_elsewhere)}: this node keeps it"
                )
            return PrimaryChoice(False, f"also running on {keeper}, which keeps it: standby")
        return PrimaryChoice(False, f"standby: {running_elsewhere[0]} is the primary")
    if runs_here:
        return PrimaryChoice(True, "primary")
    if not ready:
        return PrimaryChoice(False, "standby: local copy not verified in sync")
    order = sorted(set(addresses) | {me})
    index = order.index(me)
    wait = grace + index * step
    if vacant_for is not None and vacant_for >= wait:
        return PrimaryChoice(
            True, f"no node has run it for {vacant_for:.0f} s: candidate #{index} takes over"
        )
    return PrimaryChoice(
        False,
        f"standby: no node runs it; candidate #{index} takes over after {wait:.0f} s of vacancy",
    )


@dataclass
class StallTracker:
    """Progress of a folder that needs data; a flat one is nudged with a doubling pause."""

    stall_seconds: float
    max_backoff: float = 900.0
    best: int = -1
    since: float = 0.0
    nudges: int = 0
    next_nudge: float = 0.0
    warned: bool = False

    def observe(self, in_sync_bytes: int, now: float) -> None:
        if in_sync_bytes != self.best:
            self.best = in_sync_bytes
            self.since = now
            self.warned = False

    def reset(self, now: float) -> None:
        self.best, self.since, self.nudges, self.next_nudge, self.warned = -1, now, 0, 0.0, False

    def stalled_for(self, now: float) -> float:
        return now - self.since

    def due(self, now: float) -> bool:
        """A nudge is due: flat for `stall_seconds` and past the backoff."""
        return self.stalled_for(now) >= self.stall_seconds and now >= self.next_nudge

    def nudged(self, now: float) -> float:
        self.nudges += 1
        backoff = min(self.max_backoff, self.stall_seconds * 2 ** (self.nudges - 1))
        self.next_nudge = now + backoff
        return backoff
