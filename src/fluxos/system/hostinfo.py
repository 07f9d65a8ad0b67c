"""Facts about this process and host that the /flux informational routes report."""

from __future__ import annotations

import os
import platform
import sqlite3
import ssl
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from fluxos import FLUXOS_COMPAT_VERSION, __version__
from fluxos.clock import Clock

_ZONEINFO_ROOTS = ("/usr/share/zoneinfo/", "/var/db/timezone/zoneinfo/")


class HostInfo:
    """Process start time, host uptime, time zone and runtime versions."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.started_at = clock.time()

    @property
    def fluxos_version(self) -> str:
        """The upstream FluxOS release we are compatible with (what peers check)."""
        return FLUXOS_COMPAT_VERSION

    @property
    def package_version(self) -> str:
        return __version__

    def uptime(self) -> int:
        """Whole seconds since this node process started."""
        return int(self.clock.time() - self.started_at)

    def system_uptime(self) -> int:
        """Whole seconds since the host booted."""
        return int(self.clock.time() - psutil.boot_time())

    def timezone(self) -> str:
        """The host's IANA time zone name (e.g. `Europe/Berlin`), `Etc/UTC` when unset."""
        zone = os.environ.get("TZ", "").lstrip(":")
        if zone and "/" in zone and not zone.startswith("/"):
            return zone
        try:
            text = Path("/etc/timezone").read_text().strip()
            if text:
                return text
        except OSError:
            pass
        try:
            target = str(Path("/etc/localtime").resolve())
        except OSError:
            return "Etc/UTC"
        for root in _ZONEINFO_ROOTS:
            if root in target:
                return target.split(root, 1)[1]
        return "Etc/UTC"

    def runtime_versions(self) -> dict[str, str]:
        """Runtime component versions; the Python counterpart of Node's `process.versions`."""
        versions = {
            "fluxos": __version__,
            "python": platform.python_version(),
            "implementation": sys.implementation.name,
            "openssl": ssl.OPENSSL_VERSION.split()[1],
            "sqlite": sqlite3.sqlite_version,
        }
        for package in ("fastapi", "uvicorn", "starlette", "pydantic", "sqlalchemy", "coincurve"):
            try:
                versions[package] = version(package)
            except PackageNotFoundError:
                continue
        return versions
