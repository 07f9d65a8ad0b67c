"""Size-limited app volumes (apps.md §11.5): one ext4 image per component, loop-mounted
on the component's directory, as upstream does, so an app cannot fill the node's disk.

Directory `<apps dir>/flux<comp>_<app>` (the mountpoint, made immutable while empty so
nothing is written beside the volume), image `<volumes dir>/flux<comp>_<app>FLUXFSVOL`,
then `appdata` and the `m:`/`f:` entries inside, all mode 777. Mounting needs root; a node
that is not root refuses to install apps with a message that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from pathlib import Path

from fluxos.blocking import BlockingRunner
from fluxos.runtime.components import MountPlan
from fluxos.runtime.errors import InstallError

log = logging.getLogger(__name__)

IMAGE_SUFFIX = "FLUXFSVOL"


async def run_tool(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace").strip()
    if process.returncode != 0:
        raise InstallError(f"{command[0]} failed ({process.returncode}): {text}")
    return text


class Volumes:
    def __init__(self, apps_dir: Path, volumes_dir: Path) -> None:
        self.apps_dir = apps_dir
        self.volumes_dir = volumes_dir
        self._files = BlockingRunner("app volumes", max_workers=2)

    def directory(self, container: str) -> Path:
        return self.apps_dir / container

    def image(self, container: str) -> Path:
        return self.volumes_dir / f"{container}{IMAGE_SUFFIX}"

    @staticmethod
    def can_mount() -> bool:
        return os.geteuid() == 0 and bool(shutil.which("mkfs.ext4"))

    def free_gb(self) -> float:
        self.volumes_dir.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.volumes_dir).free / 1024**3

    async def create(self, container: str, hdd_gb: float, plan: MountPlan) -> None:
        """Make, mount and lay out the component's volume; on failure undo all of it."""
        if not self.can_mount():
            raise InstallError(
                "App volumes are size-limited ext4 images mounted over loop devices: this"
                " node must run as root (with e2fsprogs) to install apps"
            )
        size_mb = max(int(hdd_gb * 1024), 32)
        if self.free_gb() * 1024 - size_mb < 1024:
            raise InstallError("Insufficient space on Flux Node. No useable volume found.")
        directory, image = self.directory(container), self.image(container)
        if directory.exists() or image.exists():
            raise InstallError(f"Volume of {container} already exists at {directory}")
        try:
            self.volumes_dir.mkdir(parents=True, exist_ok=True)
            await run_tool("fallocate", "-l", f"{size_mb}M", str(image))
            await run_tool("mkfs.ext4", "-q", "-F", str(image))
            directory.mkdir(parents=True)
            await run_tool("chattr", "+i", str(directory))
            await run_tool("mount", "-o", "loop", str(image), str(directory))
            for sub in ("appdata", *plan.directories):
                (directory / sub).mkdir(exist_ok=True)
                (directory / sub).chmod(0o777)
            for name in plan.files:
                (directory / name).touch()
                (directory / name).chmod(0o777)
            directory.chmod(0o777)
            if "g" in plan.flags or "r" in plan.flags or "s" in plan.flags:
                (directory / "appdata" / ".stfolder").mkdir(exist_ok=True)
                (directory / "appdata" / ".stignore").write_text("/backup\n")
        except BaseException:
            await self.remove(container)
            raise

    def mounted(self, container: str) -> bool:
        return os.path.ismount(self.directory(container))

    async def mount(self, container: str) -> None:
        """Mount an existing volume again (after a reboot)."""
        if not self.mounted(container) and self.image(container).exists():
            await run_tool(
                "mount", "-o", "loop", str(self.image(container)), str(self.directory(container))
            )

    async def remove(self, container: str) -> None:
        """Unmount and delete the volume and its directory; what is already gone is fine."""
        directory, image = self.directory(container), self.image(container)
        if self.mounted(container):
            try:
                await run_tool("umount", str(directory))
            except InstallError:
                await run_tool("umount", "-l", str(directory))
        if directory.exists():
            with contextlib.suppress(InstallError):
                await run_tool("chattr", "-i", str(directory))
            await self._files.run(shutil.rmtree, directory, True)
        image.unlink(missing_ok=True)
