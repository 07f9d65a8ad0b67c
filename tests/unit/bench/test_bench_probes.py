"""Probes give sane, typed values on this machine."""

import os
from pathlib import Path

import pytest

from fluxos.bench import probes
from fluxos.errors import BadParameter


def test_cpu_counts() -> None:
    count = probes.cpu_count()
    assert isinstance(count.real_cores, int) and isinstance(count.threads, int)
    assert 1 <= count.real_cores <= count.threads
    assert 1 <= probes.usable_cpus() <= count.threads


def test_ram_and_architecture() -> None:
    ram = probes.ram_gib()
    assert isinstance(ram, float) and ram > 0
    assert probes.architecture() in {"amd64", "arm64", "arm", "386"}


def test_disk_of_a_directory(tmp_path: Path) -> None:
    disk = probes.disk_of(tmp_path)
    assert isinstance(disk.size_gb, float) and disk.size_gb > 0
    assert disk.device
    assert tmp_path.resolve().is_relative_to(disk.mountpoint)
    assert disk.rotational in (True, False, None)


def test_write_test_writes_syncs_and_cleans_up(tmp_path: Path) -> None:
    speed = probes.measure_write_speed(tmp_path, max_mb=8, max_seconds=30)
    assert speed.bytes_written == 8 * 1024 * 1024
    assert speed.seconds > 0 and speed.mb_s > 0
    assert os.listdir(tmp_path) == []


def test_write_test_bounds_are_checked(tmp_path: Path) -> None:
    with pytest.raises(BadParameter, match="size must be >= 1 MB"):
        probes.measure_write_speed(tmp_path, max_mb=0, max_seconds=1)
    with pytest.raises(BadParameter, match="time must be > 0"):
        probes.measure_write_speed(tmp_path, max_mb=1, max_seconds=0)
