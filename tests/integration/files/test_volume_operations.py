"""The volume browser's long operations over real HTTP (upstream 8.18): move, copy,
compress and extract inside an app's own volume as jobs polled at
/apps/operations/:jobId — results identical to their source, refusals answered before
any job, hostile archives failing with nothing published, nobody else's job readable."""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.files.jobs import Job
from tests.integration.files.conftest import VolumeNode
from tests.integration.files.test_volume_browser import UNAUTHORIZED, etc_untouched, snapshot
from tests.support.asyncwait import eventually


@pytest.fixture
async def ops(volume_node: VolumeNode) -> VolumeNode:
    """alpha's volume with a folder of several kinds of entries (and links out of it)."""
    v = volume_node
    photos = v.mine / "appdata" / "photos"
    (photos / "2024" / "june").mkdir(parents=True)
    (photos / "2024" / "june" / "beach.jpg").write_bytes(os.urandom(200_000))
    (photos / "notes.txt").write_text("holiday\n")
    (photos / "empty").write_bytes(b"")
    (photos / "private.key").write_bytes(b"key")
    (photos / "private.key").chmod(0o600)
    os.chown(photos / "notes.txt", 999, 998)
    os.symlink("2024/june/beach.jpg", photos / "latest")
    os.symlink("/etc/passwd", photos / "evil")
    (v.theirs / "appdata" / "file.txt").write_text("beta secret")
    return v


async def start(
    v: VolumeNode, kind: str, body: dict[str, Any], who: dict[str, str] | None = None
) -> httpx.Response:
    payload = {"appname": "alpha", "component": "web", **body}
    return await v.http.post(f"/apps/{kind}object", json=payload, headers=who or v.alice)


async def settle(v: VolumeNode, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Start an operation, check its 202, poll its job to the end; the job's view."""
    reply = await start(v, kind, body)
    assert reply.status_code == 202, reply.text
    accepted = reply.json()["data"]
    job_id = accepted["jobId"]
    assert accepted == {
        "jobId": job_id,
        "statusUrl": f"/apps/operations/{job_id}",
        "status": "Running",
    }
    assert reply.headers["location"] == accepted["statusUrl"]
    assert reply.headers["operation-id"] == job_id

    async def finished() -> dict[str, Any] | None:
        view = (await v.http.get(accepted["statusUrl"], headers=v.alice)).json()["data"]
        return view if view["status"] != "Running" else None

    return await eventually(finished)


def error_of(reply: httpx.Response) -> str:
    body = reply.json()
    assert body["status"] == "error", body
    return str(body["data"]["message"])


async def test_copy_move_compress_extract_round_trip(ops: VolumeNode) -> None:
    v = ops
    appdata = v.mine / "appdata"
    original = snapshot(appdata / "photos")

    job = await settle(v, "copy", {"source": "appdata/photos", "destination": "appdata/copy"})
    assert job["status"] == "Succeeded", job
    assert job["kind"] == "fileoperation.copy" and job["error"] is None
    assert job["progress"][0]["message"] == "Copying..."
    assert job["detail"]["app"] == "alpha" and job["detail"]["bytesTotal"] == 200_011
    assert job["detail"]["bytesDone"] == 200_011
    assert snapshot(appdata / "copy") == original
    assert (appdata / "copy" / "notes.txt").stat().st_uid == 999
    assert (appdata / "copy" / "private.key").stat().st_mode & 0o777 == 0o600

    job = await settle(v, "move", {"source": "appdata/copy", "destination": "moved"})
    assert job["status"] == "Succeeded", job
    assert not (appdata / "copy").exists() and snapshot(v.mine / "moved") == original

    for extension in ("zip", "tar.gz", "TGZ"):
        archive = f"appdata/photos.{extension}"
        job = await settle(v, "compress", {"source": "appdata/photos", "destination": archive})
        assert job["status"] == "Succeeded", job
        data = (v.mine / archive).read_bytes()
        assert b"root:" not in data and b"root:" not in _unpacked(data)  # links stay links
        job = await settle(
            v, "extract", {"source": archive, "destination": f"appdata/x{extension}"}
        )
        assert job["status"] == "Succeeded", job["error"]
        assert snapshot(appdata / f"x{extension}") == original, extension

    # a single file is archived as itself
    job = await settle(
        v, "compress", {"source": "appdata/photos/notes.txt", "destination": "notes.zip"}
    )
    assert zipfile.ZipFile(v.mine / "notes.zip").namelist() == ["notes.txt"]
    assert not [p for p in v.mine.rglob(".fluxos-*")]  # no staging left anywhere
    assert etc_untouched()


def _unpacked(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else b""


async def test_refusals_come_before_any_job(ops: VolumeNode) -> None:
    v = ops
    before = snapshot(v.mine)
    cases = [
        ("copy", {"source": "appdata/photos"}, "destination parameter is mandatory"),
        ("move", {"destination": "x"}, "source parameter is mandatory"),
        ("copy", {"source": "appdata/none", "destination": "x"}, "ENOENT"),
        ("copy", {"source": "appdata/photos", "destination": "nowhere/x"}, "ENOENT"),
        ("move", {"source": "appdata/photos", "destination": "appdata/photos/in"}, "inside"),
        ("copy", {"source": "appdata/photos", "destination": "appdata/photos"}, "the same"),
        ("copy", {"source": "appdata/photos", "destination": "appdata"}, "already exists"),
        ("compress", {"source": "appdata/photos", "destination": "p.rar"}, ".zip, .tar.gz"),
        ("compress", {"source": "appdata", "destination": "appdata/a.zip"}, "inside"),
        ("extract", {"source": "appdata/photos/notes.txt", "destination": "n"}, ".zip, .tar.gz"),
        ("copy", {"source": "", "destination": "x"}, "source parameter is mandatory"),
        ("copy", {"source": "appdata/photos", "destination": ""}, "destination parameter"),
    ]
    for kind, body, message in cases:
        reply = await start(v, kind, body)
        assert reply.status_code == 200 and message in error_of(reply), (kind, body, reply.text)
    missing = await v.http.post(
        "/apps/copyobject", json={"appname": "alpha", "source": "a", "destination": "b"}
    )
    assert missing.json() == UNAUTHORIZED  # no login: refused before anything
    missing = await v.http.post(
        "/apps/copyobject",
        json={"appname": "alpha", "source": "a", "destination": "b"},
        headers=v.alice,
    )
    assert error_of(missing) == "appname and component parameters are mandatory"
    assert snapshot(v.mine) == before


TRAVERSALS = [
    "..",
    "../fluxweb_beta/appdata/file.txt",
    "appdata/../../fluxweb_beta",
    "/etc/passwd",
    "/etc",
    "appdata\\..\\x",
    "appdata\x00x",
    "%2e%2e/x",
    "appdata/photos/evil",
    "appdata/photos/evil/x",
    "appdata/to_beta/file.txt",
    "appdata/to_beta/new",
    "appdata/to_etc/x",
    "appdata//photos",
]


async def test_no_operation_reaches_outside_the_volume(ops: VolumeNode) -> None:
    v = ops
    os.symlink(v.theirs / "appdata", v.mine / "appdata" / "to_beta")
    os.symlink("/etc", v.mine / "appdata" / "to_etc")
    theirs = snapshot(v.theirs)
    attempts = 0
    for kind in ("move", "copy", "compress", "extract"):
        for bad in TRAVERSALS:
            for body in (
                {"source": bad, "destination": "appdata/out.zip"},
                {"source": "appdata/photos", "destination": bad},
                {"source": "appdata/photos", "destination": f"{bad}/out.tar.gz"},
            ):
                reply = await start(v, kind, body)
                attempts += 1
                if reply.status_code == 202:  # acting on a link itself stays inside
                    job_id = reply.json()["data"]["jobId"]
                    await eventually(lambda j=job_id: _done(v, j))
                    continue
                assert reply.json()["status"] == "error", (kind, body)
    # another app's volume and injected components
    for component in ("web", "x|", "web_beta", "..", "null"):
        reply = await v.http.post(
            "/apps/copyobject",
            json={
                "appname": "beta" if component == "web" else "alpha",
                "component": component,
                "source": "appdata/file.txt",
                "destination": "appdata/stolen.txt",
            },
            headers=v.alice,
        )
        attempts += 1
        assert reply.json()["status"] == "error", component
    assert attempts > 150
    assert snapshot(v.theirs) == theirs
    assert etc_untouched() and not made_in_etc()
    assert not list(v.tmp.glob("**/stolen.txt"))


def made_in_etc() -> bool:
    return os.path.lexists("/etc/out.tar.gz") or os.path.lexists("/etc/passwd/out.tar.gz")


async def _done(v: VolumeNode, job_id: str) -> bool:
    view = (await v.http.get(f"/apps/operations/{job_id}", headers=v.alice)).json()["data"]
    return bool(view["status"] != "Running")


def tar_of(members: list[tarfile.TarInfo], data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            archive.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 1 if kind == tarfile.REGTYPE else 0
    return info


def zip_link(name: str, target: str, through: str) -> bytes:
    """A zip with a link, then a file written through it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo(name)
        entry.external_attr = (0o120777 & 0xFFFF) << 16
        archive.writestr(entry, target)
        archive.writestr(through, "planted")
    return buffer.getvalue()


HOSTILE: dict[str, bytes] = {
    "climb.tar.gz": tar_of([member("ok"), member("../../fluxweb_beta/appdata/file.txt")]),
    "absolute.tar.gz": tar_of([member("/etc/x")]),
    "linkout.tar.gz": tar_of([member("l", tarfile.SYMTYPE, "/etc"), member("l/x")]),
    "linkup.tar.gz": tar_of(
        [member("a/l", tarfile.SYMTYPE, "../../../fluxweb_beta"), member("a/l/appdata/new")]
    ),
    "device.tar.gz": tar_of([member("null", tarfile.CHRTYPE)]),
    "fifo.tar.gz": tar_of([member("pipe", tarfile.FIFOTYPE)]),
    "hardlink.tar.gz": tar_of([member("h", tarfile.LNKTYPE, "/etc/passwd")]),
    "linkout.zip": zip_link("l", "/etc", "l/made"),
    "absolute.zip": zip_link("ok", "x", "/etc/x"),
    "climb.zip": zip_link("ok", "x", "../../fluxweb_beta/appdata/new"),
    "notreally.zip": b"PK\x03\x04 not a zip",
    "broken.tar.gz": b"\x1f\x8b\x08\x00garbage",
}


async def test_hostile_archives_fail_with_nothing_published(ops: VolumeNode) -> None:
    v = ops
    for name, data in HOSTILE.items():
        (v.mine / "appdata" / name).write_bytes(data)
    theirs = snapshot(v.theirs)
    for name in HOSTILE:
        job = await settle(v, "extract", {"source": f"appdata/{name}", "destination": "out"})
        assert job["status"] == "Failed", (name, job)
        assert job["error"]["instance"] == f"/apps/operations/{job['jobId']}"
        assert job["error"]["detail"], name
        if name.startswith("link"):
            assert "written through a link" in job["error"]["detail"], job["error"]
        assert not (v.mine / "out").exists(), name
    assert not [p for p in v.mine.rglob(".fluxos-*")]
    assert snapshot(v.theirs) == theirs and etc_untouched()
    assert (v.theirs / "appdata" / "file.txt").read_text() == "beta secret"


async def test_the_volume_limits_copies_and_extraction(ops: VolumeNode) -> None:
    v = ops
    free = os.statvfs(v.mine).f_bavail * os.statvfs(v.mine).f_frsize
    big = v.mine / "appdata" / "big.bin"
    with big.open("wb") as out:
        out.write(os.urandom(free * 6 // 10))
    reply = await start(v, "copy", {"source": "appdata/big.bin", "destination": "big2.bin"})
    assert "Not enough free space on the volume" in error_of(reply)
    big.unlink()
    # a bomb: a small archive of zeros larger than the whole volume
    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w:gz") as archive:
        info = tarfile.TarInfo("zeros")
        info.size = free * 2
        archive.addfile(info, _Zeros(info.size))
    (v.mine / "appdata" / "bomb.tar.gz").write_bytes(bomb.getvalue())
    job = await settle(v, "extract", {"source": "appdata/bomb.tar.gz", "destination": "out"})
    assert job["status"] == "Failed" and "free space" in job["error"]["detail"], job
    assert not (v.mine / "out").exists() and not [p for p in v.mine.rglob(".fluxos-*")]


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


async def test_jobs_belong_to_whoever_started_them(ops: VolumeNode) -> None:
    v = ops
    (v.mine / "appdata" / "old").write_text("old")
    exists = await start(v, "move", {"source": "appdata/photos", "destination": "appdata/old"})
    assert "Destination already exists" in error_of(exists)
    job = await settle(
        v, "move", {"source": "appdata/photos", "destination": "appdata/old", "overwrite": True}
    )
    assert job["status"] == "Succeeded" and (v.mine / "appdata" / "old" / "notes.txt").exists()
    url = f"/apps/operations/{job['jobId']}"
    for who in (v.bob, v.admin):  # even the node's owner: the job id is no probe
        reply = await v.http.get(url, headers=who)
        assert reply.status_code == 404 and error_of(reply) == "Operation not found"
        reply = await v.http.delete(url, headers=who)
        assert reply.status_code == 404 and error_of(reply) == "Operation not found"
    assert (await v.http.get(url)).json() == UNAUTHORIZED
    reply = await v.http.get("/apps/operations/op_unknown", headers=v.alice)
    assert reply.status_code == 404
    finished = (await v.http.delete(url, headers=v.alice)).json()["data"]
    assert finished == {"jobId": job["jobId"], "cancelRequested": False, "status": "Succeeded"}


async def test_a_cancelled_copy_publishes_nothing_or_everything(ops: VolumeNode) -> None:
    v = ops
    big = v.mine / "appdata" / "photos" / "big.bin"
    free = os.statvfs(v.mine).f_bavail * os.statvfs(v.mine).f_frsize
    big.write_bytes(os.urandom(free * 4 // 10))
    reply = await start(v, "copy", {"source": "appdata/photos", "destination": "copy"})
    url = reply.json()["data"]["statusUrl"]
    cancel = (await v.http.delete(url, headers=v.alice)).json()["data"]
    job = await eventually(lambda: _final(v, url))
    if cancel["cancelRequested"] and job["status"] == "Canceled":
        assert not (v.mine / "copy").exists()
    else:  # the copy had published before the cancel was seen
        assert job["status"] == "Succeeded"
        assert snapshot(v.mine / "copy") == snapshot(v.mine / "appdata" / "photos")
    assert not [p for p in v.mine.rglob(".fluxos-*")]
    busy_source = Path("appdata") / "photos"
    assert (v.mine / busy_source / "big.bin").exists()


async def _final(v: VolumeNode, url: str) -> dict[str, Any] | None:
    view = (await v.http.get(url, headers=v.alice)).json()["data"]
    return view if view["status"] != "Running" else None


async def test_a_fifo_planted_in_the_volume_holds_no_thread(ops: VolumeNode) -> None:
    """Opening a FIFO for reading waits for a writer that never comes: every read of a
    volume refuses anything but a regular file without waiting (the files area's worker
    threads are shared by every file route)."""
    v = ops
    os.mkfifo(v.mine / "appdata" / "pipe")
    os.mkfifo(v.mine / "appdata" / "pipe.tar.gz")
    for _ in range(10):  # more than the files area's worker threads
        reply = await v.http.get("/apps/downloadfile/alpha/web/appdata%2Fpipe", headers=v.alice)
        assert "not a regular file" in reply.text, reply.text
    folder = await v.http.get("/apps/downloadfolder/alpha/web/appdata", headers=v.alice)
    names = zipfile.ZipFile(io.BytesIO(folder.content)).namelist()
    assert "photos/notes.txt" in names and "pipe" not in names
    job = await settle(v, "extract", {"source": "appdata/pipe.tar.gz", "destination": "out"})
    assert job["status"] == "Failed" and "not a regular file" in job["error"]["detail"], job
    job = await settle(v, "compress", {"source": "appdata", "destination": "all.tar.gz"})
    assert job["status"] == "Succeeded", job
    with tarfile.open(v.mine / "all.tar.gz") as archive:
        members = archive.getnames()
    assert "photos/notes.txt" in members and "pipe" not in members
    job = await settle(v, "copy", {"source": "appdata", "destination": "copy"})
    assert job["status"] == "Succeeded", job
    assert not (v.mine / "copy" / "pipe").exists() and (v.mine / "copy" / "photos").is_dir()


async def test_no_backup_or_restore_under_a_running_operation(ops: VolumeNode) -> None:
    """While a file operation of the app runs, its backup and restore tasks are refused
    (and the other way round: no operation while a task holds the app)."""
    v = ops
    release = asyncio.Event()

    async def long_work(_job: Job) -> None:  # an operation that has not finished yet
        await release.wait()

    job = v.node.files.jobs.start("fileoperation.copy", "x", "alpha", "Copying...", long_work)
    backup = {"appname": "alpha", "backup": [{"component": "web", "backup": True}]}
    restore = {
        "appname": "alpha",
        "type": "local",
        "restore": [{"component": "web", "restore": True}],
    }
    for path, body in (("/apps/appendbackuptask", backup), ("/apps/appendrestoretask", restore)):
        reply = await v.http.post(path, json=body, headers=v.alice)
        assert reply.text == (
            f"A file operation is running for app alpha: {job.job_id} (fileoperation.copy); "
            "wait for it to end or cancel it\n"
        ), reply.text
    busy = await start(v, "copy", {"source": "appdata/photos", "destination": "c"})
    assert busy.status_code == 503 and job.job_id in error_of(busy)
    assert busy.headers["retry-after"] == "2"
    # beta is not concerned
    other = await v.http.post(
        "/apps/appendbackuptask",
        json={"appname": "beta", "backup": [{"component": "web", "backup": True}]},
        headers=v.bob,
    )
    assert "Finalizing..." in other.text, other.text
    release.set()
    await eventually(lambda: job.status == "Succeeded")
    reply = await v.http.post("/apps/appendbackuptask", json=backup, headers=v.alice)
    assert reply.text.endswith("Finalizing...\n"), reply.text
    await v.node.files.holds.hold("alpha")
    try:
        held = await start(v, "copy", {"source": "appdata/photos", "destination": "c"})
        assert "Backup or restore of app alpha is in progress" in error_of(held)
    finally:
        await v.node.files.holds.release("alpha")
