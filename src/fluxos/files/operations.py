"""The volume browser's long operations (upstream 8.18): what is checked before a job is
started (so a refusal is an answer, not a job that fails at once), then the job.

Refused before any job: missing operands, §6 path rules and links out of the volume, a
missing source or destination folder, a source equal to the destination or a folder
moved, copied or archived into itself, an existing destination without `overwrite`, a
name that is not an archive, a copy larger than the volume's free space, an app under a
backup or restore, and a second operation while one runs for the same app (503)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxos.blocking import BlockingRunner
from fluxos.errors import BadParameter, FluxError
from fluxos.files import volumeops
from fluxos.files.backuptasks import AppHolds
from fluxos.files.jobs import RETRY_AFTER_SECONDS, Job, Jobs
from fluxos.files.paths import Root, os_failure
from fluxos.files.volumeops import Operand, archive_format
from fluxos.files.volumes import AppVolumes

KINDS = {
    "move": ("fileoperation.move", "Moving..."),
    "copy": ("fileoperation.copy", "Copying..."),
    "compress": ("fileoperation.compress", "Compressing..."),
    "extract": ("fileoperation.extract", "Extracting..."),
}


class Busy(FluxError):
    """A second operation for an app while one runs (503 with Retry-After)."""

    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, message: str) -> None:
        super().__init__(message, http_status=503, name="Busy", code=503)


@dataclass
class Request:
    app_name: str | None
    component: str | None
    source: str | None
    destination: str | None
    overwrite: bool


def wants_overwrite(value: Any) -> bool:
    """Only a real `true` (or the string a form sends) is consent to replace."""
    return value is True or value == "true"


def _operand(root: Root, path: Path) -> Operand:
    return Operand(path, path.parent, path.name)


def _shown(root: Root, path: Path) -> str:
    return str(root.relative(path))


def _resolve(root: Root, request: Request, kind: str) -> tuple[Operand, Operand]:
    """Both operands checked as §6 says; the destination's folder must exist."""
    source = root.entry(request.source)
    if str(source) in (str(root.base), root.real_base):
        raise BadParameter("source must name something inside the volume")
    if not os.path.lexists(source):
        raise BadParameter(
            f"ENOENT: no such file or directory, '{_shown(root, source)}'", code="ENOENT"
        )
    target = root.creatable(request.destination)
    if target == root.base:
        raise BadParameter("destination must name something inside the volume")
    parent = root.verify_real(target.parent)
    if not parent.is_dir():
        raise BadParameter(
            f"ENOENT: no such file or directory, '{_shown(root, target.parent)}'", code="ENOENT"
        )
    destination = Operand(parent / target.name, parent, target.name)
    real_source = Path(os.path.realpath(source.parent)) / source.name
    if real_source == destination.path:
        raise BadParameter("Source and destination are the same")
    source_is_dir = stat.S_ISDIR(os.lstat(source).st_mode)
    if source_is_dir and destination.path.is_relative_to(real_source) and kind != "extract":
        raise BadParameter(volumeops.INSIDE_SOURCE)
    if os.path.lexists(destination.path) and not request.overwrite:
        raise BadParameter(volumeops.EXISTS, code="EEXIST")
    if kind == "compress" and archive_format(destination.name) is None:
        raise BadParameter("Destination must end in .zip, .tar.gz or .tgz")
    if kind == "extract" and (archive_format(source.name) is None or source_is_dir):
        raise BadParameter("Source must be a .zip, .tar.gz or .tgz archive")
    return _operand(root, source), destination


class VolumeOperations:
    """`POST /apps/moveobject|copyobject|compressobject|extractobject`."""

    def __init__(
        self, volumes: AppVolumes, runner: BlockingRunner, jobs: Jobs, holds: AppHolds
    ) -> None:
        self.volumes = volumes
        self.runner = runner
        self.jobs = jobs
        self.holds = holds

    async def start(self, kind: str, request: Request, owner: str) -> Job:
        if not request.app_name or not request.component:
            raise BadParameter("appname and component parameters are mandatory")
        if not request.source:
            raise BadParameter("source parameter is mandatory")
        if not request.destination:
            raise BadParameter("destination parameter is mandatory")
        app = request.app_name.lower()
        root = Root(await self.volumes.component_volume(request.app_name, request.component))
        try:
            source, destination = await self.runner.run(_resolve, root, request, kind)
            free = await self.runner.run(volumeops.free_bytes, root, destination.parent)
            needed = None
            if kind == "copy":
                needed = await self.runner.run(_size, root, source)
                if needed > free:
                    raise BadParameter(
                        f"{volumeops.NO_SPACE}: {needed} bytes needed, {free} available",
                        code="ENOSPC",
                    )
        except OSError as error:
            raise os_failure(error, root, root.base) from None
        if self.holds.holds(app):
            raise BadParameter(f"Backup or restore of app {request.app_name} is in progress")
        running = self.jobs.running_for(app)
        if running is not None:
            raise Busy(
                f"An operation is already running for app {request.app_name}: "
                f"{running.job_id} ({running.kind})"
            )
        name, status = KINDS[kind]
        work = self._work(kind, root, source, destination, request.overwrite, free)
        return self.jobs.start(name, owner, app, status, work, bytes_total=needed)

    def _work(
        self,
        kind: str,
        root: Root,
        source: Operand,
        destination: Operand,
        overwrite: bool,
        free: int,
    ) -> Any:
        runner = self.runner

        async def run(job: Job) -> None:
            try:
                if kind == "move":
                    await runner.run(volumeops.move, root, source, destination, job, overwrite)
                elif kind == "copy":
                    await runner.run(
                        volumeops.copy, root, source, destination, job, overwrite, free
                    )
                else:
                    archive = source.name if kind == "extract" else destination.name
                    action = volumeops.compress if kind == "compress" else volumeops.extract
                    await runner.run(
                        action,
                        root,
                        source,
                        destination,
                        job,
                        overwrite,
                        free,
                        archive_format(archive) or volumeops.TAR,
                    )
            except OSError as error:
                raise os_failure(error, root, destination.path) from None

        return run


def _size(root: Root, source: Operand) -> int:
    fd = root.open_directory(root.verify_real(source.parent))
    try:
        return volumeops.tree_bytes(fd, source.name)
    finally:
        os.close(fd)
