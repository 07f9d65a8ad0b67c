"""`POST /apps/appendbackuptask` and `/apps/appendrestoretask` (files-and-sync.md §3):
archive a component's `appdata` into `backup/local/backup_<component>.tar.gz`, or wipe
`appdata` and unpack an archive from `backup/{local,remote,upload}` into it.

While a task runs the app is held: its containers are wished stopped (the reconciler
leaves them so) and stopped, and its Syncthing folders are taken out of Syncthing's
configuration before a byte of data is touched (the controller skips held apps and one
pass is run first), so nothing syncs or runs on data being archived or restored. Progress
is upstream's text lines; an error is the last line.

Deviations: upstream built `tar` command lines by string concatenation and ran them as
root; here Python's `tarfile` reads and writes in a worker thread, and an archive is
unpacked with the `data` filter (no absolute names, no `..`, no links out of `appdata`, no
devices) keeping owners and permission bits. A remote archive is fetched by
`RemoteFiles` (public addresses only, pinned, size-limited). No 3-5 s pauses between lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from fluxos.blocking import BlockingRunner
from fluxos.errors import BadParameter, FluxError
from fluxos.files.browser import make_directories
from fluxos.files.fluxshare import remove_at
from fluxos.files.multipart import write_all
from fluxos.files.paths import Root
from fluxos.files.remote import RemoteFiles
from fluxos.files.volumes import AppVolumes

log = logging.getLogger(__name__)

RESTORE_TYPES = ("local", "remote", "upload")


class AppControl(Protocol):
    """The runtime: stop an app's containers (and keep them stopped), start them again."""

    async def stop_app(self, app_name: str) -> None: ...

    async def start_app(self, app_name: str) -> None: ...


class AppHolds:
    """Apps under a backup or restore. `sync_pass` (the Syncthing folder controller's
    pass, which leaves held apps out) runs after every change."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.sync_pass: Callable[[], Awaitable[None]] | None = None

    def holds(self, app_name: str) -> bool:
        return app_name.lower() in self.held

    async def _sync(self) -> None:
        if self.sync_pass is not None:
            await self.sync_pass()

    async def hold(self, app_name: str) -> None:
        self.held.add(app_name.lower())
        await self._sync()

    async def release(self, app_name: str) -> None:
        self.held.discard(app_name.lower())
        await self._sync()


def archive_name(component: str) -> str:
    return f"backup_{component.lower()}.tar.gz"


def _jobs(items: Any, flag: str, parameter: str) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadParameter(f"{parameter} must be a list of objects with component and {flag}")
    for item in items:
        if not isinstance(item.get("component"), str) or not item["component"]:
            raise BadParameter(f"{parameter}: every item must name its component")
    return items


def _directory(root: Root, relative: str) -> Path:
    """`mkdir -p` of `relative` inside the root, never through a link; its path."""
    path = root.creatable(relative)
    make_directories(root, path)
    return path


def _create_archive(root: Root, component: str) -> None:
    """`tar -czf backup/local/<name> -C appdata .`, written beside and renamed into place."""
    folder = _directory(root, "backup/local")
    name = archive_name(component)
    temporary = folder / f".{name}.partial"
    appdata = root.existing("appdata")
    try:
        with tarfile.open(temporary, "w:gz", compresslevel=6) as archive:
            archive.add(appdata, arcname=".", recursive=True)
        os.replace(temporary, folder / name)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _keep_owner(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    """tarfile's `data` filter, with the member's owner and permission bits kept (an
    app's files keep their uid, as `tar -x` as root keeps them)."""
    checked = tarfile.data_filter(member, destination)
    if checked is None:
        return None
    mode = member.mode & 0o777 if checked.mode is not None else None
    return checked.replace(
        uid=member.uid, gid=member.gid, uname=member.uname, gname=member.gname, mode=mode
    )


def _wipe_appdata(root: Root) -> None:
    """`find appdata -mindepth 1 -delete`, no link followed."""
    fd = root.open_directory(root.existing("appdata"))
    try:
        for name in os.listdir(fd):
            remove_at(fd, name)
    finally:
        os.close(fd)


def _check_archive(root: Root, archive_path: Path) -> None:
    """Every member passes the filter against `appdata` (read through, nothing written):
    a bad archive is refused before the data it would replace is wiped."""
    appdata = str(root.existing("appdata"))
    with tarfile.open(archive_path, "r:gz") as archive:
        for member in archive:
            _keep_owner(member, appdata)


def _unpack(root: Root, archive_path: Path) -> None:
    appdata = root.existing("appdata")
    with tarfile.open(archive_path, "r:gz") as archive:
        # the data filter refuses absolute names, `..`, links out of appdata and devices
        archive.extractall(appdata, filter=_keep_owner, numeric_owner=True)  # noqa: S202


class BackupTasks:
    def __init__(
        self,
        volumes: AppVolumes,
        control: AppControl,
        holds: AppHolds,
        remote: RemoteFiles,
        runner: BlockingRunner,
        *,
        restore_max_download: int,
        busy: Callable[[str], str | None] = lambda _app: None,
    ) -> None:
        self.volumes = volumes
        self.busy = busy
        self.control = control
        self.holds = holds
        self.remote = remote
        self.runner = runner
        self.restore_max_download = restore_max_download
        self.backups: set[str] = set()
        self.restores: set[str] = set()

    def _not_busy(self, app_name: str) -> None:
        """No backup or restore under a running file operation of the app (a copy or an
        extraction writing into the data being archived or wiped)."""
        reason = self.busy(app_name)
        if reason is not None:
            raise FluxError(reason)

    async def _roots(self, app_name: str, components: list[str]) -> dict[str, Root]:
        """Every named component's volume, checked before anything is stopped."""
        return {c: Root(await self.volumes.component_volume(app_name, c)) for c in components}

    def backup(self, body: dict[str, Any]) -> AsyncIterator[str]:
        app_name, items = body.get("appname"), body.get("backup")
        if not app_name or not items:
            raise BadParameter("appname and backup parameters are mandatory")
        if not isinstance(app_name, str):
            raise BadParameter("appname must be a string")
        jobs = [i["component"] for i in _jobs(items, "backup", "backup") if i.get("backup")]
        self._not_busy(app_name)
        if app_name.lower() in self.backups:
            raise FluxError("Backup in progress...")
        if not jobs:
            raise BadParameter("No backup jobs...")
        return self._lines(app_name, self.backups, self._backup(app_name, jobs))

    def restore(self, body: dict[str, Any]) -> AsyncIterator[str]:
        app_name, items, kind = body.get("appname"), body.get("restore"), body.get("type")
        if not app_name or not items or not kind:
            raise BadParameter("appname, restore and type parameters are mandatory")
        if not isinstance(app_name, str):
            raise BadParameter("appname must be a string")
        if kind not in RESTORE_TYPES:
            raise BadParameter(f"type must be one of local, remote, upload, got {kind!r}")
        chosen = [i for i in _jobs(items, "restore", "restore") if i.get("restore")]
        self._not_busy(app_name)
        if app_name.lower() in self.restores:
            raise FluxError(f"Restore for app {app_name} is running...")
        if not chosen:
            raise BadParameter("No restore jobs...")
        return self._lines(app_name, self.restores, self._restore(app_name, str(kind), chosen))

    async def _lines(
        self, app_name: str, running: set[str], steps: AsyncIterator[str]
    ) -> AsyncIterator[str]:
        """Run a task's steps with the app held; each line ends with `\\n`, a failure is
        the last line; the app is released and started again whatever happens."""
        key = app_name.lower()
        running.add(key)
        stopped = False
        try:
            await self.holds.hold(app_name)
            yield "Stopping application...\n"
            await self.control.stop_app(app_name)
            stopped = True
            async for line in steps:
                yield f"{line}\n"
            yield "Starting application...\n"
            stopped = False
            await self.control.start_app(app_name)
            yield "Finalizing...\n"
        except FluxError as error:
            log.warning("backup/restore task of %s failed: %s", app_name, error.message)
            yield f"{error.message}\n"
        except (OSError, tarfile.TarError) as error:
            log.warning("backup/restore task of %s failed: %s", app_name, error)
            yield f"Error: {error}\n"
        finally:
            running.discard(key)
            try:
                await asyncio.shield(self._finish(app_name, stopped))
            except FluxError as error:
                log.warning("%s: could not be started after the task: %s", app_name, error)

    async def _finish(self, app_name: str, start: bool) -> None:
        await self.holds.release(app_name)
        if start:
            await self.control.start_app(app_name)

    async def _backup(self, app_name: str, components: list[str]) -> AsyncIterator[str]:
        roots = await self._roots(app_name, components)
        for component, root in roots.items():
            name = component.lower()
            existing = root.lexical(f"backup/local/{archive_name(component)}")
            if await self.runner.run(os.path.lexists, existing):
                yield f"Removing exists backup archive for {name}..."
                await self.runner.run(os.unlink, existing)
            yield f"Creating backup archive for {name}..."
            try:
                await self.runner.run(_create_archive, root, component)
            except (OSError, tarfile.TarError) as error:
                raise FluxError(
                    f"Error: Failed to create backup archive for {name}, {error}"
                ) from None

    async def _restore(
        self, app_name: str, kind: str, items: list[dict[str, Any]]
    ) -> AsyncIterator[str]:
        """Fetch (remote) and check every archive first, then wipe and unpack: data goes
        only once an archive is there and names nothing outside `appdata`."""
        roots = await self._roots(app_name, [str(i["component"]) for i in items])
        if kind == "remote":
            for item in items:
                url = item.get("url")
                if not isinstance(url, str) or not url:
                    raise BadParameter(f"restore: component {item['component']} needs a url")
                yield f"Downloading {url}..."
                await self._download(roots[str(item["component"])], str(item["component"]), url)
        archives: dict[str, Path] = {}
        for component, root in roots.items():
            archive = root.existing(f"backup/{kind}/{archive_name(component)}")
            if not await self.runner.run(os.path.isfile, archive):
                raise BadParameter(
                    f"Error: No backup archive {archive_name(component)} in backup/{kind}"
                )
            try:
                await self.runner.run(_check_archive, root, archive)
            except (OSError, tarfile.TarError) as error:
                raise FluxError(
                    f"Error: Failed to unpack archive file for {component.lower()}, {error}"
                ) from None
            archives[component] = archive
        for component, root in roots.items():
            yield f"Removing {component} component data..."
            await self.runner.run(_wipe_appdata, root)
        for component, root in roots.items():
            name = component.lower()
            yield f"Unpacking backup archive for {name}..."
            try:
                await self.runner.run(_unpack, root, archives[component])
            except (OSError, tarfile.TarError) as error:
                raise FluxError(
                    f"Error: Failed to unpack archive file for {name}, {error}"
                ) from None
            yield f"Removing backup file for {name}..."
            await self.runner.run(os.unlink, archives[component])

    async def _download(self, root: Root, component: str, url: str) -> None:
        folder = await self.runner.run(_directory, root, "backup/remote")
        fd_dir = root.open_directory(folder)
        name = archive_name(component)
        try:
            for entry in os.listdir(fd_dir):
                remove_at(fd_dir, entry)
            fd = os.open(
                name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=fd_dir
            )
            try:
                async for chunk in self.remote.download(url, self.restore_max_download):
                    await self.runner.run(write_all, fd, chunk)
            finally:
                os.close(fd)
        except FluxError as error:
            with_dir_unlink(fd_dir, name)
            raise FluxError(f"Error: Failed to download {url}... {error.message}") from None
        except OSError as error:
            with_dir_unlink(fd_dir, name)
            raise FluxError(f"Error: Failed to download {url}... {error}") from None
        finally:
            os.close(fd_dir)


def with_dir_unlink(fd_dir: int, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=fd_dir)
