"""The spawner's rules (apps.md §10), without I/O: upstream's delays and cache lifetimes,
where an app may run, who keeps a claim, which copy goes when there are too many, how
long a node defers an app."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from fluxos.apps.specs import AppSpec, components
from fluxos.clock import Clock
from fluxos.runtime.requirements import NodeFacts
from fluxos.sync.apps import sync_mode
from fluxos.wire.jsvalues import to_number, truthy

MINUTE = 60.0
HOUR = 3600.0
DEFAULT_INSTANCES = 3
MAX_APPS_PER_NODE = 200
MIN_BLOCKS_LEFT = 100  # an app expiring within 100 blocks is not spawned
NOT_READY = 120.0
MANY_SHORT = MANY_NORMAL = 60.0
SINGLE_SHORT, SINGLE_NORMAL = 5 * MINUTE, 30 * MINUTE
COLLISION_WAIT = 90.0
AFTER_INSTALL_WAIT = 60.0
MIN_PROPAGATION = 2.0  # the claim and after-install waits, however scaled
TRIED_TTL = 12 * HOUR
TRIED_AFTER_ERROR_TTL = 6 * HOUR
FAILED_TTL = 7 * 24 * HOUR
DEFER_TARGETED = 57 * MINUTE  # `nodes` lists other nodes
DEFER_STATIC_IP = 57 * MINUTE  # an app without `staticip` on a static-IP node
DEFER_DATACENTER = 57 * MINUTE
DEFER_SMALL_ON_STRATUS = 117 * MINUTE
DEFER_MEDIUM_ON_STRATUS = 87 * MINUTE
DEFER_SMALL_ON_NIMBUS = 57 * MINUTE
CLEANUP_INTERVAL = 44 * 30.0  # every 11 blocks x 4 after PON, 30 s blocks
CLEANUP_WAIT = 300.0


@dataclass(frozen=True)
class GlobalApp:
    """A global app specification as the registry holds it (with `hash` and `height`)."""

    spec: AppSpec
    hash: str
    expire_height: int

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def instances(self) -> int:
        value = self.spec.get("instances")
        return int(to_number(value)) if value not in (None, "") else DEFAULT_INSTANCES


@dataclass(frozen=True)
class Placement:
    """One node's copy of an app: its `ip[:port]` and when (runningSince for a running
    copy, broadcastedAt for an installing claim), in ms; None when not known."""

    ip: str
    at_ms: int | None = None


def host_of(address: str) -> str:
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def same_node(address: str, other: str) -> bool:
    return host_of(address) == host_of(other)


def expires_in_time(app: GlobalApp, height: int) -> bool:
    return app.expire_height > height + MIN_BLOCKS_LEFT


def geolocation_allows(geolocation: Sequence[str], location: str | None) -> bool:
    """Upstream's two filters: no forbidden (`a!c…`) prefix of `a!c<location>`, and if any
    allowed (`ac…`) entry, one is a prefix of `ac<location>`. No known location: only
    apps without geolocation rules."""
    forbidden = [g for g in geolocation if g.startswith("a!c")]
    allowed = [g for g in geolocation if g.startswith("ac")]
    if not forbidden and not allowed:
        return True
    if location is None:
        return False
    if any(f"a!c{location}".startswith(g.replace("_NONE", "")) for g in forbidden):
        return False
    return not allowed or any(f"ac{location}".startswith(g) for g in allowed)


def names_node(app: GlobalApp, own: str) -> bool:
    return any(same_node(str(n), own) for n in app.spec.get("nodes") or [])


def nodes_allow(app: GlobalApp, own: str) -> bool:
    """`nodes` empty, naming this node, or a v8+ spec (which only defers, below)."""
    nodes = app.spec.get("nodes") or []
    return not nodes or names_node(app, own) or to_number(app.spec.get("version")) >= 8


def pick(candidates: Sequence[GlobalApp], own: str, rng: random.Random) -> GlobalApp:
    """At random; among the ones naming this node when there are such."""
    mine = [app for app in candidates if names_node(app, own)]
    return rng.choice(mine or list(candidates))


def loses_claim(
    running: Sequence[Placement], installing: Sequence[Placement], required: int, own: str
) -> bool:
    """After the collision wait: claims in broadcast order; this node goes on only while
    running + its place in that order stays within `required`."""
    if len(running) + len(installing) <= required:
        return False
    ordered = sorted(installing, key=lambda p: (p.at_ms is None, p.at_ms or 0, p.ip))
    index = next((i for i, p in enumerate(ordered) if same_node(p.ip, own)), len(ordered))
    return len(running) + index + 1 > required


def loses_after_install(running: Sequence[Placement], required: int, own: str) -> bool:
    """After the install: the oldest copies (no runningSince first) stay, the rest go."""
    if len(running) <= required:
        return False
    ordered = sorted(running, key=lambda p: (p.at_ms is not None, p.at_ms or 0))
    index = next((i for i, p in enumerate(ordered) if same_node(p.ip, own)), None)
    return index is not None and index + 1 > required


def removes_in_cleanup(running: Sequence[Placement], instances: int, own: str) -> bool:
    """Over-provisioning: the newest copy (no runningSince last, ties by IP descending)
    is the one to go, and it is this node's."""
    if len(running) <= instances:
        return False
    ordered = sorted(
        running, key=lambda p: (p.at_ms is not None, p.at_ms or 0, host_of(p.ip)), reverse=True
    )
    return same_node(ordered[0].ip, own)


def deferral(app: GlobalApp, facts: NodeFacts, own: str) -> float | None:
    """How long a standard node waits before taking `app` (upstream's first-pass
    deferrals), or None to go on now."""
    spec = app.spec
    if spec.get("nodes") and not names_node(app, own):
        return DEFER_TARGETED
    if names_node(app, own):
        return None
    if facts.static_ip and not truthy(spec.get("staticip")):
        return DEFER_STATIC_IP
    if facts.datacenter and not truthy(spec.get("datacenter")):
        return DEFER_DATACENTER
    cpu = sum(float(to_number(c.get("cpu") or 0)) for c in components(spec))
    ram = sum(float(to_number(c.get("ram") or 0)) for c in components(spec))
    hdd = sum(float(to_number(c.get("hdd") or 0)) for c in components(spec))
    small = cpu < 3 and ram < 6000 and hdd < 150
    medium = cpu < 7 and ram < 29000 and hdd < 370
    if facts.tier == "bamf" and small:
        return DEFER_SMALL_ON_STRATUS
    if facts.tier == "bamf" and medium:
        return DEFER_MEDIUM_ON_STRATUS
    if facts.tier == "super" and small:
        return DEFER_SMALL_ON_NIMBUS
    return None


def synced(spec: AppSpec) -> bool:
    return any(sync_mode(str(c.get("containerData") or "")) for c in components(spec))


class TtlSet:
    """Hashes remembered until their own expiry (upstream's caches of tried and failed
    specs), on the node's clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._until: dict[str, float] = {}

    def add(self, key: str, seconds: float) -> None:
        self._until[key] = self.clock.monotonic() + seconds

    def discard(self, key: str) -> None:
        self._until.pop(key, None)

    def __contains__(self, key: object) -> bool:
        until = self._until.get(str(key))
        if until is None:
            return False
        if until <= self.clock.monotonic():
            del self._until[str(key)]
            return False
        return True


RESPEC_BLOCKS = (16, 36)  # every random 4-9 blocks x 4 after PON
BLOCK_SECONDS = 30.0
RECORD_ONLY = frozenset(("description", "expire", "hash", "height", "instances", "owner"))


@dataclass(frozen=True)
class SpecChange:
    """What a changed global spec asks of the installed copy (upstream's
    reinstallOldApplications): `record` only the stored spec, `reinstall` the whole app,
    else redeploy the `soft` components (data kept) and the `hard` ones (new volume)."""

    record: bool = False
    reinstall: bool = False
    soft: tuple[int, ...] = ()
    hard: tuple[int, ...] = ()


def spec_change(installed: AppSpec, wanted: AppSpec) -> SpecChange:
    keys = set(installed) | set(wanted)
    if all(installed.get(k) == wanted.get(k) for k in keys - RECORD_ONLY):
        return SpecChange(record=True)
    old_version, new_version = to_number(installed.get("version")), to_number(wanted.get("version"))
    if old_version <= 3 or new_version <= 3:
        return SpecChange(reinstall=True)
    old, new = components(installed), components(wanted)
    if [c.get("name") for c in old] != [c.get("name") for c in new]:
        return SpecChange(reinstall=True)
    soft: list[int] = []
    hard: list[int] = []
    for index, (before, after) in enumerate(zip(old, new, strict=True)):
        if before == after:
            continue
        (soft if before.get("hdd") == after.get("hdd") else hard).append(index)
    if not soft and not hard:  # top-level fields beyond the record-only ones changed
        soft = list(range(len(new)))
    return SpecChange(soft=tuple(soft), hard=tuple(hard))
