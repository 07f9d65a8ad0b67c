"""Fixtures: bench processes on free ports, and a stand-in FluxOS API to probe."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.integration.bench.bench_harness import QUICK, BenchProcess, FluxVersionHandler, free_port


@pytest.fixture
def bench_factory(tmp_path: Path) -> Iterator[Callable[..., BenchProcess]]:
    started: list[BenchProcess] = []

    def start(
        *args: str, data_dir: Path | None = None, port: int | None = None, **env: str
    ) -> BenchProcess:
        process = BenchProcess(
            data_dir or tmp_path / "bench", port or free_port(), [*QUICK, *args], env
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def flux_api() -> Iterator[int]:
    """A local HTTP server standing where the FluxOS API would be; yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FluxVersionHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
