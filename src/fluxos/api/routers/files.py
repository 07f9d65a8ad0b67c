"""The files routes: FluxShare (files-and-sync.md §2), the volume browser (§4), backups
(§3) and uploads (§5). Paths are resolved by `fluxos.files.paths.Root`; permissions come
from routes.tsv and are checked before any body byte is read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import Response

from fluxos.api.envelope import Message, json_response, success_body
from fluxos.api.routing import Call, FluxRouter
from fluxos.api.streams import GIB, MIB, Streamed
from fluxos.errors import BadParameter, FluxError, NotFound, Unauthorized
from fluxos.files.backups import decimals_of, in_units, unit_of
from fluxos.files.fluxshare import Download
from fluxos.files.jobs import RETRY_AFTER_SECONDS, status_url
from fluxos.files.multipart import MultipartUpload
from fluxos.files.operations import Request as OperationRequest
from fluxos.files.operations import wants_overwrite
from fluxos.files.service import FilesService
from fluxos.identity import parse_zelidauth
from fluxos.wire.permissions import Permission

router = FluxRouter("FluxShare", lambda node: node.files)
Files = Call[FilesService]

MULTIPART_OVERHEAD = MIB
OWNER_OR_TEAM = Permission.APPOWNERORFLUXTEAM
"""upstream 8.18: what takes an app's files off the node (downloads, the backup routes) is
for the app's owner and the Flux team, not for the node's owner who hosts it"""
SHARE_UPLOAD_BODY = 5 * GIB + MULTIPART_OVERHEAD


def _sent(download: Download) -> Streamed:
    headers = {"content-length": str(download.size)} if download.size is not None else None
    return Streamed(
        download.chunks,
        media_type=download.media_type,
        filename=download.filename,
        headers=headers,
    )


def _progress(call: Files, upload: MultipartUpload) -> Streamed:
    stream = call.stream()
    expected = call.request.headers.get("content-length")
    chunks: AsyncIterator[str] = upload.progress(
        call.request.headers.get("content-type", ""),
        stream,
        int(expected) if expected and expected.isdigit() else None,
    )
    # upstream sets no content type on its progress stream
    return Streamed(chunks, media_type="text/plain", reads_body=True)


# -- FluxShare ---------------------------------------------------------------------------
@router.get("/apps/fluxshare/getfile/:file?/:token?", permission=Permission.PUBLIC)
async def get_file(call: Files) -> Streamed:
    """Download a FluxShare file: the node owner any file, anyone else a shared one with
    its token (a folder comes as a zip)."""
    if await call.authorized(Permission.ADMIN):
        return _sent(await call.service.share.download(call.text("file")))
    return _sent(await call.service.share.token_download(call.text("file"), call.text("token")))


@router.get("/apps/fluxshare/getfolder/:folder?")
async def get_folder(call: Files) -> list[dict[str, Any]]:
    """The entries of a FluxShare folder with sizes and share tokens."""
    return await call.service.share.folder(call.text("folder"))


@router.get("/apps/fluxshare/createfolder/:folder?")
async def create_folder(call: Files) -> Message:
    """Create a FluxShare folder (its parent must exist)."""
    await call.service.share.create_folder(call.text("folder"))
    return Message("Folder Created")


@router.post(
    "/apps/fluxshare/uploadfile/:folder?",
    body="stream",
    max_body=SHARE_UPLOAD_BODY,
    response="stream",
)
async def upload_file(call: Files) -> Streamed:
    """Upload files (multipart) into a FluxShare folder, streamed to disk; answers
    upstream's progress stream."""
    upload = await call.service.share.upload(call.text("folder"))
    return _progress(call, upload)


@router.get("/apps/fluxshare/removefile/:file?")
async def remove_file(call: Files) -> Message:
    """Remove a FluxShare file and its share record."""
    await call.service.share.remove_file(call.text("file"))
    return Message("File Removed")


@router.get("/apps/fluxshare/removefolder/:folder?")
async def remove_folder(call: Files) -> Message:
    """Remove a FluxShare folder, its contents and their share records."""
    await call.service.share.remove_folder(call.text("folder"))
    return Message("Folder Removed")


@router.get("/apps/fluxshare/fileexists/:file?")
async def file_exists(call: Files) -> dict[str, bool]:
    """Whether a FluxShare path exists."""
    return {"fileExists": await call.service.share.file_exists(call.text("file"))}


@router.get("/apps/fluxshare/stats")
async def stats(call: Files) -> dict[str, float]:
    """FluxShare space in GB: available, used and total."""
    return await call.service.share.stats()


@router.get("/apps/fluxshare/sharefile/:file?")
async def share_file(call: Files) -> dict[str, str]:
    """Share a file: its record `{name, token}` (the stored one if shared already)."""
    return await call.service.share.share(call.text("file"))


@router.get("/apps/fluxshare/unsharefile/:file?")
async def unshare_file(call: Files) -> Message:
    """Stop sharing a file: its token stops working."""
    await call.service.share.unshare(call.text("file"))
    return Message("File sharing disabled")


@router.get("/apps/fluxshare/sharedfiles")
async def shared_files(call: Files) -> list[dict[str, str]]:
    """Every share record."""
    return await call.service.share.shared()


@router.get("/apps/fluxshare/rename/:oldpath?/:newname?")
async def rename(call: Files) -> Message:
    """Rename a FluxShare file or folder within its folder (its share records go)."""
    await call.service.share.rename(call.text("oldpath"), call.text("newname"))
    return Message("Rename successful")


@router.get("/apps/fluxshare/downloadfolder/:folder?", response="stream")
async def download_folder(call: Files) -> Streamed:
    """A FluxShare folder as a zip, streamed."""
    return _sent(await call.service.share.download_folder(call.text("folder")))


# -- volume browser (appownerabove: the app's owner, the Flux team, the node owner) ------
@router.get("/apps/getfolderinfo/:appname?/:component?/:folder?")
async def folder_info(call: Files) -> list[dict[str, Any]]:
    """The entries of a folder in an app component's volume."""
    return await call.service.browser.folder_info(
        call.text("appname"), call.text("component"), call.text("folder")
    )


@router.get("/apps/createfolder/:appname?/:component?/:folder?")
async def apps_create_folder(call: Files) -> Message:
    """Create a folder in an app component's volume."""
    await call.service.browser.create_folder(
        call.text("appname"), call.text("component"), call.text("folder")
    )
    return Message("Folder Created")


@router.get("/apps/renameobject/:appname?/:component?/:oldpath?/:newname?")
async def rename_object(call: Files) -> Message:
    """Rename a file or folder within its folder of an app component's volume."""
    await call.service.browser.rename(
        call.text("appname"), call.text("component"), call.text("oldpath"), call.text("newname")
    )
    return Message("Rename successful")


@router.get("/apps/removeobject/:appname?/:component?/:object?")
async def remove_object(call: Files) -> Message:
    """Remove a file or folder (a link: the link) from an app component's volume."""
    await call.service.browser.remove(
        call.text("appname"), call.text("component"), call.text("object")
    )
    return Message("File Removed")


@router.get(
    "/apps/downloadfile/:appname?/:component?/:file?", response="stream", permission=OWNER_OR_TEAM
)
async def download_file(call: Files) -> Streamed:
    """Download a file of an app component's volume, streamed."""
    return _sent(
        await call.service.browser.download_file(
            call.text("appname"), call.text("component"), call.text("file")
        )
    )


@router.get(
    "/apps/downloadfolder/:appname?/:component?/:folder?",
    response="stream",
    permission=OWNER_OR_TEAM,
)
async def apps_download_folder(call: Files) -> Streamed:
    """A folder of an app component's volume as a zip, streamed."""
    return _sent(
        await call.service.browser.download_folder(
            call.text("appname"), call.text("component"), call.text("folder")
        )
    )


@router.post(
    "/ioutils/fileupload/:type?/:appname?/:component?/:folder?/:filename?",
    body="stream",
    max_body=10 * GIB + MULTIPART_OVERHEAD,
    response="stream",
)
async def file_upload(call: Files) -> Streamed:
    """Upload files (multipart) into an app component's volume (`type=backup`: its
    backup/upload folder), streamed to disk; answers upstream's progress stream."""
    upload = await call.service.browser.upload(
        call.text("type"),
        call.text("appname"),
        call.text("component"),
        call.text("folder"),
        call.text("filename"),
    )
    return _progress(call, upload)


# -- backups (appownerorfluxteam; every path bound to the caller's app) -------------------
@router.get(
    "/backup/getvolumedataofcomponent/:appname?/:component?/:multiplier?/:decimal?/:fields?",
    permission=OWNER_OR_TEAM,
)
async def volume_data(call: Files) -> dict[str, Any]:
    """The component volume's df row: filesystem, size, used, available, capacity, mount."""
    return await call.service.backups.volume_data(
        call.text("appname"),
        call.text("component"),
        call.text("multiplier"),
        call.text("decimal"),
        call.text("fields"),
    )


@router.get(
    "/backup/getremotefilesize/:fileurl?/:multiplier?/:decimal?/:number?/:appname?",
    permission=OWNER_OR_TEAM,
)
async def remote_file_size(call: Files) -> float | int:
    """The size a remote archive's HEAD announces (public addresses only)."""
    url, app_name = call.text("fileurl"), call.text("appname")
    if not url or not app_name:
        raise BadParameter("fileurl and appname parameters are mandatory")
    unit, decimals = unit_of(call.text("multiplier"), "B"), decimals_of(call.text("decimal"))
    try:
        size = await call.service.remote.size(url)
    except FluxError as error:
        raise FluxError(f"Error fetching file size: {error.message}") from None
    return in_units(size, unit, decimals)


@router.get(
    "/backup/getlocalbackuplist/:path?/:multiplier?/:decimal?/:number?/:appname?",
    permission=OWNER_OR_TEAM,
)
async def local_backups(call: Files) -> list[dict[str, Any]]:
    """The `.tar.gz` archives of one of the app's backup folders (an absolute path)."""
    return await call.service.backups.local_list(
        call.text("appname"), call.text("path"), call.text("multiplier"), call.text("decimal")
    )


@router.get("/backup/removebackupfile/:filepath?/:appname?", permission=OWNER_OR_TEAM)
async def remove_backup(call: Files) -> dict[str, bool]:
    """Remove one of the app's backup archives: `{message: true|false}`."""
    return await call.service.backups.remove(call.text("appname"), call.text("filepath"))


@router.get(
    "/backup/downloadlocalfile/:filepath?/:appname?", response="stream", permission=OWNER_OR_TEAM
)
async def download_backup(call: Files) -> Streamed:
    """Download one of the app's backup archives, streamed (its mode left as it is)."""
    return _sent(await call.service.backups.download(call.text("appname"), call.text("filepath")))


def _task_lines(start: Callable[[dict[str, Any]], AsyncIterator[str]], call: Files) -> Streamed:
    try:
        lines = start(call.object_body())
    except FluxError as error:  # upstream answers its checks as one text line
        lines = _one_line(error.message)
    return Streamed(lines, media_type="text/plain")


async def _one_line(text: str) -> AsyncIterator[str]:
    yield f"{text}\n"


@router.post("/apps/appendbackuptask", response="stream")
async def append_backup_task(call: Files) -> Streamed:
    """Back up components' appdata to `backup/local` with the app stopped and out of
    Syncthing; progress lines as they happen."""
    return _task_lines(call.service.tasks.backup, call)


@router.post("/apps/appendrestoretask", response="stream")
async def append_restore_task(call: Files) -> Streamed:
    """Wipe components' appdata and unpack their archive (local, remote or upload) with the
    app stopped and out of Syncthing; progress lines as they happen."""
    return _task_lines(call.service.tasks.restore, call)


# -- the volume browser's long operations (upstream 8.18), run as jobs --------------------
def _caller(call: Files) -> str:
    credentials = parse_zelidauth(call.zelidauth)
    if credentials is None:  # the route's level was granted, so this does not happen
        raise Unauthorized()
    return credentials.zelid


async def _start(call: Files, kind: str) -> Response:
    body = call.object_body()
    job = await call.service.operations.start(
        kind,
        OperationRequest(
            call.text("appname"),
            call.text("component"),
            call.text("source"),
            call.text("destination"),
            wants_overwrite(body.get("overwrite", call.request.query_params.get("overwrite"))),
        ),
        _caller(call),
    )
    url = status_url(job.job_id)
    response = json_response(
        success_body({"jobId": job.job_id, "statusUrl": url, "status": job.status}),
        status_code=202,
    )
    response.headers.update(
        {"location": url, "operation-id": job.job_id, "retry-after": str(RETRY_AFTER_SECONDS)}
    )
    return response


_OPERATION = {"permission": Permission.APPOWNERABOVE, "params": ()}


@router.post("/apps/moveobject", **_OPERATION)
async def move_object(call: Files) -> Response:
    """Move a file or folder to `destination` (its full new path) within the app
    component's volume: 202 with the job to poll at /apps/operations/:jobId."""
    return await _start(call, "move")


@router.post("/apps/copyobject", **_OPERATION)
async def copy_object(call: Files) -> Response:
    """Copy a file or folder to `destination` within the volume (a job: 202)."""
    return await _start(call, "copy")


@router.post("/apps/compressobject", **_OPERATION)
async def compress_object(call: Files) -> Response:
    """Archive a file or folder's contents into `destination` (.zip, .tar.gz or .tgz)
    kept on the volume (a job: 202)."""
    return await _start(call, "compress")


@router.post("/apps/extractobject", **_OPERATION)
async def extract_object(call: Files) -> Response:
    """Unpack the archive `source` (.zip, .tar.gz or .tgz) into the new folder
    `destination` (a job: 202)."""
    return await _start(call, "extract")


def _job(call: Files) -> tuple[str, str]:
    job_id = call.text("jobId")
    if not job_id:
        raise BadParameter("Missing jobId", http_status=400)
    return job_id, _caller(call)


def _operation_not_found() -> NotFound:
    return NotFound("Operation not found", http_status=404)


@router.get("/apps/operations/:jobId", permission=Permission.USER, app_param=None)
async def get_operation(call: Files) -> Response:
    """A file operation this caller started: status (Running, Succeeded, Failed,
    Canceled), progress lines, error, bytes done; unknown and not-yours are one 404."""
    job_id, owner = _job(call)
    job = call.service.jobs.get(job_id, owner)
    if job is None:
        raise _operation_not_found()
    response = json_response(success_body(job.view()))
    if job.status == "Running":
        response.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
    return response


@router.delete("/apps/operations/:jobId", permission=Permission.USER, app_param=None)
async def cancel_operation(call: Files) -> dict[str, Any]:
    """Ask a running file operation to stop (it ends Canceled at its next step, or
    Succeeded if it had already published)."""
    job_id, owner = _job(call)
    cancelled = call.service.jobs.cancel(job_id, owner)
    if cancelled is None:
        raise _operation_not_found()
    job, requested = cancelled
    return {"jobId": job.job_id, "cancelRequested": requested, "status": job.status}
