"""Backups over real HTTP on volumes made by the runtime (files-and-sync.md §3): the
`/backup/*` routes reach the caller's own app's backup folders and nothing else, and a
backup, wipe and restore gives back byte-identical data, from `local`, `upload` and
`remote` (a local HTTP server in a network the test node allows)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx

from fluxos.files.backups import CLEAN_EVERY_SECONDS
from tests.integration.files.conftest import VolumeNode
from tests.integration.files.test_volume_browser import UNAUTHORIZED, snapshot
from tests.support.asyncwait import eventually


def tree(root: Path) -> dict[str, tuple[str, int, int, int]]:
    """Every entry below `root`: kind with content digest or link target, mode, uid, gid."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            what = "link " + os.readlink(path)
        elif path.is_file():
            what = "file " + hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = "dir"
        found[str(path.relative_to(root))] = (what, info.st_mode, info.st_uid, info.st_gid)
    return found


def fill(appdata: Path) -> None:
    """Data of several kinds: nested folders, a binary file, an empty file, a link inside,
    a file of another owner with its own mode."""
    (appdata / "db" / "tables").mkdir(parents=True)
    (appdata / "db" / "tables" / "t1.bin").write_bytes(os.urandom(300_000))
    (appdata / "db" / "empty").write_bytes(b"")
    (appdata / "conf.txt").write_text("key=value\n")
    os.symlink("db/tables/t1.bin", appdata / "current")
    owned = appdata / "db" / "owned.dat"
    owned.write_bytes(b"postgres' file")
    os.chown(owned, 999, 998)
    owned.chmod(0o600)


def wipe(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


async def lines(v: VolumeNode, path: str, body: dict[str, object], who: dict[str, str]) -> str:
    reply = await v.http.post(path, json=body, headers=who)
    assert reply.status_code == 200
    return reply.text


async def _get(v: VolumeNode, path: str, who: dict[str, str] | None = None) -> httpx.Response:
    return await v.http.get(path, headers=who if who is not None else v.alice)


def archive_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def test_backup_wipe_restore_gives_identical_data(volume_node: VolumeNode) -> None:
    v = volume_node
    appdata = v.mine / "appdata"
    await asyncio.to_thread(fill, appdata)
    before = await asyncio.to_thread(tree, appdata)
    theirs = await asyncio.to_thread(snapshot, v.theirs)

    text = await lines(
        v,
        "/apps/appendbackuptask",
        {"appname": "alpha", "backup": [{"component": "web", "backup": True}]},
        v.alice,
    )
    assert text.splitlines() == [
        "Stopping application...",
        "Creating backup archive for web...",
        "Starting application...",
        "Finalizing...",
    ], text
    archive = v.mine / "backup" / "local" / "backup_web.tar.gz"
    assert archive.is_file()
    # the app was wished stopped during the task and running again after it
    assert (await v.node.local_apps.desired())["fluxweb_alpha"] == "running"
    assert not v.node.app_holds.held

    listing = (
        await _get(v, f"/backup/getlocalbackuplist?path={quote(str(archive.parent))}&appname=alpha")
    ).json()
    assert listing["status"] == "success", listing
    assert [(e["name"], e["size"]) for e in listing["data"]] == [
        ("backup_web.tar.gz", archive.stat().st_size)
    ]
    download = await _get(
        v, f"/backup/downloadlocalfile?filepath={quote(str(archive))}&appname=alpha"
    )
    assert download.content == archive.read_bytes()
    saved = download.content

    # a second backup replaces the archive
    text = await lines(
        v,
        "/apps/appendbackuptask",
        {"appname": "alpha", "backup": [{"component": "web", "backup": True}]},
        v.alice,
    )
    assert "Removing exists backup archive for web..." in text.splitlines()

    # wipe, as an app gone wrong would
    await asyncio.to_thread(wipe, appdata)
    (appdata / "junk").write_text("written after the backup")
    text = await lines(
        v,
        "/apps/appendrestoretask",
        {"appname": "alpha", "type": "local", "restore": [{"component": "web", "restore": True}]},
        v.alice,
    )
    assert text.splitlines() == [
        "Stopping application...",
        "Removing web component data...",
        "Unpacking backup archive for web...",
        "Removing backup file for web...",
        "Starting application...",
        "Finalizing...",
    ], text
    assert await asyncio.to_thread(tree, appdata) == before
    assert not archive.exists()

    # the same archive uploaded (IOUtils type=backup), then restored from `upload`
    (appdata / "junk").write_text("again")
    upload = await v.http.post(
        "/ioutils/fileupload/backup/alpha/web?filename=backup_web.tar.gz",
        files={"backup_web.tar.gz": ("backup_web.tar.gz", saved)},
        headers=v.alice,
    )
    assert '"status":"error"' not in upload.text
    text = await lines(
        v,
        "/apps/appendrestoretask",
        {"appname": "alpha", "type": "upload", "restore": [{"component": "web", "restore": True}]},
        v.alice,
    )
    assert text.splitlines()[-1] == "Finalizing...", text
    assert await asyncio.to_thread(tree, appdata) == before

    # and from a remote URL
    with serving_bytes(saved) as url:
        (appdata / "junk").write_text("once more")
        text = await lines(
            v,
            "/apps/appendrestoretask",
            {
                "appname": "alpha",
                "type": "remote",
                "restore": [{"component": "web", "restore": True, "url": url}],
            },
            v.alice,
        )
        assert f"Downloading {url}..." in text.splitlines(), text
        assert text.splitlines()[-1] == "Finalizing...", text
        assert await asyncio.to_thread(tree, appdata) == before
        size = (
            await _get(
                v,
                f"/backup/getremotefilesize?fileurl={quote(url)}&appname=alpha&multiplier=KB&decimal=2",
            )
        ).json()
        assert size == {"status": "success", "data": round(len(saved) / 1024, 2)}
    assert await asyncio.to_thread(snapshot, v.theirs) == theirs


async def test_tasks_refuse_other_apps_and_bad_archives(volume_node: VolumeNode) -> None:
    v = volume_node
    (v.theirs / "appdata" / "secret").write_text("beta secret")
    theirs = await asyncio.to_thread(snapshot, v.theirs)
    body = {"appname": "beta", "backup": [{"component": "web", "backup": True}]}
    assert (
        await v.http.post("/apps/appendbackuptask", json=body, headers=v.alice)
    ).json() == UNAUTHORIZED
    restore = {
        "appname": "beta",
        "type": "local",
        "restore": [{"component": "web", "restore": True}],
    }
    assert (
        await v.http.post("/apps/appendrestoretask", json=restore, headers=v.alice)
    ).json() == UNAUTHORIZED
    assert (await v.http.post("/apps/appendrestoretask", json=restore)).json() == UNAUTHORIZED
    # a component of another app, or none at all, is no volume of alpha's
    for component in ("web_beta", "x|", "..", "db"):
        body = {"appname": "alpha", "backup": [{"component": component, "backup": True}]}
        text = await lines(v, "/apps/appendbackuptask", body, v.alice)
        assert text.splitlines()[-1] in (
            "Application volume not found",
            f"component must contain only letters and digits, got {component!r}",
        ), text
    assert (await v.node.local_apps.desired()).get("fluxweb_alpha") in (None, "running")
    # checks answered as one line, as upstream
    assert await lines(v, "/apps/appendbackuptask", {"appname": "alpha"}, v.alice) == (
        "appname and backup parameters are mandatory\n"
    )
    assert (
        await lines(
            v,
            "/apps/appendbackuptask",
            {"appname": "alpha", "backup": [{"component": "web", "backup": False}]},
            v.alice,
        )
        == "No backup jobs...\n"
    )
    assert (
        await lines(
            v,
            "/apps/appendrestoretask",
            {"appname": "alpha", "restore": [{"component": "web", "restore": True}], "type": "x"},
            v.alice,
        )
        == "type must be one of local, remote, upload, got 'x'\n"
    )
    # no archive: nothing is wiped
    (v.mine / "appdata" / "keep").write_text("kept")
    text = await lines(
        v,
        "/apps/appendrestoretask",
        {"appname": "alpha", "type": "upload", "restore": [{"component": "web", "restore": True}]},
        v.alice,
    )
    assert text.splitlines()[-1].startswith("Error: No backup archive"), text
    assert (v.mine / "appdata" / "keep").read_text() == "kept"
    # an archive that climbs out, names an absolute path or links out is refused
    for files in ({"../../fluxweb_beta/appdata/secret": b"overwritten"},):
        upload = v.mine / "backup" / "upload"
        upload.mkdir(parents=True, exist_ok=True)
        (upload / "backup_web.tar.gz").write_bytes(archive_of(files))
        text = await lines(
            v,
            "/apps/appendrestoretask",
            {
                "appname": "alpha",
                "type": "upload",
                "restore": [{"component": "web", "restore": True}],
            },
            v.alice,
        )
        assert text.splitlines()[-1].startswith("Error: Failed to unpack archive file for web"), (
            text
        )
    linked = io.BytesIO()
    with tarfile.open(fileobj=linked, mode="w:gz") as archive:
        link = tarfile.TarInfo("escape")
        link.type, link.linkname = tarfile.SYMTYPE, "../../fluxweb_beta/appdata"
        archive.addfile(link)
        inner = tarfile.TarInfo("escape/secret")
        inner.size = 3
        archive.addfile(inner, io.BytesIO(b"bad"))
    (v.mine / "backup" / "upload" / "backup_web.tar.gz").write_bytes(linked.getvalue())
    text = await lines(
        v,
        "/apps/appendrestoretask",
        {"appname": "alpha", "type": "upload", "restore": [{"component": "web", "restore": True}]},
        v.alice,
    )
    assert text.splitlines()[-1].startswith("Error: Failed to unpack archive file for web"), text
    assert (v.mine / "appdata" / "keep").read_text() == "kept"  # refused before the wipe
    # an absolute name lands inside appdata, as with `tar -x`
    (v.mine / "backup" / "upload" / "backup_web.tar.gz").write_bytes(
        archive_of({"/etc/fluxos-files-test": b"x"})
    )
    text = await lines(
        v,
        "/apps/appendrestoretask",
        {"appname": "alpha", "type": "upload", "restore": [{"component": "web", "restore": True}]},
        v.alice,
    )
    assert text.splitlines()[-1] == "Finalizing...", text
    assert (v.mine / "appdata" / "etc" / "fluxos-files-test").read_bytes() == b"x"
    assert await asyncio.to_thread(snapshot, v.theirs) == theirs
    assert not await asyncio.to_thread(os.path.lexists, "/etc/fluxos-files-test")
    # a remote URL to a private or loopback address outside the allowed networks
    for url in (
        "http://10.0.0.1/backup.tar.gz",
        "http://[::1]/b.tar.gz",
        "file:///etc/passwd",
        "http://localhost/x",
    ):
        text = await lines(
            v,
            "/apps/appendrestoretask",
            {
                "appname": "alpha",
                "type": "remote",
                "restore": [{"component": "web", "restore": True, "url": url}],
            },
            v.alice,
        )
        assert text.splitlines()[-1].startswith(f"Error: Failed to download {url}..."), text
    assert not v.node.app_holds.held


async def test_backup_routes_are_bound_to_the_callers_app(volume_node: VolumeNode) -> None:
    v = volume_node
    for volume in (v.mine, v.theirs):
        (volume / "backup" / "local").mkdir(parents=True)
        (volume / "backup" / "local" / "backup_web.tar.gz").write_bytes(volume.name.encode())
        (volume / "appdata" / "data.tar.gz").write_bytes(b"not a backup")
    os.symlink(
        v.theirs / "backup" / "local" / "backup_web.tar.gz",
        v.mine / "backup" / "local" / "to_beta.tar.gz",
    )
    theirs = await asyncio.to_thread(snapshot, v.theirs)
    volume = (await _get(v, "/backup/getvolumedataofcomponent/alpha/web/MB/0")).json()
    assert volume["status"] == "success", volume
    assert volume["data"]["mount"] == str(v.mine)
    assert volume["data"]["filesystem"].startswith("/dev/loop")
    assert 40 <= volume["data"]["size"] <= 52  # a 51 MB image, less ext4's own
    only = (
        await _get(v, "/backup/getvolumedataofcomponent/alpha/web?fields=size,used&multiplier=B")
    ).json()
    assert set(only["data"]) == {"size", "used"}
    assert (await _get(v, "/backup/getvolumedataofcomponent/beta/web")).json() == UNAUTHORIZED

    mine = str(v.mine / "backup" / "local")
    listing = (await _get(v, f"/backup/getlocalbackuplist?path={quote(mine)}&appname=alpha")).json()
    assert [e["name"] for e in listing["data"]] == ["backup_web.tar.gz"]  # the link is no archive
    file = quote(mine + "/backup_web.tar.gz")
    assert (
        await _get(v, f"/backup/downloadlocalfile?filepath={file}&appname=alpha")
    ).content == b"fluxweb_alpha"

    theirs_dir = str(v.theirs / "backup" / "local")
    attempts = [
        theirs_dir,
        theirs_dir + "/backup_web.tar.gz",
        mine + "/../../fluxweb_beta/backup/local/backup_web.tar.gz",
        mine + "/%2e%2e/%2e%2e/fluxweb_beta/backup/local/backup_web.tar.gz",
        mine + "/to_beta.tar.gz",
        mine + "\\..\\..\\fluxweb_beta\\backup\\local\\backup_web.tar.gz",
        mine + "/backup_web.tar.gz\0",
        str(v.mine / "appdata" / "data.tar.gz"),
        str(v.mine / "backup"),
        str(v.mine) + "//backup/local/backup_web.tar.gz",
        "backup/local/backup_web.tar.gz",
        "/etc/passwd",
        str(v.mine) + "/backup/local/../../../../../etc/passwd",
        str(v.mine.parent / "ZelShare"),
    ]
    for path in attempts:
        for route in (
            "getlocalbackuplist?path=",
            "downloadlocalfile?filepath=",
            "removebackupfile?filepath=",
        ):
            if route.startswith("removebackupfile") and path.endswith("to_beta.tar.gz"):
                continue  # the link itself may go (below); what it names stays
            reply = await _get(v, f"/backup/{route}{quote(path)}&appname=alpha")
            assert b"fluxweb_beta" not in reply.content and b"root:" not in reply.content, (
                route,
                path,
            )
            body = reply.json()
            if route.startswith("removebackupfile") and body["status"] == "success":
                assert body["data"] == {"message": False}, (route, path, body)
                continue
            assert body["status"] == "error", (route, path, body)
        # with appname=beta the caller is not beta's owner
        assert (
            await _get(v, f"/backup/removebackupfile?filepath={quote(path)}&appname=beta")
        ).json() == UNAUTHORIZED
    assert await asyncio.to_thread(snapshot, v.theirs) == theirs
    # the link itself can go, as can alpha's own archive; beta's owner removes beta's
    assert (
        await _get(
            v, f"/backup/removebackupfile?filepath={quote(mine + '/to_beta.tar.gz')}&appname=alpha"
        )
    ).json()["data"] == {"message": True}
    assert (await _get(v, f"/backup/removebackupfile?filepath={file}&appname=alpha")).json()[
        "data"
    ] == {"message": True}
    assert not (v.mine / "backup" / "local" / "backup_web.tar.gz").exists()
    assert (v.theirs / "backup" / "local" / "backup_web.tar.gz").read_bytes() == b"fluxweb_beta"
    theirs_file = quote(theirs_dir + "/backup_web.tar.gz")
    assert (
        await _get(v, f"/backup/removebackupfile?filepath={theirs_file}&appname=beta", v.bob)
    ).json()["data"] == {"message": True}
    missing = (await _get(v, "/backup/getlocalbackuplist", v.alice)).json()
    assert missing["status"] == "error"


class _Archive(BaseHTTPRequestHandler):
    payload = b""

    def _headers(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/gzip")
        self.send_header("content-length", str(len(self.payload)))
        self.end_headers()

    def do_HEAD(self) -> None:
        self._headers()

    def do_GET(self) -> None:
        self._headers()
        self.wfile.write(self.payload)

    def log_message(self, *_args: object) -> None:
        return


class serving_bytes:
    """A local HTTP server answering every GET with `payload`."""

    def __init__(self, payload: bytes) -> None:
        handler = type("Handler", (_Archive,), {"payload": payload})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/backup_web.tar.gz"

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_local_backups_older_than_a_day_go(volume_node: VolumeNode) -> None:
    """The node's housekeeping loop (every 25 min): `backup/local` files made over a day
    ago go, in every installed app; newer ones and uploaded/remote archives stay."""
    v = volume_node
    now = v.clock.time()
    for volume in (v.mine, v.theirs):
        for kind in ("local", "upload", "remote"):
            (volume / "backup" / kind).mkdir(parents=True)
            old = volume / "backup" / kind / "backup_web.tar.gz"
            old.write_bytes(b"archive")
            os.utime(old, (now - 25 * 3600, now - 25 * 3600))
        fresh = volume / "backup" / "local" / "backup_conf.tar.gz"
        fresh.write_bytes(b"archive")
        os.utime(fresh, (now - 3600, now - 3600))
    await v.clock.advance_async(CLEAN_EVERY_SECONDS)
    await eventually(lambda: not (v.theirs / "backup" / "local" / "backup_web.tar.gz").exists())
    await eventually(lambda: not (v.mine / "backup" / "local" / "backup_web.tar.gz").exists())
    for volume in (v.mine, v.theirs):
        assert (volume / "backup" / "local" / "backup_conf.tar.gz").exists()
        assert (volume / "backup" / "upload" / "backup_web.tar.gz").exists()
        assert (volume / "backup" / "remote" / "backup_web.tar.gz").exists()
