"""One embedded-devnet node for the system route tests, with its owner logged in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.daemons import Admin, answers
from tests.support.processes import NodeProcess, wait_until


@dataclass
class SystemNode:
    node: NodeProcess
    admin: Admin
    headers: dict[str, str]
    home: Path

    def data(self, path: str, *, admin: bool = False) -> object:
        reply = self.node.get(path, headers=self.headers if admin else {}).json()
        assert reply["status"] == "success", (path, reply)
        return reply["data"]


def succeeds(node: NodeProcess, path: str) -> object:
    reply = node.get(path).json()
    return reply["data"] if reply["status"] == "success" else None


def start_system_node(tmp: Path, extra_toml: str = "") -> tuple[NodeProcess, Admin]:
    admin = Admin()
    (tmp / "node").mkdir(parents=True, exist_ok=True)
    (tmp / "node" / "fluxos.toml").write_text(
        "# the operator's own comment survives adjustments\n"
        f'zelid = "{admin.zelid}"\n'
        'pgpPublicKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----"\n'
        "[daemon]\ndevnet_block_time = 0\n" + extra_toml
    )
    node = NodeProcess(tmp / "node", env={"HOME": str(tmp / "home")})
    node.start(wait=False)
    wait_until(lambda: answers(node), timeout=120, interval=0.2)
    wait_until(lambda: succeeds(node, "/daemon/getblockcount"), timeout=90, interval=0.5)
    return node, admin


@pytest.fixture(scope="module")
def system_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemNode]:
    tmp = tmp_path_factory.mktemp("system")
    node, admin = start_system_node(tmp)
    try:
        yield SystemNode(node, admin, admin.login(node.url), tmp / "home")
    finally:
        node.stop()
