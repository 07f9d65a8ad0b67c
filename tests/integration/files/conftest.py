"""One embedded-devnet node for the FluxShare tests, with its owner logged in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.system.conftest import start_system_node
from tests.support.daemons import Admin
from tests.support.processes import NodeProcess


@dataclass
class ShareNode:
    node: NodeProcess
    admin: Admin
    headers: dict[str, str]
    tmp: Path

    @property
    def share(self) -> Path:
        return self.node.data_dir / "apps" / "ZelShare"

    def admin_get(self, path: str, **kwargs: Any) -> Any:
        return self.node.get(path, headers=self.headers, **kwargs).json()

    def data(self, path: str) -> Any:
        reply = self.admin_get(path)
        assert reply["status"] == "success", (path, reply)
        return reply["data"]


@pytest.fixture(scope="module")
def share_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShareNode]:
    tmp = tmp_path_factory.mktemp("fluxshare")
    node, admin = start_system_node(tmp)
    try:
        yield ShareNode(node, admin, admin.login(node.url), tmp)
    finally:
        node.stop()
