"""FluxShare over real HTTP on a running node (files-and-sync.md §2): every route with its
permission, streamed uploads and downloads, share tokens, and no way out of the share."""

from __future__ import annotations

import io
import json
import os
import socket
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.integration.files.conftest import ShareNode
from tests.integration.system.conftest import start_system_node

UNAUTHORIZED = {
    "status": "error",
    "data": {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."},
}

ADMIN_ROUTES = [
    "/apps/fluxshare/getfile/a.txt",
    "/apps/fluxshare/getfolder",
    "/apps/fluxshare/createfolder/x",
    "/apps/fluxshare/removefile/a.txt",
    "/apps/fluxshare/removefolder/x",
    "/apps/fluxshare/fileexists/a.txt",
    "/apps/fluxshare/stats",
    "/apps/fluxshare/sharefile/a.txt",
    "/apps/fluxshare/unsharefile/a.txt",
    "/apps/fluxshare/sharedfiles",
    "/apps/fluxshare/rename/a.txt/b.txt",
    "/apps/fluxshare/downloadfolder/x",
]


def upload(share: ShareNode, folder: str, files: dict[str, bytes], **headers: str) -> str:
    reply = share.node.post(
        f"/apps/fluxshare/uploadfile/{folder}",
        files={name: (name, data) for name, data in files.items()},
        headers={**share.headers, **headers},
    )
    assert reply.status_code == 200
    return reply.text


def test_every_route_refuses_anonymous_callers(share_node: ShareNode) -> None:
    for path in ADMIN_ROUTES:
        assert share_node.node.get(path).json() == UNAUTHORIZED, path
    reply = share_node.node.post(
        "/apps/fluxshare/uploadfile/", files={"a.txt": ("a.txt", b"x" * 100)}
    )
    assert reply.json() == UNAUTHORIZED
    assert not (share_node.share / "a.txt").exists()


def test_upload_list_share_download_unshare(share_node: ShareNode) -> None:
    share = share_node
    assert share.share.is_dir()  # created at start
    assert share.data("/apps/fluxshare/createfolder/docs") == {"message": "Folder Created"}
    payload = os.urandom(3 * 1024 * 1024 + 17)
    text = upload(share, "docs", {"big.bin": payload, "note.txt": b"hello"})
    assert '"status":"error"' not in text
    assert "big.bin" in text and "note.txt" in text
    assert text.startswith("[")  # progress ticks [received,expected]
    assert (share.share / "docs" / "big.bin").read_bytes() == payload
    assert not [p for p in (share.share / "docs").iterdir() if p.name.startswith(".")]

    listing = {entry["name"]: entry for entry in share.data("/apps/fluxshare/getfolder/docs")}
    assert listing["big.bin"]["size"] == len(payload)
    assert listing["big.bin"]["isFile"] is True and listing["big.bin"]["isDirectory"] is False
    assert "shareToken" not in listing["big.bin"]
    root = {entry["name"]: entry for entry in share.data("/apps/fluxshare/getfolder")}
    assert root["docs"]["isDirectory"] is True
    assert root["docs"]["size"] == len(payload) + 5

    assert share.data("/apps/fluxshare/fileexists/docs%2Fbig.bin") == {"fileExists": True}
    assert share.data("/apps/fluxshare/fileexists?file=docs/none") == {"fileExists": False}

    record = share.data("/apps/fluxshare/sharefile?file=docs/big.bin")
    assert record["name"] == "docs%2Fbig.bin"
    assert len(record["token"]) == 64
    assert share.data("/apps/fluxshare/sharefile?file=docs/big.bin") == record  # stable
    assert record in share.data("/apps/fluxshare/sharedfiles")
    listing = {entry["name"]: entry for entry in share.data("/apps/fluxshare/getfolder/docs")}
    assert listing["big.bin"]["shareToken"] == record["token"]
    assert listing["big.bin"]["shareFile"] == "docs%2Fbig.bin"

    # anyone holding the token, no login
    anonymous = share.node.get(f"/apps/fluxshare/getfile/docs%2Fbig.bin/{record['token']}")
    assert anonymous.status_code == 200
    assert anonymous.content == payload
    assert "big.bin" in anonymous.headers["content-disposition"]
    assert anonymous.headers["content-length"] == str(len(payload))
    wrong = share.node.get(f"/apps/fluxshare/getfile/docs%2Fbig.bin/{'0' * 64}")
    assert wrong.json() == UNAUTHORIZED
    other = share.node.get(f"/apps/fluxshare/getfile/docs%2Fnote.txt/{record['token']}")
    assert other.json() == UNAUTHORIZED

    assert share.data("/apps/fluxshare/unsharefile?file=docs/big.bin") == {
        "message": "File sharing disabled"
    }
    again = share.node.get(f"/apps/fluxshare/getfile?file=docs/big.bin&token={record['token']}")
    assert again.json() == UNAUTHORIZED

    admin_download = share.node.get(
        "/apps/fluxshare/getfile/docs%2Fnote.txt", headers=share.headers
    )
    assert admin_download.content == b"hello"


def test_folders_zip_rename_and_remove(share_node: ShareNode) -> None:
    share = share_node
    assert share.data("/apps/fluxshare/createfolder/tree")["message"] == "Folder Created"
    assert share.data("/apps/fluxshare/createfolder/tree%2Fsub")["message"] == "Folder Created"
    upload(share, "tree", {"one.txt": b"1" * 1000})
    upload(share, "tree%2Fsub", {"two.txt": b"2" * 5000})
    os.symlink("/etc/passwd", share.share / "tree" / "passwd")  # never zipped

    reply = share.node.get("/apps/fluxshare/downloadfolder/tree", headers=share.headers)
    assert reply.headers["content-type"] == "application/zip"
    assert "tree.zip" in reply.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    assert sorted(archive.namelist()) == ["one.txt", "sub/two.txt"]
    assert archive.read("sub/two.txt") == b"2" * 5000

    record = share.data("/apps/fluxshare/sharefile/tree%2Fone.txt")
    folder_record = share.data("/apps/fluxshare/sharefile/tree")
    token_zip = share.node.get(f"/apps/fluxshare/getfile/tree/{folder_record['token']}")
    assert sorted(zipfile.ZipFile(io.BytesIO(token_zip.content)).namelist()) == [
        "one.txt",
        "sub/two.txt",
    ]
    assert share.data("/apps/fluxshare/rename/tree%2Fone.txt/uno.txt") == {
        "message": "Rename successful"
    }
    assert (share.share / "tree" / "uno.txt").read_bytes() == b"1" * 1000
    names = [r["name"] for r in share.data("/apps/fluxshare/sharedfiles")]
    assert record["name"] not in names
    assert share.node.get(f"/apps/fluxshare/getfile/tree%2Funo.txt/{record['token']}").json() == (
        UNAUTHORIZED
    )
    assert share.data("/apps/fluxshare/removefile/tree%2Funo.txt") == {"message": "File Removed"}
    assert not (share.share / "tree" / "uno.txt").exists()
    assert share.data("/apps/fluxshare/removefolder/tree") == {"message": "Folder Removed"}
    assert not (share.share / "tree").exists()
    assert Path("/etc/passwd").exists()
    # the folder's records went with it (upstream kept them)
    assert folder_record["name"] not in [
        r["name"] for r in share.data("/apps/fluxshare/sharedfiles")
    ]


def test_stats_count_the_share(share_node: ShareNode) -> None:
    stats = share_node.data("/apps/fluxshare/stats")
    assert set(stats) == {"available", "used", "total"}
    assert stats["total"] >= 2
    assert stats["available"] == pytest.approx(stats["total"] - stats["used"])


def test_messages_of_missing_parameters(share_node: ShareNode) -> None:
    share = share_node
    cases = {
        "/apps/fluxshare/getfile": "No file specified",
        "/apps/fluxshare/removefile": "No file specified",
        "/apps/fluxshare/removefolder": "No folder specified",
        "/apps/fluxshare/fileexists": "No File specified",
        "/apps/fluxshare/rename": "No file nor folder to rename specified",
        "/apps/fluxshare/rename/a.txt": "No new name specified",
        "/apps/fluxshare/rename/a.txt/b%2Fc": "New name is invalid",
        "/apps/fluxshare/downloadfolder": "No folder specified",
    }
    for path, message in cases.items():
        reply = share.admin_get(path)
        assert reply["status"] == "error", path
        assert reply["data"]["message"] == message, path


TRAVERSALS = [
    "..",
    "../..",
    "%2e%2e",
    "%252e%252e",
    "..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    "a%2F..%2F..%2Fx",
    "a%5C..%5Cx",
    "x%00y",
    "etc",
    "etc%2Fpasswd",
    "outside",
    "outside%2Fsecret.txt",
]


def test_no_route_reaches_outside_the_share(share_node: ShareNode) -> None:
    share = share_node
    outside = share.tmp / "outside"
    outside.mkdir(exist_ok=True)
    secret = outside / "secret.txt"
    secret.write_text("not yours")
    for name, target in (("etc", "/etc"), ("outside", str(outside))):
        if not (share.share / name).is_symlink():
            os.symlink(target, share.share / name)
    attempts = 0
    for path in TRAVERSALS:
        for route in (
            f"/apps/fluxshare/getfile/{path}",
            f"/apps/fluxshare/getfile?file={path}",
            f"/apps/fluxshare/getfolder/{path}",
            f"/apps/fluxshare/getfolder?folder={path}",
            f"/apps/fluxshare/createfolder/{path}%2Fnew",
            f"/apps/fluxshare/createfolder?folder={path}%2Fnew",
            f"/apps/fluxshare/removefile/{path}",
            f"/apps/fluxshare/removefile?file={path}",
            f"/apps/fluxshare/removefolder?folder={path}",
            f"/apps/fluxshare/fileexists/{path}",
            f"/apps/fluxshare/fileexists?file={path}",
            f"/apps/fluxshare/sharefile?file={path}",
            f"/apps/fluxshare/downloadfolder/{path}",
            f"/apps/fluxshare/downloadfolder?folder={path}",
            f"/apps/fluxshare/rename/{path}/renamed",
            f"/apps/fluxshare/rename?oldpath={path}&newname=renamed",
            f"/apps/fluxshare/rename?oldpath=docs&newname={path}",
        ):
            acts_on_the_link = path in ("etc", "outside") and (
                "/remove" in route or "rename/" in route or "oldpath=" + path in route
            )
            if acts_on_the_link:
                continue  # removing or renaming a link is the link's business (below)
            attempts += 1
            reply = share.node.get(route, headers=share.headers)
            body = reply.content
            assert b"not yours" not in body and b"root:" not in body, route
            assert reply.json()["status"] == "error", (route, reply.text)
        text = upload(share, f"?folder={path}", {"x.txt": b"payload"})
        assert '"status":"error"' in text
        attempts += 1
    for field in ("../x.txt", "..", "a/b", "..\\x", "../../outside/secret.txt"):
        reply = share.node.post(
            "/apps/fluxshare/uploadfile/",
            content=_multipart(field, b"overwrite"),
            headers={**share.headers, "content-type": "multipart/form-data; boundary=XyZ"},
        )
        assert '"status":"error"' in reply.text, field
        attempts += 1
    assert attempts >= 200
    assert (share.share / "docs").is_dir()  # the rename target never moved
    assert secret.read_text() == "not yours"
    assert not (share.share.parent / "x.txt").exists()
    assert not (outside / "new").exists() and not (outside / "renamed").exists()
    assert (share.share / "outside").is_symlink()
    # a link itself may be removed: the link goes, never what it points to
    assert share.data("/apps/fluxshare/removefolder/outside") == {"message": "Folder Removed"}
    assert share.data("/apps/fluxshare/removefile/etc") == {"message": "File Removed"}
    assert not (share.share / "outside").exists() and secret.read_text() == "not yours"
    assert Path("/etc/passwd").exists()
    assert not [p for p in share.share.iterdir() if p.name.startswith(".")]


def _multipart(field_name: str, data: bytes) -> bytes:
    head = (
        f'--XyZ\r\nContent-Disposition: form-data; name="{field_name}"; filename="f"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data + b"\r\n--XyZ--\r\n"


def test_an_interrupted_upload_leaves_nothing(share_node: ShareNode) -> None:
    share = share_node
    body = _multipart("cut.bin", b"z" * (4 * 1024 * 1024))
    cut = body[: 2 * 1024 * 1024]
    import socket

    with socket.create_connection((share.node.host, share.node.port)) as connection:
        auth = share.headers["zelidauth"]
        connection.sendall(
            (
                "POST /apps/fluxshare/uploadfile/ HTTP/1.1\r\n"
                f"Host: {share.node.host}\r\nzelidauth: {auth}\r\n"
                "Content-Type: multipart/form-data; boundary=XyZ\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + cut
        )
        connection.recv(1024)  # the first progress tick: the node is writing
    _wait_no_partial(share.share)
    assert not (share.share / "cut.bin").exists()
    empty = share.node.post(
        "/apps/fluxshare/uploadfile/",
        content=_multipart("empty.bin", b""),
        headers={**share.headers, "content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert json.loads(empty.text[empty.text.index("{") :])["status"] == "error"
    assert not (share.share / "empty.bin").exists()


def _wait_no_partial(directory: Path) -> None:
    from tests.support.processes import wait_until

    wait_until(lambda: not [p for p in directory.iterdir() if ".upload-" in p.name], timeout=10)


def test_a_non_multipart_body_is_refused(share_node: ShareNode) -> None:
    reply = httpx.post(
        share_node.node.url + "/apps/fluxshare/uploadfile/",
        content=b"plain",
        headers={**share_node.headers, "content-type": "text/plain"},
    )
    assert '"status":"error"' in reply.text and "multipart" in reply.text


def test_stalled_zip_downloads_take_no_other_routes_threads(share_node: ShareNode) -> None:
    """A zip is written by a worker thread that waits while its client reads slowly, so
    anyone holding one folder's share token could hold threads by never reading: ten
    such downloads (more than the files area's worker threads) leave every other file
    route answering."""
    share = share_node
    folder = share.share / "stall"
    folder.mkdir()
    for index in range(6):  # incompressible: more than socket buffers and the queue hold
        (folder / f"part{index}.bin").write_bytes(os.urandom(8 * 1024 * 1024))
    token = share.data("/apps/fluxshare/sharefile/stall")["token"]
    stalled = []
    try:
        for _ in range(10):
            connection = socket.create_connection((share.node.host, share.node.port))
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            connection.sendall(
                f"GET /apps/fluxshare/getfile/stall/{token} HTTP/1.1\r\n"
                f"host: {share.node.host}\r\n\r\n".encode()
            )
            assert connection.recv(12).startswith(b"HTTP/1.1 200")  # started, then unread
            stalled.append(connection)
        # the other routes still answer (without the separate pool: they waited forever)
        listing = share.data("/apps/fluxshare/getfolder/stall")
        assert sorted(entry["name"] for entry in listing) == [f"part{i}.bin" for i in range(6)]
        upload(share, "", {"after.txt": b"after"})
        reply = share.node.get("/apps/fluxshare/getfile/after.txt", headers=share.headers)
        assert reply.content == b"after"
    finally:
        for connection in stalled:
            connection.close()
    assert share.data("/apps/fluxshare/removefolder/stall") == {"message": "Folder Removed"}
    assert share.data("/apps/fluxshare/removefile/after.txt") == {"message": "File Removed"}


def test_a_zip_nobody_reads_gives_its_thread_back(tmp_path: Path) -> None:
    """[files] zip_stall_seconds: a zip whose client reads nothing that long is stopped,
    so four stalled zips (the zip pool's threads) do not keep a fifth from being made."""
    node, admin = start_system_node(tmp_path, "[files]\nzip_stall_seconds = 2\n")
    try:
        headers = admin.login(node.url)
        folder = node.data_dir / "apps" / "ZelShare" / "stall"
        folder.mkdir(parents=True)
        for index in range(4):
            (folder / f"part{index}.bin").write_bytes(os.urandom(8 * 1024 * 1024))
        (node.data_dir / "apps" / "ZelShare" / "small").mkdir()
        (node.data_dir / "apps" / "ZelShare" / "small" / "a.txt").write_text("a")
        stalled = []
        try:
            for _ in range(4):
                connection = socket.create_connection((node.host, node.port))
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                connection.sendall(
                    f"GET /apps/fluxshare/downloadfolder/stall HTTP/1.1\r\n"
                    f"host: {node.host}\r\nzelidauth: {headers['zelidauth']}\r\n\r\n".encode()
                )
                assert connection.recv(12).startswith(b"HTTP/1.1 200")
                stalled.append(connection)
            # without the stall limit this waits for a zip thread forever (read timeout)
            reply = node.get("/apps/fluxshare/downloadfolder/small", headers=headers)
            assert zipfile.ZipFile(io.BytesIO(reply.content)).read("a.txt") == b"a"
        finally:
            for connection in stalled:
                connection.close()
    finally:
        node.stop()
