"""Logging in to a real `fluxos start` process: the CLI a curl user runs, and the websocket."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fluxos import cli
from fluxos.crypto import verify_message
from fluxos.wire.bodies import parse_qs
from tests.support.identity import Person
from tests.support.processes import NodeProcess, running_node


def fluxos(*args: str) -> subprocess.CompletedProcess[str]:
    """`fluxos ARGS` as a separate process, as a curl user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "fluxos", *args], capture_output=True, text=True, timeout=60
    )


def fluxos_here(*args: str) -> Result:
    """The same command line run in this process (faster; for the offline commands)."""
    return CliRunner().invoke(cli.app, list(args))


@pytest.fixture(scope="module")
def owner_key() -> dict[str, str]:
    made = fluxos_here("keygen", "--json")
    assert made.exit_code == 0, made.output
    return json.loads(made.stdout)


@pytest.fixture(scope="module")
def node(
    tmp_path_factory: pytest.TempPathFactory, owner_key: dict[str, str]
) -> Iterator[NodeProcess]:
    data_dir = tmp_path_factory.mktemp("node")
    (data_dir / "fluxos.toml").write_text(f'zelid = "{owner_key["address"]}"\n')
    with running_node(data_dir) as process:
        yield process


def test_keygen_and_sign(owner_key: dict[str, str]) -> None:
    assert owner_key["address"].startswith("1") and owner_key["wif"][0] in "KL"
    message = "1750000000000" + "a" * 43
    signed = fluxos("sign", "--key", owner_key["wif"], message)
    assert signed.returncode == 0, signed.stderr
    assert verify_message(message, owner_key["address"], signed.stdout.strip())
    eth = json.loads(fluxos_here("keygen", "--eth", "--json").stdout)
    eth_signed = fluxos_here("sign", "--eth-key", eth["eth_key"], message).stdout.strip()
    assert verify_message(message, eth["address"], eth_signed)
    plain = fluxos_here("keygen").stdout.splitlines()
    assert plain[0].startswith("address: 1") and plain[1].startswith("wif: ")


def test_bad_keys_are_refused_by_name() -> None:
    bad = fluxos_here("sign", "--key", "notawif", "message")
    assert bad.exit_code == 2 and "--key must be a WIF private key" in bad.stderr
    both = fluxos_here("sign", "--key", "x", "--eth-key", "y", "message")
    assert both.exit_code == 2 and "exactly one of --key" in both.stderr
    bad_eth = fluxos_here("login", "--url", "http://127.0.0.1:1", "--eth-key", "zz")
    assert bad_eth.exit_code == 2 and "--eth-key must be 64 hex digits" in bad_eth.stderr


def test_cli_login_gives_a_working_header(node: NodeProcess, owner_key: dict[str, str]) -> None:
    logged = fluxos("login", "--url", node.url, "--key", owner_key["wif"])
    assert logged.returncode == 0, logged.stderr
    header = logged.stdout.strip()
    assert header.startswith(f"zelid={owner_key['address']}&signature=")
    assert "+" not in header and "/" not in header  # URL-encoded, ready for curl -H
    users = node.get("/id/loggedusers", headers={"zelidauth": header}).json()
    assert users["status"] == "success"
    assert [row["zelid"] for row in users["data"]] == [owner_key["address"]]
    privilege = node.post("/id/checkprivilege", content=json.dumps(parse_qs(header))).json()
    assert privilege == {"status": "success", "data": {"message": "admin"}}


def test_cli_ethereum_login(node: NodeProcess) -> None:
    eth = json.loads(fluxos_here("keygen", "--eth", "--json").stdout)
    logged = fluxos("login", "--url", node.url, "--eth-key", eth["eth_key"], "--json")
    assert logged.returncode == 0, logged.stderr
    header = logged.stdout.strip()
    assert json.loads(header)["zelid"] == eth["address"]
    sessions = node.get("/id/loggedsessions", headers={"zelidauth": header}).json()
    assert [row["zelid"] for row in sessions["data"]] == [eth["address"]]
    # a user is not the admin
    assert node.get("/id/loggedusers", headers={"zelidauth": header}).json()["data"]["code"] == 401


def test_cli_login_against_nothing_fails_cleanly(owner_key: dict[str, str]) -> None:
    failed = fluxos("login", "--url", "http://127.0.0.1:9", "--key", owner_key["wif"])
    assert failed.returncode == 1 and "fluxos:" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_websocket_login_round_trip(node: NodeProcess) -> None:
    person = Person()
    phrase = node.get("/id/loginphrase").json()["data"]
    ws_url = node.url.replace("http://", "ws://")
    with connect(f"{ws_url}/ws/id/{phrase}") as socket:
        reply = httpx.post(f"{node.url}/id/verifylogin", json=person.login_body(phrase)).json()
        assert reply["status"] == "success"
        frame = socket.recv(timeout=30)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=30)
    assert socket.close_code == 4012
    data = parse_qs(str(frame))["data"]
    assert data["zelid"] == person.zelid and data["privilage"] == "user"
    assert data["signature"] == reply["data"]["signature"]


def test_unhealthy_gates_are_logged(node: NodeProcess, owner_key: dict[str, str]) -> None:
    del owner_key
    log = (Path(node.data_dir) / "logs" / "warn.log").read_text()
    assert "login phrases are issued without the syncthing, docker" in log
