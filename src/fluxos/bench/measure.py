"""One full benchmark run: every probe in turn, reporting progress as it goes."""

from __future__ import annotations

import logging
from typing import Protocol

from fluxos.bench import cpu, probes
from fluxos.bench.settings import BenchSettings
from fluxos.bench.store import Measurements
from fluxos.clock import Clock

log = logging.getLogger(__name__)

PHASES = ("specs", "disk", "cpu-start", "cpu-single", "cpu-multi")


class MeasureProgress(Protocol):
    """Told as each phase of a run starts (`key` is one of PHASES), and at the end."""

    def phase(self, key: str, description: str) -> None: ...

    def finished(self) -> None: ...


class LogProgress:
    """Progress as log lines, for runs nobody is watching (restartnodebenchmarks)."""

    def phase(self, key: str, description: str) -> None:
        log.info("benchmark: %s", description)

    def finished(self) -> None:
        log.info("benchmark: finished")


def measure_machine(
    settings: BenchSettings, clock: Clock, progress: MeasureProgress
) -> Measurements:
    """Measure this machine (blocking; takes about 2×cpu_seconds + the disk test)."""
    started = int(clock.time())
    progress.phase("specs", "Reading cores, memory and disk")
    count = probes.cpu_count()
    ram = probes.ram_gib()
    arch = probes.architecture()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    disk = probes.disk_of(settings.data_dir)
    log.info(
        "found cores %d (threads %d), ram %.2f GiB, disk %s %.2f GB (%s), arch %s",
        count.real_cores,
        count.threads,
        ram,
        disk.device,
        disk.size_gb,
        {True: "rotational", False: "solid state", None: "rotation unknown"}[disk.rotational],
        arch,
    )

    progress.phase("disk", f"Disk write test (up to {settings.write_test_mb} MB)")
    write = probes.measure_write_speed(
        settings.data_dir, settings.write_test_mb, settings.write_test_seconds
    )
    log.info(
        "found ddwrite %.2f MB/s (%d MB in %.2f s)",
        write.mb_s,
        write.bytes_written // probes.MB,
        write.seconds,
    )

    workers = probes.usable_cpus()
    progress.phase("cpu-start", f"Starting {workers} CPU test workers")
    descriptions = {
        "single": ("cpu-single", f"CPU single thread ({settings.cpu_seconds:g} s)"),
        "multi": ("cpu-multi", f"CPU all {workers} threads ({settings.cpu_seconds:g} s)"),
    }
    score = cpu.measure_cpu(
        settings.cpu_seconds,
        workers,
        settings.cpu_max_prime,
        on_phase=lambda name: progress.phase(*descriptions[name]),
    )
    log.info("found eps %.2f (single thread %.2f)", score.eps, score.eps_singlethread)
    progress.finished()
    return Measurements(
        time=started,
        real_cores=count.real_cores,
        threads=count.threads,
        ram_gb=ram,
        architecture=arch,
        disk_device=disk.device,
        disk_size_gb=disk.size_gb,
        disk_rotational=disk.rotational,
        write_mb_s=write.mb_s,
        eps=score.eps,
        eps_singlethread=score.eps_singlethread,
        cpu_workers=score.workers,
        cpu_seconds=settings.cpu_seconds,
        cpu_max_prime=settings.cpu_max_prime,
    )
