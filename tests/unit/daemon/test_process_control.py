"""Daemon and bench control without embedded children: hooks, and the refusal without them."""

import sys
from pathlib import Path

import pytest

from fluxos.configsections import HookSettings
from fluxos.daemon.control import ProcessControl
from fluxos.errors import FluxError, NotManaged


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


async def test_unset_hook_means_not_managed(tmp_path: Path) -> None:
    control = ProcessControl(None, HookSettings(), tmp_path / "flux.conf")
    with pytest.raises(NotManaged) as error:
        await control.start_daemon()
    message = error.value.message
    assert "fluxd is not managed by this node" in message
    assert str(tmp_path / "flux.conf") in message
    assert "[hooks] daemon_start" in message
    with pytest.raises(NotManaged, match=r"benchmark daemon is not managed.*bench_restart"):
        await control.restart_bench()


async def test_hook_runs_and_answers_upstreams_message(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    hooks = HookSettings(
        daemon_start=python(f"open({str(marker)!r}, 'w').write('x')"),
        daemon_restart=python("print('ok')"),
        daemon_reindex=python("print('ok')"),
        bench_start=python("print('ok')"),
        bench_restart=python("print('ok')"),
    )
    control = ProcessControl(None, hooks)
    assert await control.start_daemon() == "Daemon successfully started"
    assert marker.read_text() == "x"
    assert await control.restart_daemon() == "Daemon successfully restarted"
    assert await control.reindex_daemon() == "Daemon successfully reindexing"
    assert await control.start_bench() == "Benchmark successfully started"
    assert await control.restart_bench() == "Benchmark successfully restarted"


async def test_failing_hook_reports_its_output() -> None:
    hooks = HookSettings(
        daemon_restart=python("import sys; print('unit zelcash not found'); sys.exit(3)"),
        bench_start=("/nonexistent/fluxbenchd",),
    )
    control = ProcessControl(None, hooks)
    with pytest.raises(FluxError, match=r"^Error restarting Daemon: unit zelcash not found$"):
        await control.restart_daemon()
    with pytest.raises(FluxError, match=r"^Error starting Benchmark: .*No such file"):
        await control.start_bench()


async def test_hook_timeout() -> None:
    hooks = HookSettings(daemon_start=python("import time; time.sleep(30)"), timeout=0.5)
    with pytest.raises(FluxError, match=r"^Error starting Daemon: .* did not finish within 0.5 s$"):
        await ProcessControl(None, hooks).start_daemon()


def test_hooks_accept_a_command_line() -> None:
    hooks = HookSettings.model_validate({"daemon_restart": "systemctl restart 'zel cash'"})
    assert hooks.daemon_restart == ("systemctl", "restart", "zel cash")
