"""Schemathesis against a started node on its embedded devnet, from the node's own
/openapi.json: once without credentials and once with the admin's login. Any undeclared
server error, any JSON answer that is not the envelope, and any answer that breaks its
declared schema or media type fails (checks in schemachecks.py). Bounded in time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemons import Admin
from tests.support.processes import NodeProcess, wait_until

MAX_SECONDS = 120  # per run
CHECKS = "response_schema_conformance,content_type_conformance,flux_no_server_error,flux_envelope"
# Not fuzzed: the routes that end the session being fuzzed with (logouts) or restart or
# stop the node, its devnet or its bench under the fuzzer (each is an argument-free GET
# tested on its own elsewhere); with them, the rest of a run would test a node going away.
NOT_FUZZED = (
    r"logout|^/flux/restart$|^/daemon/(stop|restart|start|stopbenchmark)$"
    r"|^/flux/(restartdaemon|restartbenchmark)$|^/benchmark/(stop|restart|start)$"
    r"|^/syncthing/system/(restart|shutdown)$"
)


@pytest.fixture(scope="module")
def fuzzed_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, Admin]]:
    data_dir: Path = tmp_path_factory.mktemp("fuzzed-node")
    admin = Admin()
    (data_dir / "fluxos.toml").write_text(f'zelid = "{admin.zelid}"\n')
    node = NodeProcess(data_dir, env={"HOME": str(data_dir / "home")})
    node.start()
    try:
        # the devnet answers before the fuzzer starts, so fluxd's routes are tried for real
        wait_until(
            lambda: node.get("/daemon/getblockcount").json()["status"] == "success", timeout=120
        )
        yield node, admin
    finally:
        node.stop()


def schemathesis(node: NodeProcess, tmp_path: Path, *headers: str) -> None:
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "run",
        f"{node.url}/openapi.json",
        f"--checks={CHECKS}",
        "--phases=examples,fuzzing",
        f"--max-time={MAX_SECONDS}",
        "--max-examples=5",
        "--request-timeout=20",
        "--no-shrink",
        "--seed=20261203",
        f"--exclude-path-regex={NOT_FUZZED}",
        "--report=junit",
        f"--report-dir={tmp_path}",
        *(f"--header={header}" for header in headers),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.integration.edge.schemachecks",
        "PYTHONPATH": str(Path(__file__).parents[3]),
        "NO_COLOR": "1",
    }
    run = subprocess.run(  # in tmp_path: schemathesis keeps its cache in the working dir
        command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    summary = run.stdout[-6000:]
    assert run.returncode == 0, f"{summary}\n{run.stderr[-2000:]}"
    assert " passed" in summary, summary
    assert "Traceback" not in node.output()


@pytest.mark.slow
def test_schemathesis_without_credentials(
    fuzzed_node: tuple[NodeProcess, Admin], tmp_path: Path
) -> None:
    node, _ = fuzzed_node
    schemathesis(node, tmp_path)


@pytest.mark.slow
def test_schemathesis_as_the_admin(fuzzed_node: tuple[NodeProcess, Admin], tmp_path: Path) -> None:
    node, admin = fuzzed_node
    (header,) = admin.login(node.url).items()
    schemathesis(node, tmp_path, f"{header[0]}: {header[1]}")
