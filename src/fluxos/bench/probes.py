"""Probes of this machine: CPUs, memory, the data directory's disk, and its write speed."""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from fluxos.errors import BadParameter

log = logging.getLogger(__name__)

GIB = 1024**3
GB = 1000**3
MB = 1000**2
_CHUNK = 1024 * 1024  # bytes per write() in the disk test

# platform.machine() spellings → the Debian names fluxbench reports (FluxOS compares
# them with image manifests, which use amd64/arm64).
_ARCHITECTURES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "i686": "386",
    "i386": "386",
}


@dataclass(frozen=True)
class CpuCount:
    """Physical cores and logical CPUs (threads) of this machine."""

    real_cores: int
    threads: int


def cpu_count() -> CpuCount:
    """Cores and threads; physical falls back to logical where the OS cannot tell."""
    threads = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or threads
    return CpuCount(real_cores=int(physical), threads=int(threads))


def usable_cpus() -> int:
    """CPUs this process may run on (affinity, e.g. a container's cpuset), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def ram_gib() -> float:
    """Total memory in GiB (MemTotal), two decimals."""
    return round(psutil.virtual_memory().total / GIB, 2)


def architecture() -> str:
    """This machine's architecture in Debian naming (`amd64`, `arm64`, …)."""
    machine = platform.machine().lower()
    return _ARCHITECTURES.get(machine, machine or "unknown")


@dataclass(frozen=True)
class DiskInfo:
    """The filesystem holding a directory: its device, size, and whether it spins."""

    device: str  # e.g. "vda", or the filesystem type when there is no block device
    mountpoint: str
    size_gb: float
    rotational: bool | None  # None when the kernel does not say (overlay, tmpfs, …)


def disk_of(path: Path) -> DiskInfo:
    """The filesystem `path` lives on (the longest mountpoint that contains it)."""
    resolved = path.resolve()
    size_gb = round(psutil.disk_usage(str(resolved)).total / GB, 2)
    best: Any = None  # psutil's partition tuple
    for part in psutil.disk_partitions(all=True):
        mount = Path(part.mountpoint)
        if (resolved == mount or mount in resolved.parents) and (
            best is None or len(part.mountpoint) > len(best.mountpoint)
        ):
            best = part
    if best is None:
        return DiskInfo(device="unknown", mountpoint="/", size_gb=size_gb, rotational=None)
    device = Path(best.device).name if best.device.startswith("/dev/") else best.fstype
    return DiskInfo(
        device=device,
        mountpoint=best.mountpoint,
        size_gb=size_gb,
        rotational=_rotational(device),
    )


def _rotational(device: str) -> bool | None:
    """The kernel's rotational flag for a block device or its parent disk (partitions)."""
    node = Path("/sys/class/block") / device
    # A partition (vda1) has no queue of its own; its sysfs node sits inside its disk's.
    for queue in (node / "queue", node.resolve().parent / "queue"):
        flag = queue / "rotational"
        try:
            return flag.read_text().strip() == "1"
        except OSError:
            continue
    return None


@dataclass(frozen=True)
class WriteSpeed:
    """A disk write test: bytes written (and synced) in seconds."""

    bytes_written: int
    seconds: float

    @property
    def mb_s(self) -> float:
        return round(self.bytes_written / MB / self.seconds, 2) if self.seconds > 0 else 0.0


def measure_write_speed(directory: Path, max_mb: int, max_seconds: float) -> WriteSpeed:
    """Write up to `max_mb` MiB into a temporary file in `directory`, fsync, time it.

    Stops early after `max_seconds` so a slow disk cannot stall the bench. The data is
    random so that compressing or deduplicating storage cannot flatter the figure; the
    timing includes the final fsync, as `dd conv=fdatasync` does. The file is removed.
    """
    if max_mb < 1:
        raise BadParameter(f"disk write test size must be >= 1 MB, got {max_mb}")
    if max_seconds <= 0:
        raise BadParameter(f"disk write test time must be > 0 seconds, got {max_seconds}")
    directory.mkdir(parents=True, exist_ok=True)
    block = os.urandom(_CHUNK)
    target = directory / f".writetest-{os.getpid()}"
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        start = time.monotonic()
        deadline = start + max_seconds
        for _ in range(max_mb):
            written += os.write(fd, block)
            if time.monotonic() >= deadline:
                break
        os.fsync(fd)
        seconds = time.monotonic() - start
    finally:
        os.close(fd)
        try:
            target.unlink()
        except OSError as exc:
            log.warning("could not remove disk test file %s: %s", target, exc)
    return WriteSpeed(bytes_written=written, seconds=seconds)
