"""/flux/allowport over HTTP: the operator's `[hooks] allow_port` command runs with the
port appended, and its output (ufw's words) decides the answer."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemons import Admin
from tests.support.processes import NodeProcess

# What the operator's command does here: remember the port in a file and answer as ufw
# does ("Rule added" the first time, "Skipping adding existing rule" after, an error for
# port 22 as a firewall that refuses it).
FIREWALL = """
import pathlib, sys
port = sys.argv[1]
rules = pathlib.Path(sys.argv[0]).with_name("rules.txt")
known = rules.read_text().split() if rules.exists() else []
if port == "22":
    print("ERROR: port 22 is managed elsewhere")
elif port in known:
    print("Skipping adding existing rule")
else:
    rules.write_text(" ".join(known + [port]))
    print("Rule added")
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("allowport")
    script = tmp / "firewall.py"
    script.write_text(FIREWALL)
    admin = Admin()
    data_dir = tmp / "node"
    data_dir.mkdir()
    hook = json.dumps([sys.executable, str(script)])
    (data_dir / "fluxos.toml").write_text(
        f'zelid = "{admin.zelid}"\n[daemon]\nembedded = false\n[hooks]\nallow_port = {hook}\n'
    )
    process = NodeProcess(data_dir).start()
    try:
        yield process, admin.login(process.url)
    finally:
        process.stop()


def test_allowport_runs_the_hook_and_reads_its_output(node, tmp_path: Path) -> None:
    process, admin = node
    first = process.get("/flux/allowport/31000", headers=admin).json()
    assert first == {
        "status": "success",
        "data": {"code": "31000", "name": "31000", "message": "Rule added"},
    }
    again = process.get("/flux/allowport?port=31000", headers=admin).json()
    assert again["data"]["message"] == "existing"
    refused = process.get("/flux/allowport/22", headers=admin).json()
    assert refused == {
        "status": "error",
        "data": {"code": "22", "name": "22", "message": "ERROR: port 22 is managed elsewhere"},
    }
    word = process.get("/flux/allowport/ssh", headers=admin).json()
    assert word["data"]["message"] == "Port needs to be a number"
    missing = process.get("/flux/allowport", headers=admin).json()
    assert missing["data"]["message"] == "No Port address specified."


def test_allowport_needs_the_admin(node) -> None:
    process, _admin = node
    reply = process.get("/flux/allowport/31001").json()
    assert reply["status"] == "error" and reply["data"]["code"] == 401
