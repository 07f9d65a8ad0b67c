"""FluxShare: the node owner's file share (files-and-sync.md §2).

Files live under one root (`<apps folder>/ZelShare`); every path a client names goes
through that `Root` (lexical rules and real-path checks, which upstream lacked here). Share
records are `{name, token}` with `name` = `encodeURIComponent(<relative path>)`; anyone
holding a record's token may download that file (a folder comes as a zip).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import psutil

from fluxos.blocking import BlockingRunner
from fluxos.clock import Clock
from fluxos.errors import BadParameter, FluxError, Unauthorized
from fluxos.files.multipart import MultipartUpload, UploadRules
from fluxos.files.paths import Root, check_relative, os_failure
from fluxos.files.transfer import ZipStreams, file_chunks, open_for_download
from fluxos.storage.fluxshare import ShareStore

log = logging.getLogger(__name__)

GIB = 1024**3
SHARE_MAX_UPLOAD = 5 * GIB
LOCKED_GB = {"cumulus": 220, "nimbus": 440, "stratus": 880}
"""Disk space (GB) a node of each tier keeps for apps; FluxShare gets the rest, plus 2."""


class TierSource(Protocol):
    """The node's tier: `cumulus`, `nimbus` or `stratus` (None when unknown)."""

    async def tier(self) -> str | None: ...


def encode_name(relative: str) -> str:
    """JavaScript's `encodeURIComponent`."""
    return quote(relative, safe="-_.!~*'()")


def share_token(name: str, now_ms: int) -> str:
    """Upstream's token: SHA-256 hex of name + time (ms) + a random number (here from
    the OS's CSPRNG, not Math.random)."""
    seed = name + str(now_ms) + str(secrets.randbelow(999_999_999_999_999))
    return hashlib.sha256(seed.encode()).hexdigest()


@dataclass(frozen=True)
class Download:
    """A download ready to be sent: its chunks, name and (for files) size."""

    chunks: AsyncIterator[bytes]
    filename: str
    media_type: str
    size: int | None = None


def tree_size(path: Path) -> int:
    """Bytes of the regular files below `path`, links not followed."""
    total = 0
    for directory, _subdirs, names in os.walk(path, followlinks=False):
        for name in names:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


def disk_total_gb() -> int:
    """Σ of the node's disks (GiB, whole), as upstream's df filter: real `/dev/` devices
    that are not loops and not boot mounts, plus a loop-backed `/`."""
    total = 0
    seen: set[str] = set()
    for partition in psutil.disk_partitions(all=False):
        device, mount = partition.device, partition.mountpoint
        real_disk = "/dev/" in device and "loop" not in device and "boot" not in mount
        if not (real_disk or ("loop" in device and mount == "/")) or device in seen:
            continue
        seen.add(device)
        try:
            total += round(psutil.disk_usage(mount).total / GIB)
        except OSError:
            continue
    return total


def entry_view(path: Path, info: os.stat_result, size: int) -> dict[str, Any]:
    from fluxos.identity.phrases import js_iso

    return {
        "name": path.name,
        "size": size,
        "isDirectory": stat.S_ISDIR(info.st_mode),
        "isFile": stat.S_ISREG(info.st_mode),
        "isSymbolicLink": stat.S_ISLNK(info.st_mode),
        # Linux's stat gives no birth time to Python 3.11; the change time stands in
        "createdAt": js_iso(int(min(info.st_ctime, info.st_mtime) * 1000)),
        "modifiedAt": js_iso(int(info.st_mtime * 1000)),
    }


def list_directory(root: Root, directory: Path) -> list[tuple[Path, os.stat_result, int]]:
    """Entries of `directory` with their lstat and size (folders: their tree's size)."""
    fd = root.open_directory(directory)
    try:
        names = sorted(os.listdir(fd))
    finally:
        os.close(fd)
    entries = []
    for name in names:
        path = directory / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        size = tree_size(path) if stat.S_ISDIR(info.st_mode) else info.st_size
        entries.append((path, info, size))
    return entries


class FluxShare:
    """The FluxShare routes' rules (all admin but the token download)."""

    def __init__(
        self,
        directory: Path,
        store: ShareStore,
        tier: TierSource,
        clock: Clock,
        runner: BlockingRunner,
        *,
        max_upload: int = SHARE_MAX_UPLOAD,
        zips: ZipStreams | None = None,
    ) -> None:
        self.root = Root(directory)
        self.zips = zips or ZipStreams(runner)
        self.store = store
        self.tier_source = tier
        self.clock = clock
        self.runner = runner
        self.max_upload = max_upload

    def ensure_directory(self) -> None:
        self.root.base.mkdir(parents=True, exist_ok=True)

    def _relative(self, user_path: str) -> str:
        return "/".join(check_relative(user_path))

    # -- listing and folders ------------------------------------------------------------
    async def folder(self, folder: str | None) -> list[dict[str, Any]]:
        directory = self.root.existing(folder or "")
        prefix = self._relative(folder or "")
        shared = {record["name"]: record for record in await self.store.all()}
        try:
            entries = await self.runner.run(list_directory, self.root, directory)
        except OSError as error:
            raise os_failure(error, self.root, directory) from None
        views = []
        for path, info, size in entries:
            view = entry_view(path, info, size)
            name = encode_name(f"{prefix}/{path.name}" if prefix else path.name)
            record = shared.get(name)
            if record is not None:
                view["shareToken"] = record["token"]
                view["shareFile"] = record["name"]
            views.append(view)
        return views

    async def create_folder(self, folder: str | None) -> None:
        path = self.root.creatable(folder or "")
        try:
            await self.runner.run(os.mkdir, path)
        except OSError as error:
            raise os_failure(error, self.root, path) from None

    async def remove_file(self, file: str | None) -> None:
        if not file:
            raise BadParameter("No file specified")
        path = self.root.entry(file)
        await self.store.remove(encode_name(self._relative(file)))
        try:
            fd = self.root.open_directory(path.parent)
            try:
                await self.runner.run(os.unlink, path.name, dir_fd=fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise os_failure(error, self.root, path) from None

    async def remove_folder(self, folder: str | None) -> None:
        if not folder:
            raise BadParameter("No folder specified")
        path = self.root.entry(folder)
        if path == self.root.base:
            raise BadParameter("folder must not be the FluxShare root")
        # upstream left the share records of the removed files behind
        await self.store.remove_tree(encode_name(self._relative(folder)), encode_name("/"))
        await self.runner.run(remove_tree, self.root, path)

    async def file_exists(self, file: str | None) -> bool:
        if not file:
            raise BadParameter("No File specified")
        path = self.root.existing(file)
        return await self.runner.run(os.path.lexists, path)

    async def rename(self, oldpath: str | None, newname: str | None) -> None:
        if not oldpath:
            raise BadParameter("No file nor folder to rename specified")
        if not newname:
            raise BadParameter("No new name specified")
        if "/" in newname:
            raise BadParameter("New name is invalid")
        old = self.root.entry(oldpath)
        new = self.root.entry(str(self.root.relative(old.parent / newname)))
        await self.store.remove_tree(encode_name(self._relative(oldpath)), encode_name("/"))
        try:
            await self.runner.run(os.rename, old, new)
        except OSError as error:
            raise os_failure(error, self.root, old) from None

    # -- space --------------------------------------------------------------------------
    async def stats(self) -> dict[str, float]:
        total = await self.space_total()
        used = round(await self.runner.run(tree_size, self.root.base) / 1e9, 6)
        return {"available": total - used, "used": used, "total": total}

    async def space_total(self) -> float:
        tier = await self.tier_source.tier()
        if tier not in LOCKED_GB:
            log.info("FluxShare space: node tier unknown (%s), counted as cumulus", tier)
            tier = "cumulus"
        disks = await self.runner.run(disk_total_gb)
        return 2 + max(0, disks - LOCKED_GB[tier])

    # -- sharing ------------------------------------------------------------------------
    async def share(self, file: str | None) -> dict[str, str]:
        if not file:
            raise BadParameter("No file specified")
        self.root.existing(file)
        name = encode_name(self._relative(file))
        now = self.clock.time()
        return await self.store.add_if_missing(name, share_token(name, int(now * 1000)), now)

    async def unshare(self, file: str | None) -> None:
        name = encode_name(self._relative(file)) if file else "undefined"
        await self.store.remove(name)

    async def shared(self) -> list[dict[str, str]]:
        return await self.store.all()

    # -- transfers ----------------------------------------------------------------------
    async def download(self, file: str | None) -> Download:
        """The admin's download of a file (a folder comes zipped)."""
        if not file:
            raise BadParameter("No file specified")
        return await self._download(self.root.existing(file))

    async def token_download(self, file: str | None, token: str | None) -> Download:
        """Anyone's download of a shared file: the token must be the file's."""
        if not file or not token:
            raise Unauthorized()
        try:
            name = encode_name(self._relative(file))
        except BadParameter:
            raise Unauthorized() from None
        if not await self.store.matches(name, token):
            raise Unauthorized()
        return await self._download(self.root.existing(file))

    async def download_folder(self, folder: str | None) -> Download:
        if not folder:
            raise BadParameter("No folder specified")
        return self._zip(self.root.existing(folder))

    async def _download(self, path: Path) -> Download:
        try:
            info = os.stat(path)
            if stat.S_ISDIR(info.st_mode):
                return self._zip(path)
            opened = await self.runner.run(open_for_download, self.root, path)
        except OSError as error:
            raise os_failure(error, self.root, path) from None
        return Download(
            file_chunks(opened, self.runner), opened.name, "application/octet-stream", opened.size
        )

    def _zip(self, path: Path) -> Download:
        if not path.is_dir():
            raise BadParameter(f"ENOTDIR: not a directory, '{self.root.relative(path)}'")
        name = path.name if path != self.root.base else "ZelShare"
        chunks = self.zips.chunks(self.root, path)
        return Download(chunks, f"{name}.zip", "application/zip")

    async def upload(self, folder: str | None) -> MultipartUpload:
        """The receiver of an upload into `folder`, once the share has room and the folder
        exists and is writable."""
        directory = self.root.existing(folder or "")
        stats = await self.stats()
        if stats["available"] <= 0:
            raise FluxError("FluxShare Storage is full")
        if not directory.is_dir() or not os.access(directory, os.W_OK):
            raise BadParameter(f"ENOENT: no such folder, '{self.root.relative(directory)}'")
        return MultipartUpload(
            self.root, directory, UploadRules(self.max_upload, self.max_upload), self.runner
        )


def remove_tree(root: Root, path: Path) -> None:
    """`rm -rf` of `path` inside `root` (a link: the link), never following a link: the
    parent is opened component by component and everything is removed relative to it."""
    try:
        parent = root.open_directory(root.verify_real(path.parent))
    except FileNotFoundError:
        return  # nothing there, as `rm -rf` says
    try:
        remove_at(parent, path.name)
    finally:
        os.close(parent)


def remove_at(parent_fd: int, name: str) -> None:
    try:
        info = os.lstat(name, dir_fd=parent_fd)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=parent_fd)
        return
    fd = os.open(
        name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd
    )
    try:
        for child in os.listdir(fd):
            remove_at(fd, child)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)
