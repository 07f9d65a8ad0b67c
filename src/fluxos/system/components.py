"""Versions of what a node runs beside itself — Docker, Syncthing, the database, the OS —
for `/flux/info` and `fluxos doctor`. Each probe raises `FluxError` naming what is wrong."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
import sqlite3
from pathlib import Path
from typing import Any

from fluxos.blocking import BlockingRunner
from fluxos.errors import FluxError

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0
OS_RELEASE = Path("/etc/os-release")


def os_release(path: Path = OS_RELEASE) -> dict[str, str]:
    """`{os, osVersion, osPrettyName}` from /etc/os-release (elsewhere: the kernel's)."""
    values: dict[str, str] = {}
    try:
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip().strip('"')
    except OSError:
        release = f"{platform.system()} {platform.release()}"
        return {"os": platform.system(), "osVersion": platform.release(), "osPrettyName": release}
    return {
        "os": values.get("NAME", platform.system()),
        "osVersion": values.get("VERSION_ID") or values.get("VERSION", ""),
        "osPrettyName": values.get("PRETTY_NAME", ""),
    }


def database_version(url: str) -> str:
    """The storage engine and its version (upstream reports MongoDB's)."""
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    return url.split(":", 1)[0].split("+", 1)[0]


class ComponentProbe:
    """Asks dockerd and the Syncthing binary for their versions."""

    def __init__(self, *, docker_url: str | None = None, syncthing: str | None = None) -> None:
        self.docker_url = docker_url
        self.syncthing = syncthing
        self._blocking = BlockingRunner("component-probe", max_workers=2)

    async def docker_version(self) -> dict[str, Any]:
        """dockerd's `version` answer (`Version`, `ApiVersion`, …)."""

        def ask() -> dict[str, Any]:
            import docker  # imported here: the SDK is slow to import and only this needs it

            client = (
                docker.DockerClient(base_url=self.docker_url, timeout=PROBE_TIMEOUT)
                if self.docker_url
                else docker.from_env(timeout=PROBE_TIMEOUT)
            )
            try:
                return dict(client.version())
            finally:
                client.close()

        try:
            return await asyncio.wait_for(self._blocking.run(ask), PROBE_TIMEOUT + 1)
        except Exception as error:
            raise FluxError(f"Docker is not reachable: {error}") from error

    async def syncthing_version(self) -> str:
        """`syncthing --version`'s version (e.g. `v1.29.5`)."""
        binary = self.syncthing
        if not binary:
            # where the node itself looks (.tools/, $FLUXOS_TOOLS_DIR, then PATH)
            from fluxos.sync.binary import SyncthingMissing, find_syncthing

            try:
                found = await self._blocking.run(find_syncthing)
            except SyncthingMissing as missing:
                raise FluxError(f"Syncthing is not installed: {missing}") from None
            binary = str(found.path)
        try:
            process = await asyncio.create_subprocess_exec(
                binary,
                "--version",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as error:
            raise FluxError(f"Syncthing cannot run: {error}") from error
        try:
            output, _ = await asyncio.wait_for(process.communicate(), PROBE_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise FluxError("Syncthing did not tell its version within 5 s") from None
        words = output.decode(errors="replace").split()
        # "syncthing v1.29.5 "Gold Grasshopper" (go1.23 linux-amd64) …"
        for word in words:
            if word.startswith("v") and word[1:2].isdigit():
                return word
        raise FluxError(f"Syncthing printed no version: {output[:200]!r}")

    def close(self) -> None:
        self._blocking.close()
