"""One node's spawner against a real dockerd, loop volumes and registry images: it takes
a global app that lacks instances, gives way to an earlier claim, removes its own copy
when it turns out one too many, and removes an app whose global spec expired.

The global registry's answers come from `Board`, a table behind the spawner's
`GlobalApps` protocol standing for what the other nodes gossiped (the multi-node test
in tests/e2e runs the real registry between real nodes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fluxos.clock import ManualClock
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.installer import Installer
from fluxos.runtime.spawner import Spawner
from fluxos.runtime.spawnrules import AFTER_INSTALL_WAIT, COLLISION_WAIT, GlobalApp, Placement
from fluxos.runtime.volumes import Volumes
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.localapps import LocalApps
from tests.integration.runtime.conftest import Images
from tests.support.processes import free_port
from tests.support.runtimeapps import HostFacts, web_app

ME = "127.0.0.1:16127"
OTHER, THIRD = "10.9.9.1:16127", "10.9.9.2:16127"


@dataclass
class Board:
    """What the network told this node: global specs, running and installing copies."""

    apps: list[GlobalApp] = field(default_factory=list)
    runs: dict[str, list[Placement]] = field(default_factory=dict)
    claims: dict[str, list[Placement]] = field(default_factory=dict)
    clock: ManualClock | None = None

    async def global_apps(self) -> list[GlobalApp]:
        return list(self.apps)

    async def running(self, name: str) -> list[Placement]:
        return list(self.runs.get(name, []))

    async def installing(self, name: str) -> list[Placement]:
        return list(self.claims.get(name, []))

    async def installing_claim(self, name: str) -> None:
        assert self.clock is not None
        self.claims.setdefault(name, []).append(Placement(ME, self.clock.millis()))


class ClaimsToBoard:
    def __init__(self, board: Board) -> None:
        self.board = board
        self.sent: list[str] = []

    async def installing(self, app: str) -> None:
        self.sent.append(app)
        await self.board.installing_claim(app)


@dataclass
class World:
    spawner: Spawner
    board: Board
    claims: ClaimsToBoard
    clock: ManualClock
    engine: DockerEngine
    apps: LocalApps


@pytest.fixture
async def world(engine: DockerEngine, tmp_path: Path) -> AsyncIterator[World]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}", ALL_AREAS)
    await database.open()
    clock = ManualClock()
    apps = LocalApps(database)
    volumes = Volumes(tmp_path / "apps", tmp_path / "volumes")
    installer = Installer(engine, apps, volumes, HostFacts(tmp_path), clock)
    board = Board(clock=clock)
    claims = ClaimsToBoard(board)

    async def height() -> int:
        return 1000

    spawner = Spawner(
        board, installer, apps, engine, claims, HostFacts(tmp_path), clock,
        height=height, own_ip=lambda: ME,
    )  # fmt: skip
    try:
        yield World(spawner, board, claims, clock, engine, apps)
    finally:
        for spec in await apps.all():
            await installer.remove(spec["name"], force=True)
        await database.close()


async def run_pass(world: World, on_wait: dict[float, Callable[[], None]] | None = None) -> float:
    """One spawner pass, time moved on at each of its waits; `on_wait[seconds]` runs when
    the pass waits that long (what the network does meanwhile)."""
    task = asyncio.create_task(world.spawner.try_spawn())
    hooks = dict(on_wait or {})
    while not task.done():
        await asyncio.sleep(0.01)
        wait = world.clock.next_deadline()
        if wait is None:
            continue
        if wait in hooks:
            hooks.pop(wait)()
        await world.clock.advance_async(wait)
    return task.result()


def global_app(name: str, image: str, instances: int = 2, expire: int = 20_000) -> GlobalApp:
    spec = web_app(name, image, free_port())
    spec["instances"] = instances
    return GlobalApp(spec, f"hash{name}", expire_height=expire)


async def running_here(world: World) -> list[str]:
    return [c["Names"][0] for c in await world.engine.list_containers(all=False)]


async def test_takes_a_missing_instance_and_leaves_full_apps(world: World, images: Images) -> None:
    world.board.apps = [global_app("full", images.httpd), global_app("web1", images.httpd)]
    world.board.runs = {
        "full": [Placement(OTHER, 1), Placement(THIRD, 2)],
        "web1": [Placement(OTHER, 1)],
    }
    await run_pass(world)
    assert world.claims.sent == ["web1"]
    assert await running_here(world) == ["/fluxweb_web1"]
    assert (await world.apps.get("web1"))["hash"] == "hashweb1"
    assert world.spawner.stats.installed == ["web1"]
    # now web1 has its two copies (this node's counted by the spawner itself): nothing to do
    await run_pass(world)
    assert world.claims.sent == ["web1"]
    assert world.spawner.stats.last == "no app is missing instances"


async def test_gives_way_to_an_earlier_claim(world: World, images: Images) -> None:
    world.board.apps = [global_app("web2", images.httpd)]
    world.board.runs = {"web2": [Placement(OTHER, 1)]}
    earlier = Placement(THIRD, world.clock.millis() - 1000)  # claimed just before this node
    await run_pass(world, {COLLISION_WAIT: lambda: world.board.claims["web2"].append(earlier)})
    assert world.claims.sent == ["web2"]
    assert world.spawner.stats.lost_claims == ["web2"]
    assert await running_here(world) == []
    assert await world.apps.get("web2") is None


async def test_one_too_many_after_install_goes(world: World, images: Images) -> None:
    world.board.apps = [global_app("web3", images.httpd)]
    world.board.runs = {"web3": [Placement(OTHER, 1)]}
    # while this node installs, another copy starts elsewhere (older than this one)
    await run_pass(
        world, {AFTER_INSTALL_WAIT: lambda: world.board.runs["web3"].append(Placement(THIRD, 2))}
    )
    assert world.spawner.stats.installed == ["web3"]
    assert world.spawner.stats.removed_surplus == ["web3"]
    assert await running_here(world) == []


async def test_cleanup_removes_surplus_and_expired(world: World, images: Images) -> None:
    keep, extra = global_app("keep", images.httpd), global_app("extra", images.httpd)
    world.board.apps = [keep, extra]
    installer = world.spawner.installer
    await installer.install({**keep.spec, "hash": keep.hash})
    await installer.install({**extra.spec, "hash": extra.hash})
    newest = world.clock.millis() + 10_000
    world.board.runs = {
        "keep": [Placement(OTHER, 1), Placement(ME, 5), Placement(THIRD, newest)],
        "extra": [Placement(OTHER, 1), Placement(THIRD, 2), Placement(ME, newest)],
    }
    task = asyncio.create_task(world.spawner.remove_surplus())
    while not task.done():
        await asyncio.sleep(0.01)
        if (wait := world.clock.next_deadline()) is not None:
            await world.clock.advance_async(wait)
    assert task.result() == ["extra"]  # this node's copy of extra is the newest one
    assert await running_here(world) == ["/fluxweb_keep"]

    # keep's global spec expires: it goes (a spec gone altogether goes on the second miss)
    world.board.apps = [global_app("keep", images.httpd, expire=900)]
    assert await world.spawner.remove_surplus() == ["keep"]
    assert await running_here(world) == []


async def test_a_changed_global_spec_reaches_the_installed_copy(
    world: World, images: Images
) -> None:
    first = global_app("upd", images.httpd)
    await world.spawner.installer.install({**first.spec, "hash": first.hash})
    container = "fluxweb_upd"
    data = world.spawner.installer.volumes.directory(container) / "appdata" / "kept.txt"
    data.write_text("owner data")
    original = (await world.engine.inspect(container))["Id"]

    async def move_to(spec: dict[str, object], name: str) -> None:
        world.board.apps = [GlobalApp(spec, name, expire_height=20_000)]
        assert await world.spawner.follow_spec_changes(chance=1.0) == ["upd"]
        assert (await world.apps.get("upd"))["hash"] == name

    # only the instance count changes: the record follows, the container stays
    await move_to({**first.spec, "instances": 4}, "hash2")
    assert (await world.engine.inspect(container))["Id"] == original
    assert await world.spawner.follow_spec_changes(chance=1.0) == []  # up to date now

    # a new image, the same disk: the container is made again, the data stays
    component = {**first.spec["compose"][0], "repotag": images.other}
    await move_to({**first.spec, "compose": [component]}, "hash3")
    inspect = await world.engine.inspect(container)
    assert inspect["Id"] != original and inspect["Config"]["Image"] == images.other
    assert inspect["State"]["Running"]
    assert data.read_text() == "owner data"

    # a bigger disk: a new volume
    await move_to({**first.spec, "compose": [{**component, "hdd": 2}]}, "hash4")
    assert (await world.engine.inspect(container))["State"]["Running"]
    assert not data.exists()
    assert world.spawner.installer.volumes.mounted(container)
