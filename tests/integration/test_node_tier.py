"""The node's tier from its devnet collateral, and the hardware gate of login phrases."""

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from fluxos.identity.gates import TIER_MINIMUMS
from fluxos.system.nodetier import TIERS
from tests.support.devnetprocess import DevnetProcess
from tests.support.processes import running_node


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetProcess]:
    process = DevnetProcess(tmp_path_factory.mktemp("tier") / "devnet").start()
    try:
        yield process
    finally:
        process.stop()


def _settings(path: Path, devnet: DevnetProcess, development: bool) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "fluxos.toml").write_text(
        f'fluxd_conf = "{devnet.conf_file()}"\ndevelopment = {str(development).lower()}\n'
    )
    return path


def _collateral_amount(devnet: DevnetProcess) -> int:
    status = devnet.rpc().call("getfluxnodestatus")
    txid, index = status["collateral"][len("COutPoint(") : -1].split(", ")
    return int(devnet.rpc().call("getrawtransaction", txid, 1)["vout"][int(index)]["value"])


def test_node_tier_follows_the_collateral(devnet: DevnetProcess, tmp_path: Path) -> None:
    amount = _collateral_amount(devnet)
    with running_node(_settings(tmp_path / "node", devnet, development=True)) as node:
        reply = node.get("/flux/nodetier").json()
    assert reply == {"status": "success", "data": TIERS[amount][1]}


def test_hardware_gate_guards_login_phrases_on_a_real_tier(
    devnet: DevnetProcess, tmp_path: Path
) -> None:
    amount = _collateral_amount(devnet)
    ram, threads = TIER_MINIMUMS[(TIERS[amount][0], amount)]
    machine_ok = (
        psutil.virtual_memory().total / 1024**3 >= ram
        and (psutil.cpu_count(logical=True) or 1) >= threads
    )
    with running_node(_settings(tmp_path / "strict", devnet, development=False)) as node:
        phrase = node.get("/id/loginphrase").json()
        emergency = node.get("/id/emergencyphrase").json()
    if machine_ok:
        assert phrase["status"] == "success"
    else:
        assert phrase == {
            "status": "error",
            "data": {"name": "Error", "message": "Node hardware requirements not met"},
        }
    assert emergency["status"] == "success"  # the emergency phrase skips every gate
    with running_node(_settings(tmp_path / "dev", devnet, development=True)) as node:
        assert node.get("/id/loginphrase").json()["status"] == "success"
