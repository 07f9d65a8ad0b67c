"""App folders with real Syncthing 1.29 on three nodes (one Syncthing each, own home and
ports) and real loop-mounted ext4 volumes: a `g:` app's primary and standby, the
primary's death and the standby's takeover, the old primary's return, the #1761
scenarios (a volume emptied or unmounted while its node was down), an `r:` app gated on
a new node until its copy is complete, and a node restart while Syncthing keeps
running."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxos.sync.apps import SyncMode, app_identifier
from fluxos.sync.process import running_pid
from tests.support.asyncwait import eventually
from tests.support.syncfleet import Fleet, FleetNode

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop-mounted app volumes need root"),
]

APP, COMPONENT = "wiki", "db"
APP_ID = app_identifier(APP, COMPONENT)
SYNC_WITHIN = 90.0


def files_of(root: Path) -> dict[str, bytes]:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


async def scan(node: FleetNode, folder: str = APP_ID) -> None:
    """What Syncthing's watcher does ~10 s after the app writes, at once."""
    await node.rest("post", "/rest/db/scan", params={"folder": folder})


async def has_files(node: FleetNode, expected: dict[str, bytes], app_id: str = APP_ID) -> bool:
    installed = node.host.installed[app_id]
    return files_of(installed.volume.appdata) == expected


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    fleet = Fleet(tmp_path / "fleet", 3)
    try:
        yield fleet
    finally:
        await fleet.close()


async def test_primary_standby_takeover_return_and_1761(fleet: Fleet) -> None:
    a, b, _c = fleet.nodes
    primary = fleet.install(a, APP, COMPONENT, SyncMode.PRIMARY)
    standby = fleet.install(b, APP, COMPONENT, SyncMode.PRIMARY)
    await fleet.start(a)
    await fleet.start(b)

    # cold start: both empty, so both verify; exactly one runs, the lowest address
    await eventually(lambda: primary.running, within=SYNC_WITHIN)
    await eventually(lambda: b.folders and b.folders.tracked[APP_ID].promoted, SYNC_WITHIN)
    assert not standby.running
    assert "standby" in b.folders.gate(APP_ID).reason if b.folders else False
    # both copies are verified, so both are writable, and each node says so to its peers
    for node in (a, b):
        assert node.folders is not None
        assert node.folders.promoted_folders() == {"ready": True, "folders": [APP_ID]}
    assert (primary.volume.mountpoint / ".stfolder").is_dir()
    assert (primary.volume.mountpoint / ".stignore").read_text() == "/backup\n/lost+found\n"

    # the app writes on the primary; the standby gets every file
    for n in range(20):
        (primary.volume.appdata / f"row{n}.dat").write_bytes(os.urandom(4096) + bytes([n]))
    (primary.volume.appdata / "sub").mkdir()
    (primary.volume.appdata / "sub" / "config.ini").write_text("version=1\n")
    (primary.volume.mountpoint / "backup").mkdir()
    (primary.volume.mountpoint / "backup" / "local.tar.gz").write_bytes(b"local only")
    await scan(a)
    written = files_of(primary.volume.appdata)
    await eventually(lambda: has_files(b, written), within=SYNC_WITHIN)
    assert not (standby.volume.mountpoint / "backup").exists()  # backups stay local
    assert not standby.running

    # the primary's node dies: the standby takes over with every file
    await fleet.stop(a)
    await eventually(lambda: standby.running, within=SYNC_WITHIN)
    assert files_of(standby.volume.appdata) == written
    (standby.volume.appdata / "row3.dat").write_bytes(b"newer on the new primary")
    (standby.volume.appdata / "after-takeover.dat").write_bytes(b"written by the new primary")
    (standby.volume.appdata / "row7.dat").unlink()
    await scan(b)
    newest = files_of(standby.volume.appdata)

    # the old primary comes back: it never runs, never overwrites, and converges
    await fleet.start(a)
    await eventually(lambda: has_files(a, newest), within=SYNC_WITHIN)
    await eventually(lambda: a.folders and a.folders.tracked[APP_ID].promoted, SYNC_WITHIN)
    assert not primary.running and primary.starts == 1
    assert standby.running
    assert files_of(standby.volume.appdata) == newest

    # #1761: the standby's volume is emptied while its node is down
    await fleet.stop(a)
    for path in primary.volume.appdata.iterdir():
        path.unlink() if path.is_file() else shutil.rmtree(path)
    await fleet.start(a)
    await eventually(lambda: has_files(a, newest), within=SYNC_WITHIN)
    assert files_of(standby.volume.appdata) == newest
    assert not primary.running

    # #1761: unmounted while down: the bare directory is never synced nor run on
    await fleet.stop(a)
    primary.volume.unmount()
    bare = primary.volume.mountpoint
    (bare / "host-file").write_text("on the host's disk")
    await fleet.start(a)
    await eventually(lambda: a.folders and a.folders.passes >= 4, within=SYNC_WITHIN)
    gate = a.folders.gate(APP_ID) if a.folders else None
    assert gate is not None and not gate.run and "not mounted" in gate.reason
    assert not (bare / ".stfolder").exists()
    folder = await a.rest("get", f"/rest/config/folders/{APP_ID}")
    assert folder["type"] == "receiveonly"
    assert files_of(standby.volume.appdata) == newest
    assert not (standby.volume.mountpoint / "host-file").exists()
    await fleet.stop(a)
    (bare / "host-file").unlink()
    primary.volume.mount()
    await fleet.start(a)
    await eventually(lambda: a.folders and a.folders.tracked[APP_ID].promoted, SYNC_WITHIN)
    assert files_of(primary.volume.appdata) == newest
    assert files_of(standby.volume.appdata) == newest


async def test_replicated_app_waits_for_its_copy_and_survives_a_node_restart(
    fleet: Fleet,
) -> None:
    a, _b, c = fleet.nodes
    first = fleet.install(a, APP, COMPONENT, SyncMode.REPLICATED)
    await fleet.start(a)
    await eventually(lambda: first.running, within=SYNC_WITHIN)  # alone: it seeds
    for n in range(8):
        (first.volume.appdata / f"page{n}.html").write_bytes(os.urandom(256 * 1024))
    await scan(a)
    written = files_of(first.volume.appdata)

    # a new node: its r: instance runs only once its copy is complete
    newcomer = fleet.install(c, APP, COMPONENT, SyncMode.REPLICATED)
    await fleet.start(c)
    seen_open_early = []

    def complete_before_running() -> bool:
        if newcomer.running and files_of(newcomer.volume.appdata) != written:
            seen_open_early.append(True)
        return newcomer.running

    await eventually(complete_before_running, within=SYNC_WITHIN, interval=0.02)
    assert not seen_open_early
    assert files_of(newcomer.volume.appdata) == written
    folder = await a.rest("get", f"/rest/config/folders/{APP_ID}")
    assert len(folder["devices"]) == 2  # a's folder now shares with c (upstream #1188)

    # the node process restarts while Syncthing keeps running: nothing is re-gated
    pid = running_pid(c.settings.syncthing_home)
    await fleet.stop(c, keep_syncthing=True)
    await fleet.start(c)
    assert running_pid(c.settings.syncthing_home) == pid
    await eventually(lambda: c.folders and c.folders.passes >= 2, within=SYNC_WITHIN)
    assert newcomer.running and newcomer.starts == 1
    assert (await c.rest("get", f"/rest/config/folders/{APP_ID}"))["type"] == "sendreceive"

    # removed with the app: the folder goes from Syncthing, the peer's device too
    del c.host.installed[APP_ID]
    fleet.locations[APP].remove(c.address)
    await eventually(lambda: only_itself_configured(c), within=SYNC_WITHIN, interval=0.2)


async def only_itself_configured(node: FleetNode) -> bool:
    folders = await node.rest("get", "/rest/config/folders")
    devices = await node.rest("get", "/rest/config/devices")
    own = await node.rest("get", "/rest/system/status")
    return folders == [] and [d["deviceID"] for d in devices] == [own["myID"]]


async def test_no_folder_over_a_volume_not_mounted_yet(fleet: Fleet) -> None:
    """Syncthing makes a new folder's missing path (and its .stfolder) itself: while the
    runtime has not mounted the volume, the controller configures no folder for it."""
    a = fleet.nodes[0]
    installed = fleet.install(a, APP, COMPONENT, SyncMode.SHARED)
    installed.volume.unmount()
    installed.volume.mountpoint.rmdir()  # as before the runtime makes its volume
    await fleet.start(a, passes=False)
    assert a.folders is not None
    await a.folders.monitor_pass()
    assert await a.rest("get", "/rest/config/folders") == []
    assert not installed.volume.mountpoint.exists()
    assert a.folders.may_run(APP_ID) is False
    assert "not mounted" in a.folders.gate(APP_ID).reason

    installed.volume.mountpoint.mkdir()
    installed.volume.mount()
    await a.folders.monitor_pass()
    folders = await a.rest("get", "/rest/config/folders")
    assert [f["id"] for f in folders] == [APP_ID]
    assert (installed.volume.mountpoint / ".stfolder").is_dir()
