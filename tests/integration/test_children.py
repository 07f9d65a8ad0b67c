"""The child-process supervisor with real processes: readiness, restart after a crash,
an expected exit, stop, and a child that cannot start."""

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from fluxos.system.children import ChildFailed, ChildProcess, ChildSpec
from tests.support.processes import free_port


def http_server(tmp_path: Path, port: int, ready_timeout: float = 20.0) -> ChildProcess:
    async def answers() -> bool:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"http://127.0.0.1:{port}/", timeout=1)).status_code == 200

    spec = ChildSpec(
        name="web",
        argv=lambda: [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        log_path=tmp_path / "web.log",
        ready=answers,
    )
    return ChildProcess(spec, ready_timeout=ready_timeout)


async def wait_for(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not predicate():  # noqa: ASYNC110 - process state has no event to await
            await asyncio.sleep(0.05)


async def test_restarts_a_crashed_child(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    child = http_server(tmp_path, free_port())
    await child.start()
    try:
        first = child.pid
        assert first is not None
        with caplog.at_level(logging.WARNING, logger="fluxos.system.children"):
            os.kill(first, signal.SIGKILL)
            await wait_for(lambda: child.restarts == 1 and child.pid not in (None, first))
        assert "web exited unexpectedly with code -9; restarting it" in caplog.text
        assert str(tmp_path / "web.log") in caplog.text
    finally:
        await child.stop()
    assert not child.running


async def test_an_expected_exit_is_not_restarted(tmp_path: Path) -> None:
    child = http_server(tmp_path, free_port())
    await child.start()
    pid = child.pid
    assert pid is not None
    child.expect_exit()
    os.kill(pid, signal.SIGTERM)
    await wait_for(lambda: not child.running)
    # the watcher saw the exit and ended: no restart is pending behind a delay
    await wait_for(lambda: not child.watching)
    assert child.restarts == 0 and not child.running
    await child.start()  # a later start brings it back
    assert child.running
    await child.stop()


async def test_stop_and_restart(tmp_path: Path) -> None:
    child = http_server(tmp_path, free_port())
    await child.start()
    first = child.pid
    await child.restart()
    assert child.running and child.pid != first
    await child.stop()
    assert not child.running
    await child.stop()  # idempotent


async def test_a_child_that_exits_while_starting(tmp_path: Path) -> None:
    spec = ChildSpec(
        name="broken",
        argv=lambda: [sys.executable, "-c", "import sys; print('no config'); sys.exit(4)"],
        log_path=tmp_path / "broken.log",
        ready=lambda: asyncio.sleep(0, result=False),
    )
    child = ChildProcess(spec, ready_timeout=20)
    with pytest.raises(ChildFailed, match=r"broken exited with code 4 while starting"):
        await child.start()
    await child.stop()
    assert "no config" in (tmp_path / "broken.log").read_text()


async def test_a_child_that_never_answers(tmp_path: Path) -> None:
    spec = ChildSpec(
        name="silent",
        argv=lambda: [sys.executable, "-c", "import time; time.sleep(60)"],
        log_path=tmp_path / "silent.log",
        ready=lambda: asyncio.sleep(0, result=False),
    )
    child = ChildProcess(spec, ready_timeout=0.5)
    with pytest.raises(ChildFailed, match=r"silent did not answer within"):
        await child.start()
    assert child.running  # left running: its supervisor may still see it come up
    await child.stop()
    assert not child.running
