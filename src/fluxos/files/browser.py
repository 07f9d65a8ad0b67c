"""The volume browser: an app owner's file manager over a component's volume root
(files-and-sync.md §4). The volume comes from `AppVolumes` (app and component by name,
never a pattern); every path goes through that volume's `Root`. Files are read without
changing their permissions (upstream ran `chmod 777` on every download)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from fluxos.blocking import BlockingRunner
from fluxos.errors import BadParameter
from fluxos.files.fluxshare import Download, entry_view, list_directory, remove_tree
from fluxos.files.multipart import MultipartUpload, UploadRules
from fluxos.files.paths import Root, os_failure, validate_filename
from fluxos.files.transfer import ZipStreams, file_chunks, open_for_download
from fluxos.files.volumes import AppVolumes


class VolumeBrowser:
    """The `/apps/*folder|object|file` routes' rules and the `/ioutils/fileupload` target."""

    def __init__(
        self,
        volumes: AppVolumes,
        runner: BlockingRunner,
        upload_max: int,
        zips: ZipStreams | None = None,
    ) -> None:
        self.volumes = volumes
        self.runner = runner
        self.zips = zips or ZipStreams(runner)
        self.upload_max = upload_max

    async def root(self, app_name: str | None, component: str | None, message: str) -> Root:
        if not app_name or not component:
            raise BadParameter(message)
        return Root(await self.volumes.component_volume(app_name, component))

    async def folder_info(
        self, app_name: str | None, component: str | None, folder: str | None
    ) -> list[dict[str, Any]]:
        root = await self.root(
            app_name, component, "appname and component parameters are mandatory"
        )
        directory = root.existing(folder or "")
        try:
            entries = await self.runner.run(list_directory, root, directory)
        except OSError as error:
            raise os_failure(error, root, directory) from None
        return [entry_view(path, info, size) for path, info, size in entries]

    async def create_folder(
        self, app_name: str | None, component: str | None, folder: str | None
    ) -> None:
        root = await self.root(
            app_name, component, "appname and component parameters are mandatory"
        )
        path = root.creatable(folder or "")
        try:
            fd = root.open_directory(root.verify_real(path.parent))
            try:
                await self.runner.run(os.mkdir, path.name, 0o777, dir_fd=fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise os_failure(error, root, path) from None

    async def rename(
        self,
        app_name: str | None,
        component: str | None,
        oldpath: str | None,
        newname: str | None,
    ) -> None:
        root = await self.root(
            app_name, component, "appname and component parameters are mandatory"
        )
        if not oldpath:
            raise BadParameter("No file nor folder to rename specified")
        if not newname:
            raise BadParameter("No new name specified")
        if "/" in newname:
            raise BadParameter("New name is invalid")
        old = root.entry(oldpath)
        if old == root.base or old == root.real_base:
            raise BadParameter("oldpath must name something inside the volume")
        new = root.entry(str(root.relative(old.parent / validate_filename(newname))))
        try:
            await self.runner.run(_rename_in, root, old, new.name)
        except OSError as error:
            raise os_failure(error, root, old) from None

    async def remove(self, app_name: str | None, component: str | None, target: str | None) -> None:
        if not component:
            raise BadParameter("component parameter is mandatory")
        if not target:
            raise BadParameter("No object specified")
        root = await self.root(app_name, component, "appname parameter is mandatory")
        path = root.entry(target)
        if str(path) in (str(root.base), root.real_base):
            raise BadParameter("object must name something inside the volume")
        await self.runner.run(remove_tree, root, path)

    async def download_file(
        self, app_name: str | None, component: str | None, file: str | None
    ) -> Download:
        if not file or not component:
            raise BadParameter("file and component parameters are mandatory")
        root = await self.root(app_name, component, "appname parameter is mandatory")
        path = root.existing(file)
        try:
            opened = await self.runner.run(open_for_download, root, path)
        except OSError as error:
            raise os_failure(error, root, path) from None
        return Download(
            file_chunks(opened, self.runner), opened.name, "application/octet-stream", opened.size
        )

    async def download_folder(
        self, app_name: str | None, component: str | None, folder: str | None
    ) -> Download:
        if not folder or not component:
            raise BadParameter("folder and component parameters are mandatory")
        root = await self.root(app_name, component, "appname parameter is mandatory")
        path = root.existing(folder)
        if not path.is_dir():
            raise BadParameter(f"ENOTDIR: not a directory, '{root.relative(path)}'")
        chunks = self.zips.chunks(root, path)
        return Download(chunks, f"{path.name}.zip", "application/zip")

    async def upload(
        self,
        kind: str | None,
        app_name: str | None,
        component: str | None,
        folder: str | None,
        filename: str | None,
    ) -> MultipartUpload:
        """IOUtils' upload target: `type=backup` → `backup/upload/`, else `folder`."""
        if not app_name:
            raise BadParameter("appname parameter is mandatory.")
        if not component or not kind:
            raise BadParameter("component and type parameters are mandatory")
        root = Root(await self.volumes.component_volume(app_name, component))
        directory = root.creatable("backup/upload" if kind == "backup" else (folder or ""))
        if filename:
            validate_filename(filename)
        try:
            await self.runner.run(make_directories, root, directory)
        except OSError as error:
            raise os_failure(error, root, directory) from None
        return MultipartUpload(
            root,
            root.existing(str(root.relative(directory))),
            UploadRules(self.upload_max, self.upload_max),
            self.runner,
            name_for=(lambda _field: filename) if filename else (lambda field: field),
        )


def make_directories(root: Root, directory: Path) -> None:
    """`mkdir -p` inside the root, one component at a time, never through a link."""
    parts = root.relative(directory).parts if str(root.relative(directory)) != "." else ()
    fd = root.open_directory(root.base)
    try:
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o777, dir_fd=fd)
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    finally:
        os.close(fd)


def _rename_in(root: Root, old: Path, new_name: str) -> None:
    """`mv -T` within one folder, relative to that folder opened without following links."""
    fd = root.open_directory(root.verify_real(old.parent))
    try:
        os.rename(old.name, new_name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)
