"""The measured figures of one benchmark run, and their file in the bench data dir.

Only measurements are stored, never the tier: the tier is decided again from them with the
current thresholds and `assume_tier` each time the daemon starts, so changing a setting
never needs a re-measure.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from fluxos.bench.tiers import Capacity

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Measurements:
    """What a benchmark run found on this machine, at unix time `time`."""

    time: int
    real_cores: int
    threads: int
    ram_gb: float
    architecture: str
    disk_device: str
    disk_size_gb: float
    disk_rotational: bool | None
    write_mb_s: float
    eps: float
    eps_singlethread: float
    cpu_workers: int
    cpu_seconds: float
    cpu_max_prime: int

    def is_ssd(self, disk_kind: str = "auto") -> bool:
        """Whether the data disk counts as SSD; unknown rotation counts as SSD."""
        if disk_kind != "auto":
            return disk_kind == "ssd"
        return self.disk_rotational is not True

    def capacity(self) -> Capacity:
        return Capacity(
            cores=self.real_cores,
            threads=self.threads,
            ram_gb=self.ram_gb,
            storage_gb=self.disk_size_gb,
            eps=self.eps,
            write_mb_s=self.write_mb_s,
        )


class MeasurementStore:
    """One JSON file holding the latest measurements, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Measurements | None:
        """The stored measurements, or None when absent or unreadable (logged)."""
        try:
            raw = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read stored benchmark %s (%s); will measure again", self.path, exc)
            return None
        try:
            document = json.loads(raw)
            return _from_document(document)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("stored benchmark %s is unusable (%s); will measure again", self.path, exc)
            return None

    def save(self, measurements: Measurements) -> None:
        """Write through a temporary file, fsync, rename: a crash leaves old or new, whole."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"format": FORMAT_VERSION, "measurements": asdict(measurements)}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as out:
            json.dump(document, out, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        # The rename itself must reach the disk too.
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _from_document(document: Any) -> Measurements:
    if not isinstance(document, dict):
        raise TypeError("top level is not an object")
    if document.get("format") != FORMAT_VERSION:
        raise ValueError(f"format {document.get('format')!r}, expected {FORMAT_VERSION}")
    data = document["measurements"]
    if not isinstance(data, dict):
        raise TypeError("measurements is not an object")
    values: dict[str, Any] = {}
    for spec in fields(Measurements):
        if spec.name not in data:
            raise KeyError(spec.name)
        values[spec.name] = _check_type(spec.name, data[spec.name], str(spec.type))
    return Measurements(**values)


def _check_type(name: str, value: Any, declared: str) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    accepted = {
        "bool | None": value is None or isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": is_number,
        "str": isinstance(value, str),
    }
    if not accepted.get(declared, False):
        raise TypeError(f"{name} must be {declared}, got {value!r}")
    return float(value) if declared == "float" else value
