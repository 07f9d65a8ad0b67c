"""The backup files of an app's component volumes (files-and-sync.md §3): volume usage,
the archives in `backup/{local,remote,upload}`, their removal and download.

Upstream accepted any absolute path under the apps folder that contained
`/backup/<type>/`, whatever the `appname`: the owner of app A could list, download (after a
`chmod 777`) or delete app B's backups. Here an absolute path is accepted only inside one
of `appname`'s own component volumes (the runtime's directories, see `volumes.py`), below
`backup/local`, `backup/remote` or `backup/upload`, and goes through the volume's `Root`
like every other file path."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

import psutil

from fluxos.blocking import BlockingRunner
from fluxos.errors import BadParameter, NotFound
from fluxos.files.fluxshare import Download
from fluxos.files.paths import Root, os_failure
from fluxos.files.transfer import file_chunks, open_for_download
from fluxos.files.volumes import AppVolumes

BACKUP_TYPES = ("local", "remote", "upload")
PATH_FAILED = "Path validation failed.."
NO_MOUNT = "No matching mount found"
UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
LOCAL_KEEP_SECONDS = 24 * 3600
CLEAN_EVERY_SECONDS = 25 * 60
_DF_FIELDS = ("filesystem", "size", "used", "available", "capacity", "mount")


def unit_of(multiplier: str | None, default: str) -> int:
    """Bytes per unit of upstream's multipliers (1024 based), the parameter named."""
    name = (multiplier or default).upper()
    if name not in UNITS:
        raise BadParameter(f"multiplier must be one of B, KB, MB, GB, got {multiplier!r}")
    return UNITS[name]


def decimals_of(decimal: str | None) -> int:
    text = decimal if decimal not in (None, "") else "0"
    if not str(text).isdigit() or int(str(text)) > 20:
        raise BadParameter(f"decimal must be a whole number from 0 to 20, got {decimal!r}")
    return int(str(text))


def in_units(size: int, unit: int, decimals: int) -> float | int:
    value = round(size / unit, decimals)
    return int(value) if decimals == 0 else value


def _device_of(mount: Path) -> str:
    for partition in psutil.disk_partitions(all=True):
        if partition.mountpoint == str(mount):
            return partition.device
    return ""


def volume_usage(volume: Path, unit: int, decimals: int) -> dict[str, Any]:
    """`df` of the volume: its filesystem, size, used, available, capacity and mount."""
    info = os.statvfs(volume)
    size = info.f_blocks * info.f_frsize
    available = info.f_bavail * info.f_frsize
    used = (info.f_blocks - info.f_bfree) * info.f_frsize
    capacity = used / (used + available) if used + available else 0.0
    return {
        "filesystem": _device_of(volume),
        "size": in_units(size, unit, decimals),
        "used": in_units(used, unit, decimals),
        "available": in_units(available, unit, decimals),
        "capacity": round(capacity, 2),
        "mount": str(volume),
    }


class BackupFiles:
    """`/backup/getvolumedataofcomponent|getlocalbackuplist|removebackupfile|
    downloadlocalfile`, each bound to the caller's app."""

    def __init__(self, volumes: AppVolumes, runner: BlockingRunner) -> None:
        self.volumes = volumes
        self.runner = runner

    async def volume_data(
        self,
        app_name: str | None,
        component: str | None,
        multiplier: str | None,
        decimal: str | None,
        fields: str | None,
    ) -> dict[str, Any]:
        if not app_name or not component:
            raise BadParameter("Both the appname and component parameters are required")
        unit, decimals = unit_of(multiplier, "MB"), decimals_of(decimal)
        wanted = [f for f in (fields or "").split(",") if f]
        unknown = [f for f in wanted if f not in _DF_FIELDS]
        if unknown:
            raise BadParameter(f"fields must be among {', '.join(_DF_FIELDS)}, got {unknown}")
        volume = await self.volumes.component_volume(app_name, component)
        usage = await self.runner.run(volume_usage, volume, unit, decimals)
        return {key: value for key, value in usage.items() if not wanted or key in wanted}

    async def backup_path(
        self, app_name: str, user_path: str, *, folder: bool, link_itself: bool = False
    ) -> tuple[Root, Path]:
        """The volume root and resolved path of an absolute backup path of `app_name`:
        inside one of its component volumes, at `backup/<type>` (`folder`) or below it;
        `link_itself`: a link is the link (removal), else what it names inside the root."""
        if not user_path.startswith("/"):
            raise BadParameter(PATH_FAILED)
        for volume in (await self.volumes.app_volumes(app_name)).values():
            prefix = str(volume).rstrip("/") + "/"
            if not user_path.startswith(prefix):
                continue
            root = Root(volume)
            relative = user_path[len(prefix) :]
            try:
                parts = PurePosixPath(str(root.relative(root.lexical(relative)))).parts
            except BadParameter:
                raise BadParameter(PATH_FAILED) from None
            depth_ok = len(parts) >= 2 if folder else len(parts) >= 3
            if not depth_ok or parts[0] != "backup" or parts[1] not in BACKUP_TYPES:
                raise BadParameter(PATH_FAILED)
            try:
                return root, root.entry(relative) if link_itself else root.existing(relative)
            except BadParameter:
                raise BadParameter(PATH_FAILED) from None
        raise BadParameter(PATH_FAILED)

    async def local_list(
        self,
        app_name: str | None,
        user_path: str | None,
        multiplier: str | None,
        decimal: str | None,
    ) -> list[dict[str, Any]]:
        if not user_path or not app_name:
            raise BadParameter("path and appname parameters are required")
        unit, decimals = unit_of(multiplier, "B"), decimals_of(decimal)
        root, directory = await self.backup_path(app_name, user_path, folder=True)
        entries = await self.runner.run(_archives, root, directory)
        if not entries:
            raise NotFound(NO_MOUNT)
        return [
            {
                "name": name,
                "create": str(int(created * 1000)),
                "size": in_units(size, unit, decimals),
            }
            for name, created, size in entries
        ]

    async def clean_local(self, app_names: list[str], now: float) -> list[str]:
        """Upstream's housekeeping (every 25 min): files of the apps' `backup/local`
        older than a day go. The removed paths, relative to the apps' volumes."""
        removed = []
        for app_name in app_names:
            try:
                volumes = await self.volumes.app_volumes(app_name)
            except (BadParameter, NotFound):
                continue
            for volume in volumes.values():
                names = await self.runner.run(_clean_folder, Root(volume), now - LOCAL_KEEP_SECONDS)
                removed += [f"{volume.name}/backup/local/{name}" for name in names]
        return removed

    async def remove(self, app_name: str | None, user_path: str | None) -> dict[str, bool]:
        if not user_path or not app_name:
            raise BadParameter("filepath and appname parameters are mandatory")
        root, path = await self.backup_path(app_name, user_path, folder=False, link_itself=True)
        return {"message": await self.runner.run(_unlink_file, root, path)}

    async def download(self, app_name: str | None, user_path: str | None) -> Download:
        if not user_path or not app_name:
            raise BadParameter("filepath and appname parameters are mandatory")
        root, path = await self.backup_path(app_name, user_path, folder=False)
        try:
            opened = await self.runner.run(open_for_download, root, path)
        except OSError as error:
            raise os_failure(error, root, path) from None
        return Download(
            file_chunks(opened, self.runner), opened.name, "application/octet-stream", opened.size
        )


def _clean_folder(root: Root, before: float) -> list[str]:
    """Remove the files of `backup/local` made before `before` (s); their names."""
    try:
        fd = root.open_directory(root.existing("backup/local"))
    except (OSError, BadParameter):
        return []
    removed = []
    try:
        for name in os.listdir(fd):
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode) or min(info.st_ctime, info.st_mtime) >= before:
                continue
            os.unlink(name, dir_fd=fd)
            removed.append(name)
    finally:
        os.close(fd)
    return removed


def _archives(root: Root, directory: Path) -> list[tuple[str, float, int]]:
    """The `.tar.gz` files of a backup folder: name, creation time (s), size."""
    try:
        fd = root.open_directory(directory)
    except OSError:
        return []
    try:
        found = []
        for name in sorted(os.listdir(fd)):
            if ".tar.gz" not in name:
                continue
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISREG(info.st_mode):
                found.append((name, min(info.st_ctime, info.st_mtime), info.st_size))
        return found
    finally:
        os.close(fd)


def _unlink_file(root: Root, path: Path) -> bool:
    """Upstream's `removeFile`: True once removed, False if it could not be."""
    try:
        fd = root.open_directory(root.verify_real(path.parent))
    except (OSError, BadParameter):
        return False
    try:
        info = os.stat(path.name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            return False
        os.unlink(path.name, dir_fd=fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
