"""`fluxos status` and `fluxos doctor` against a running node (real devnet, real bench,
real HTTP), then the same node with its fluxd stopped; `--bundle` writes an archive without
the node's keys. Also the startup report a node without Docker and Syncthing logs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

from fluxos.chain.fluxconf import FluxConf
from fluxos.system.supervisor import LoopState
from tests.integration.conftest import DaemonStack
from tests.support.processes import NodeProcess, wait_until


def doctor(stack: DaemonStack, *args: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """Exit code and {check: (level, text)} of `fluxos doctor` for the stack's node."""
    command = [sys.executable, "-m", "fluxos", "doctor", "--url", stack.node.url, *args]
    result = subprocess.run(
        [*command, "--data-dir", str(stack.node.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = {}
    for line in result.stdout.splitlines():
        if line.startswith(("ok ", "warn ", "FAIL ")):
            level, check_and_text = line[:5].strip(), line[6:]
            findings[check_and_text[:10].strip()] = (level, check_and_text[11:])
    assert findings, result.stdout + result.stderr
    return result.returncode, findings


def status(stack: DaemonStack, *args: str) -> str:
    """What `fluxos status` prints for the stack's running node."""
    command = [sys.executable, "-m", "fluxos", "status", "--url", stack.node.url, *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def metrics_loops(stack: DaemonStack) -> dict[str, str]:
    """{loop: state} from the node's Prometheus text, a second view of the supervisor."""
    found = {}
    for line in stack.node.get("/metrics").text.splitlines():
        matched = re.match(r'fluxos_loop_state\{loop="([^"]+)",state="([^"]+)"\} 1\.0', line)
        if matched:
            found[matched[1]] = matched[2]
    return found


def test_status_shows_every_loop_of_the_running_node(daemon_stack: DaemonStack) -> None:
    wait_until(lambda: metrics_loops(daemon_stack).get("explorer") == "running", timeout=60)
    loops = {row["name"]: row for row in json.loads(status(daemon_stack, "--json"))}
    expected = metrics_loops(daemon_stack)
    assert len(expected) >= 10 and set(loops) == set(expected)
    assert {"explorer", "daemon-liveness", "geolocation", "identity expiry"} <= set(loops)
    assert {row["state"] for row in loops.values()} <= {str(state) for state in LoopState}
    assert loops["explorer"]["state"] == "running"
    for row in loops.values():  # anonymous: an error's type at most, never its text
        assert row["lastError"] is None or ":" not in row["lastError"]
    table = status(daemon_stack)
    for name, row in loops.items():
        assert re.search(rf"{re.escape(name)}\s.*{re.escape(row['state'])}", table), (name, table)
    as_admin = status(
        daemon_stack, "--json", "--zelidauth", daemon_stack.admin_headers["zelidauth"]
    )
    assert {row["name"] for row in json.loads(as_admin)} == set(loops)


def bench_has_tier(stack: DaemonStack) -> bool:
    data = stack.node.get("/benchmark/getbenchmarks").json()["data"]
    return isinstance(data, dict) and data.get("status") in ("CUMULUS", "NIMBUS", "STRATUS")


def test_doctor_on_a_healthy_node_then_with_fluxd_stopped(
    daemon_stack: DaemonStack, tmp_path: Path
) -> None:
    wait_until(lambda: bench_has_tier(daemon_stack), timeout=240, interval=1)
    code, found = doctor(daemon_stack)
    height = daemon_stack.devnet.rpc("getblockcount")
    assert found["api"][0] == "ok" and "answers" in found["api"][1]
    assert found["fluxd"][0] == "ok" and "synced" in found["fluxd"][1]
    assert int(found["fluxd"][1].rsplit(" ", 1)[1]) >= height
    assert found["bench"][0] == "ok" and found["bench"][1].startswith("tier ")
    assert found["syncthing"][0] == "ok" and found["syncthing"][1].startswith("version v1.")
    # a devnet of two fluxnodes cannot give the 8 outgoing peers mainnet asks for
    assert found["peers"][0] == "warn" and "minimum 8" in found["peers"][1]
    assert found["disk"][1].endswith(f"free under {daemon_stack.node.data_dir}")
    assert {"api port", "explorer", "clock"} <= set(found)
    failures = [check for check, (level, _) in found.items() if level == "FAIL"]
    # `make test` runs with dockerd; a bare pytest run may not, and then that is the failure
    if found["docker"][0] == "ok":
        assert found["docker"][1].startswith("version ")
    assert set(failures) <= {"docker", "api port"}, found
    assert code == (1 if failures else 0)

    archive = tmp_path / "support.tar.gz"
    code, _ = doctor(daemon_stack, "--bundle", str(archive))
    with tarfile.open(archive) as bundle:
        members = {member.name: bundle.extractfile(member) for member in bundle.getmembers()}
        texts = {name: (file.read().decode() if file else "") for name, file in members.items()}
    assert "fluxos-support/doctor.txt" in texts and "fluxd" in texts["fluxos-support/doctor.txt"]
    assert "fluxos-support/fluxos.toml" in texts
    assert daemon_stack.admin.zelid in texts["fluxos-support/fluxos.toml"]  # not a secret
    conf = texts["fluxos-support/flux.conf"]
    real = FluxConf.read(daemon_stack.devnet.conf_path)
    assert "rpcpassword=<removed>" in conf and f"rpcuser={real.get('rpcuser')}" in conf
    everything = "".join(texts.values())
    for secret in ("rpcpassword", "zelnodeprivkey"):
        value = real.get(secret)
        assert value is None or value not in everything, secret
    assert any(name.startswith("fluxos-support/logs/") for name in texts)

    daemon_stack.devnet.stop()
    # the node caches /flux/info for a minute (upstream's apicache): the doctor tells what
    # the node sees, so the failure shows once that answer expires
    code, found = wait_until(
        lambda: (run := doctor(daemon_stack))[1]["fluxd"][0] == "FAIL" and run,
        timeout=150,
        interval=5,
    )
    assert code == 1
    assert found["api"][0] == "ok"
    assert found["fluxd"][0] == "FAIL" and found["fluxd"][1].startswith("not reachable")


def test_a_node_without_docker_and_syncthing_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    data_dir.mkdir()
    (data_dir / "fluxos.toml").write_text("[daemon]\nembedded = false\n")
    node = NodeProcess(
        data_dir,
        env={
            "DOCKER_HOST": f"unix://{tmp_path}/no-dockerd.sock",
            "FLUXOS_SYNCTHING": f'{{"binary": "{tmp_path}/no-syncthing"}}',
        },
    ).start()
    try:
        wait_until(lambda: "this node started without" in node.output(), timeout=90, interval=1)
    finally:
        node.stop()
    report = node.output().split("this node started without", 1)[1]
    assert report.startswith(" Docker and Syncthing:")
    assert "Docker: Docker is not reachable" in report and "apt-get install docker.io" in report
    assert f"Syncthing: no Syncthing >= 1.23.0 found ({tmp_path}/no-syncthing (absent))" in report
