"""The node's tier from its devnet collateral, and the hardware gate of login phrases."""

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from fluxos.errors import FluxError
from fluxos.identity.gates import TIER_MINIMUMS, HardwareGate
from fluxos.system.nodetier import TIERS, HostHardware, NodeTier
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


def test_a_devnet_node_logs_in_whatever_its_hardware(devnet: DevnetProcess, tmp_path: Path) -> None:
    """The devnet is a regtest chain: its fluxnode's tier asks nothing of this machine."""
    assert devnet.rpc().call("getblockchaininfo")["chain"] == "regtest"
    with running_node(_settings(tmp_path / "strict", devnet, development=False)) as node:
        assert node.get("/flux/nodetier").json()["status"] == "success"
        assert node.get("/id/loginphrase").json()["status"] == "success"
        assert node.get("/id/emergencyphrase").json()["status"] == "success"
    # on any machine, however large: the gate saw the regtest chain and checked no tier
    log = (tmp_path / "strict" / "logs" / "info.log").read_text()
    assert "fluxd runs a regtest chain" in log


class MainnetFluxd:
    """fluxd as a mainnet fluxnode answers the three calls of the tier lookup."""

    def __init__(self, amount: int) -> None:
        self.amount = amount
        self.calls: list[str] = []

    async def call(self, method: str, *params: object, use_cache: bool = True) -> object:
        self.calls.append(method)
        answers = {
            "getblockchaininfo": {"chain": "main"},
            "getfluxnodestatus": {"collateral": f"COutPoint({'ab' * 32}, 1)"},
            "getrawtransaction": {"vout": [{"value": 3.5}, {"value": self.amount}]},
        }
        return answers[method]


@pytest.mark.parametrize("amount", sorted(TIERS))
async def test_on_mainnet_the_gate_holds_this_machine_to_its_tier(amount: int) -> None:
    internal, _ = TIERS[amount]
    ram, threads = TIER_MINIMUMS[(internal, amount)]
    fluxd = MainnetFluxd(amount)
    facts = await HostHardware(NodeTier(fluxd)).hardware()
    assert (facts.tier, facts.collateral) == (internal, amount)
    assert facts.ram_gib == psutil.virtual_memory().total / 1024**3
    machine_ok = facts.ram_gib >= ram and facts.cpu_threads >= threads
    gate = HardwareGate(HostHardware(NodeTier(fluxd)))
    if machine_ok:
        await gate.check()
    else:
        with pytest.raises(FluxError, match="Node hardware requirements not met"):
            await gate.check()


class AbsentFluxd:
    async def call(self, method: str, *params: object, use_cache: bool = True) -> object:
        raise ConnectionRefusedError("fluxd is not running")


async def test_a_tier_that_cannot_be_looked_up_asks_nothing() -> None:
    facts = await HostHardware(NodeTier(AbsentFluxd())).hardware()
    assert (facts.tier, facts.collateral) == (None, None)
    await HardwareGate(HostHardware(NodeTier(AbsentFluxd()))).check()
