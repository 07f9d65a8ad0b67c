"""The volume browser and IOUtils upload over real HTTP (files-and-sync.md §4, §5): an app
owner reaches their own component volume and nothing else — not another app's volume,
not through links planted inside, not through encodings or multipart field names."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.integration.files.conftest import VolumeNode

UNAUTHORIZED = {
    "status": "error",
    "data": {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."},
}


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry below `root`: a file's bytes, a link's target, a folder's mark."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
        else:
            found[key] = "dir"
    return found


def etc_untouched() -> bool:
    """/etc/passwd is there and nothing a traversal would have made is."""
    made = [p for p in ("/etc/made", "/etc/moved", "/etc/x", "/etc/in", "/etc/f")]
    return os.path.exists("/etc/passwd") and not [p for p in made if os.path.lexists(p)]


@pytest.fixture
async def volumes(volume_node: VolumeNode) -> VolumeNode:
    """alpha's and beta's volumes with data, and links planted in alpha's that point out."""
    v = volume_node
    for volume, text in ((v.mine, "alpha data"), (v.theirs, "beta secret")):
        (volume / "appdata" / "file.txt").write_text(text)
    os.symlink(v.theirs / "appdata", v.mine / "appdata" / "to_beta")
    os.symlink("/etc", v.mine / "appdata" / "to_etc")
    os.symlink(v.theirs / "appdata" / "file.txt", v.mine / "appdata" / "beta_file")
    os.symlink("../../fluxweb_beta", v.mine / "appdata" / "up_to_beta")
    return v


async def _get(v: VolumeNode, path: str, who: dict[str, str] | None = None) -> httpx.Response:
    return await v.http.get(path, headers=who if who is not None else v.alice)


async def test_an_owner_manages_their_own_volume(volumes: VolumeNode) -> None:
    v = volumes
    listing = (await _get(v, "/apps/getfolderinfo/alpha/web/appdata")).json()
    assert listing["status"] == "success", listing
    names = {entry["name"]: entry for entry in listing["data"]}
    assert names["file.txt"]["size"] == len("alpha data")
    assert names["to_etc"]["isSymbolicLink"] is True
    assert (await _get(v, "/apps/createfolder/alpha/web/appdata%2Fnew")).json()["data"] == {
        "message": "Folder Created"
    }
    assert (v.mine / "appdata" / "new").is_dir()
    upload = await v.http.post(
        "/ioutils/fileupload/volume/alpha/web/appdata%2Fnew",
        files={"up.bin": ("up.bin", b"u" * 300_000)},
        headers=v.alice,
    )
    assert '"status":"error"' not in upload.text and "up.bin" in upload.text
    assert (v.mine / "appdata" / "new" / "up.bin").read_bytes() == b"u" * 300_000
    mode_before = os.stat(v.mine / "appdata" / "file.txt").st_mode
    download = await _get(v, "/apps/downloadfile/alpha/web/appdata%2Ffile.txt")
    assert download.content == b"alpha data"
    assert os.stat(v.mine / "appdata" / "file.txt").st_mode == mode_before  # no chmod 777
    folder = await _get(v, "/apps/downloadfolder/alpha/web/appdata%2Fnew")
    assert zipfile.ZipFile(io.BytesIO(folder.content)).read("up.bin") == b"u" * 300_000
    assert (await _get(v, "/apps/renameobject/alpha/web/appdata%2Fnew/renamed")).json()["data"] == {
        "message": "Rename successful"
    }
    assert (v.mine / "appdata" / "renamed" / "up.bin").exists()
    assert (await _get(v, "/apps/removeobject/alpha/web/appdata%2Frenamed")).json()["data"] == {
        "message": "File Removed"
    }
    assert not (v.mine / "appdata" / "renamed").exists()
    backup = await v.http.post(
        "/ioutils/fileupload/backup/alpha/web?filename=backup_web.tar.gz",
        files={"whatever": ("x", b"archive")},
        headers=v.alice,
    )
    assert '"status":"error"' not in backup.text
    assert (v.mine / "backup" / "upload" / "backup_web.tar.gz").read_bytes() == b"archive"


async def test_an_owner_cannot_touch_another_app(volumes: VolumeNode) -> None:
    v = volumes
    before = snapshot(v.theirs)
    for path in (
        "/apps/getfolderinfo/beta/web/appdata",
        "/apps/createfolder/beta/web/appdata%2Fx",
        "/apps/renameobject/beta/web/appdata%2Ffile.txt/x",
        "/apps/removeobject/beta/web/appdata%2Ffile.txt",
        "/apps/downloadfile/beta/web/appdata%2Ffile.txt",
        "/apps/downloadfolder/beta/web/appdata",
        "/apps/getfolderinfo/alpha/web/appdata?appname=beta",
    ):
        reply = await _get(v, path)
        if path.endswith("?appname=beta"):  # the path's app name wins: alpha's own listing
            assert "to_etc" in {entry["name"] for entry in reply.json()["data"]}
            continue
        assert reply.json() == UNAUTHORIZED, path
    upload = await v.http.post(
        "/ioutils/fileupload/volume/beta/web/appdata",
        files={"x.txt": ("x.txt", b"x")},
        headers=v.alice,
    )
    assert upload.json() == UNAUTHORIZED
    assert (await _get(v, "/apps/getfolderinfo/alpha/web/appdata", v.bob)).json() == UNAUTHORIZED
    assert (await _get(v, "/apps/getfolderinfo/alpha/web/appdata", {})).json() == UNAUTHORIZED
    # beta's owner and the node's owner do reach beta's volume
    for who in (v.bob, v.admin):
        listing = (await _get(v, "/apps/getfolderinfo/beta/web/appdata", who)).json()
        assert [entry["name"] for entry in listing["data"]] == ["file.txt"]
    assert (v.theirs / "appdata" / "file.txt").read_text() == "beta secret"
    assert snapshot(v.theirs) == before


async def test_the_node_owner_cannot_take_an_apps_files_off_the_node(volumes: VolumeNode) -> None:
    """upstream 8.18's appownerorfluxteam: downloads and the backup routes are for the app's
    owner and the Flux team; the node's owner, who hosts the app, is refused them (and still
    browses and manages the volume, appownerabove). Real signatures, real sessions."""
    v = volumes
    archive = v.mine / "backup" / "local" / "backup_web.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(b"archive")
    local = f"{v.mine}/backup/local"
    takes_files_off = [
        "/apps/downloadfile/alpha/web/appdata%2Ffile.txt",
        "/apps/downloadfolder/alpha/web/appdata",
        "/backup/getvolumedataofcomponent/alpha/web",
        f"/backup/getlocalbackuplist?path={local}&appname=alpha",
        f"/backup/downloadlocalfile?filepath={local}/backup_web.tar.gz&appname=alpha",
        f"/backup/removebackupfile?filepath={local}/backup_web.tar.gz&appname=alpha",
    ]
    for path in takes_files_off:
        assert (await _get(v, path, v.admin)).json() == UNAUTHORIZED, path
    assert archive.read_bytes() == b"archive"  # the refused removal removed nothing
    listing = (await _get(v, "/apps/getfolderinfo/alpha/web/appdata", v.admin)).json()
    assert "file.txt" in {entry["name"] for entry in listing["data"]}
    for who in (v.alice, v.team):
        download = await _get(v, "/apps/downloadfile/alpha/web/appdata%2Ffile.txt", who)
        assert download.content == b"alpha data"
        backups = (await _get(v, takes_files_off[3], who)).json()
        assert [entry["name"] for entry in backups["data"]] == ["backup_web.tar.gz"], backups
        fetched = await _get(v, takes_files_off[4], who)
        assert fetched.content == b"archive"
    removed = (await _get(v, takes_files_off[5], v.team)).json()
    assert removed["status"] == "success" and not archive.exists(), removed
    # bob owns beta, not alpha: refused like any stranger
    assert (await _get(v, takes_files_off[0], v.bob)).json() == UNAUTHORIZED


COMPONENTS = ["web_beta", "x|", "web%2F..%2Ffluxweb_beta", "..", "%2e%2e", "null", "WEB"]
PATHS = [
    "..",
    "..%2F..",
    "%2e%2e%2Ffluxweb_beta",
    "%252e%252e",
    "appdata%2F..%2F..%2Ffluxweb_beta%2Fappdata",
    "%2Fetc%2Fpasswd",
    "appdata%5C..%5Cx",
    "appdata%00x",
    "appdata%2Fto_beta",
    "appdata%2Fto_beta%2Ffile.txt",
    "appdata%2Fto_etc",
    "appdata%2Fto_etc%2Fpasswd",
    "appdata%2Fbeta_file",
    "appdata%2Fup_to_beta%2Fappdata%2Ffile.txt",
    "appdata%2Fup_to_beta",
    "appdata%2F%2Ffile.txt",
]


async def test_five_hundred_traversal_attempts_reach_nothing_outside(volumes: VolumeNode) -> None:
    v = volumes
    before = snapshot(v.theirs)
    attempts = 0
    routes = []
    for path in [prefix + p for prefix in ("", "appdata%2F", "backup%2F") for p in PATHS]:
        routes += [
            f"/apps/getfolderinfo/alpha/web/{path}",
            f"/apps/getfolderinfo/alpha/web?folder={path}",
            f"/apps/createfolder/alpha/web/{path}%2Fmade",
            f"/apps/createfolder/alpha/web?folder={path}%2Fmade",
            f"/apps/renameobject/alpha/web/{path}%2Ffile.txt/moved",
            f"/apps/renameobject/alpha/web?oldpath=appdata%2Ffile.txt&newname={path}",
            f"/apps/removeobject/alpha/web/{path}%2Ffile.txt",
            f"/apps/removeobject/alpha/web?object={path}%2Ffile.txt",
            f"/apps/downloadfile/alpha/web/{path}",
            f"/apps/downloadfile/alpha/web?file={path}",
            f"/apps/downloadfolder/alpha/web/{path}",
            f"/apps/downloadfolder/alpha/web?folder={path}",
        ]
    for component in COMPONENTS:
        routes += [
            f"/apps/getfolderinfo/alpha/{component}/appdata",
            f"/apps/downloadfile/alpha/{component}/appdata%2Ffile.txt",
            f"/apps/removeobject/alpha/{component}/appdata%2Ffile.txt",
            f"/apps/createfolder/alpha/{component}/appdata%2Fmade",
        ]
    for route in routes:
        reply = await _get(v, route)
        attempts += 1
        assert b"beta secret" not in reply.content and b"root:" not in reply.content, route
        if "/removeobject/" in route and reply.json()["status"] == "success":
            continue  # `rm -rf` of nothing succeeds; what is outside is checked below
        assert reply.json()["status"] == "error", (route, reply.text)
    for path in PATHS:
        for kind in ("volume", "backup"):
            reply = await v.http.post(
                f"/ioutils/fileupload/{kind}/alpha/web?folder={path}%2Fin&filename={path}",
                files={"f": ("f", b"payload")},
                headers=v.alice,
            )
            attempts += 1
            if kind == "volume" or "%2F" in path or "%00" in path or "%5C" in path:
                assert '"status":"error"' in reply.text, (kind, path)
    for field in ("../x", "../../fluxweb_beta/appdata/file.txt", "a/b", "..", "x\\y"):
        body = (
            f'--B\r\nContent-Disposition: form-data; name="{field}"; filename="f"\r\n\r\n'
            "overwrite\r\n--B--\r\n"
        ).encode()
        reply = await v.http.post(
            "/ioutils/fileupload/volume/alpha/web/appdata",
            content=body,
            headers={**v.alice, "content-type": "multipart/form-data; boundary=B"},
        )
        attempts += 1
        assert '"status":"error"' in reply.text, field
    assert attempts >= 500, attempts
    assert (v.theirs / "appdata" / "file.txt").read_text() == "beta secret"
    assert snapshot(v.theirs) == before
    assert (v.mine / "appdata" / "file.txt").read_text() == "alpha data"
    assert etc_untouched()
    assert not list(v.tmp.glob("**/made")) and not (v.mine.parent / "x").exists()
    assert not list(v.tmp.glob("**/moved"))


async def test_missing_parameters_are_named(volumes: VolumeNode) -> None:
    v = volumes
    cases = {
        "/apps/getfolderinfo/alpha": "appname and component parameters are mandatory",
        "/apps/renameobject/alpha/web": "No file nor folder to rename specified",
        "/apps/renameobject/alpha/web/appdata": "No new name specified",
        "/apps/removeobject/alpha": "component parameter is mandatory",
        "/apps/removeobject/alpha/web": "No object specified",
        "/apps/downloadfile/alpha/web": "file and component parameters are mandatory",
        "/apps/downloadfolder/alpha/web": "folder and component parameters are mandatory",
        "/apps/getfolderinfo/alpha/db": "Application volume not found",
    }
    for path, message in cases.items():
        reply = (await _get(v, path)).json()
        assert reply["status"] == "error" and reply["data"]["message"] == message, (path, reply)
