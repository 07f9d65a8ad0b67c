"""The files area's facade: FluxShare, the volume browser, backups and uploads, as the
`/apps/fluxshare/*`, `/apps/*object|folder|file`, `/backup/*` and `/ioutils/*` routes use
them."""

from __future__ import annotations

import logging
from pathlib import Path

from fluxos.blocking import BlockingRunner
from fluxos.clock import Clock
from fluxos.files.backups import BackupFiles
from fluxos.files.backuptasks import AppControl, AppHolds, BackupTasks
from fluxos.files.browser import VolumeBrowser
from fluxos.files.fluxshare import SHARE_MAX_UPLOAD, FluxShare, TierSource
from fluxos.files.jobs import Jobs
from fluxos.files.operations import VolumeOperations
from fluxos.files.remote import RemoteFiles, Resolver
from fluxos.files.transfer import ZIP_STALL_SECONDS, ZipStreams
from fluxos.files.volumes import AppVolumes
from fluxos.storage.database import Database
from fluxos.storage.fluxshare import ShareStore

log = logging.getLogger(__name__)


class FilesService:
    """Everything a file route asks; built by the node from its settings."""

    def __init__(
        self,
        *,
        database: Database,
        share_folder: Path,
        apps_folder: Path,
        volumes: AppVolumes,
        tier: TierSource,
        clock: Clock,
        control: AppControl,
        holds: AppHolds,
        share_max_upload: int = SHARE_MAX_UPLOAD,
        upload_max: int = 10 * 1024**3,
        restore_max_download: int = 50 * 1024**3,
        remote_allowed: tuple[str, ...] = (),
        resolver: Resolver | None = None,
        zip_stall_seconds: float = ZIP_STALL_SECONDS,
    ) -> None:
        self.runner = BlockingRunner("files", max_workers=8)
        # a zip stream holds its thread while its client reads slowly: a pool of its own
        self.zip_runner = BlockingRunner("zip streams", max_workers=4)
        zips = ZipStreams(self.zip_runner, zip_stall_seconds)
        self.apps_folder = apps_folder
        self.volumes = volumes
        self.upload_max = upload_max
        self.browser = VolumeBrowser(volumes, self.runner, upload_max, zips)
        self.jobs = Jobs(clock)
        self.operations = VolumeOperations(volumes, self.runner, self.jobs, holds)
        self.backups = BackupFiles(volumes, self.runner)
        self.remote = RemoteFiles(resolver, allowed=remote_allowed)
        self.holds = holds
        self.tasks = BackupTasks(
            volumes,
            control,
            holds,
            self.remote,
            self.runner,
            restore_max_download=restore_max_download,
            busy=self._operation_running,
        )
        self.share = FluxShare(
            share_folder,
            ShareStore(database),
            tier,
            clock,
            self.runner,
            max_upload=share_max_upload,
            zips=zips,
        )

    def _operation_running(self, app_name: str) -> str | None:
        job = self.jobs.running_for(app_name.lower())
        if job is None:
            return None
        return (
            f"A file operation is running for app {app_name}: {job.job_id} ({job.kind}); "
            "wait for it to end or cancel it"
        )

    def start(self) -> None:
        """Create the FluxShare folder (upstream never did, see §2)."""
        try:
            self.share.ensure_directory()
        except OSError as error:
            log.warning("FluxShare folder %s cannot be created: %s", self.share.root.base, error)

    async def aclose(self) -> None:
        await self.jobs.aclose()
        await self.remote.close()
        self.runner.close()
        self.zip_runner.close()
