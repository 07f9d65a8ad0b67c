"""Stored measurements: round trip, atomic replace, and unusable files."""

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from fluxos.bench.store import Measurements, MeasurementStore

SAMPLE = Measurements(
    time=1_700_000_000,
    real_cores=2,
    threads=4,
    ram_gb=7.66,
    architecture="amd64",
    disk_device="vda",
    disk_size_gb=240.0,
    disk_rotational=None,
    write_mb_s=512.5,
    eps=300.25,
    eps_singlethread=80.5,
    cpu_workers=4,
    cpu_seconds=4.0,
    cpu_max_prime=10_000,
)


def test_round_trip(tmp_path: Path) -> None:
    store = MeasurementStore(tmp_path / "sub" / "benchmarks.json")
    assert store.load() is None
    store.save(SAMPLE)
    assert store.load() == SAMPLE
    newer = replace(SAMPLE, time=SAMPLE.time + 60, eps=310.0)
    store.save(newer)
    assert store.load() == newer
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["benchmarks.json"]


def test_integers_are_accepted_where_floats_are_stored(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.json"
    MeasurementStore(path).save(SAMPLE)
    document = json.loads(path.read_text())
    document["measurements"]["eps"] = 300
    path.write_text(json.dumps(document))
    loaded = MeasurementStore(path).load()
    assert loaded is not None and loaded.eps == 300.0 and isinstance(loaded.eps, float)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "Expecting property name"),
        ("[]", "top level is not an object"),
        ('{"format": 99, "measurements": {}}', "format 99"),
        ('{"format": 1, "measurements": {"time": 1}}', "real_cores"),
    ],
)
def test_unusable_file_is_logged_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, reason: str
) -> None:
    path = tmp_path / "benchmarks.json"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="fluxos.bench.store"):
        assert MeasurementStore(path).load() is None
    assert "will measure again" in caplog.text and reason in caplog.text


def test_wrong_type_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "benchmarks.json"
    MeasurementStore(path).save(SAMPLE)
    document = json.loads(path.read_text())
    document["measurements"]["threads"] = "four"
    path.write_text(json.dumps(document))
    with caplog.at_level(logging.WARNING, logger="fluxos.bench.store"):
        assert MeasurementStore(path).load() is None
    assert "threads must be int, got 'four'" in caplog.text


def test_ssd_classification() -> None:
    assert SAMPLE.is_ssd()  # rotation unknown counts as SSD
    assert not replace(SAMPLE, disk_rotational=True).is_ssd()
    assert replace(SAMPLE, disk_rotational=True).is_ssd("ssd")
    assert not SAMPLE.is_ssd("hdd")
