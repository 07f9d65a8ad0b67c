"""Real Syncthing for tests: the binary (or the exact command that installs it), and a
`fluxos start` node whose Syncthing is stopped again when the test ends (a node never
stops its own Syncthing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fluxos.sync.binary import SyncthingBinary, SyncthingMissing, find_syncthing
from tests.support.processes import NodeProcess

INSTALL = "bash setup/install-syncthing"


def syncthing_binary() -> SyncthingBinary:
    """Syncthing >= 1.23 as the node finds it; fails the test with the install command."""
    try:
        return find_syncthing()
    except SyncthingMissing as missing:
        pytest.fail(f"{missing}\ninstall it with: {INSTALL}")


def node_toml(zelid: str, *, team: bool = False) -> str:
    """A fluxos.toml for a node with no devnet of its own (`team`: the owner is also the
    Flux team, for the fluxteam routes)."""
    lines = [f'zelid = "{zelid}"']
    if team:
        lines.append(f'flux_team_zelid = "{zelid}"')
    lines += ["[daemon]", "embedded = false"]
    return "\n".join(lines) + "\n"


def syncthing_env(**settings: Any) -> dict[str, str]:
    """The environment that gives a test node its Syncthing (`[syncthing]` as JSON)."""
    values = {"enabled": True, "binary": str(syncthing_binary().path), **settings}
    return {"FLUXOS_SYNCTHING": json.dumps(values)}


def stop_syncthing(data_dir: Path, host: str) -> str:
    """`fluxos syncthing stop` for that node; its output."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fluxos",
            "syncthing",
            "stop",
            "--data-dir",
            str(data_dir),
            "--host",
            host,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "FLUXOS_LOG_CONSOLE": "false"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@contextmanager
def node_with_syncthing(
    data_dir: Path, toml: str, syncthing: dict[str, Any] | None = None, **kwargs: Any
) -> Iterator[NodeProcess]:
    """A started node (fluxos start) that runs its Syncthing; both stopped afterwards."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "fluxos.toml").write_text(toml)
    node = NodeProcess(data_dir, env=syncthing_env(**(syncthing or {})), **kwargs)
    try:
        node.start()
        yield node
    finally:
        if node.process is not None:
            node.stop()
        stop_syncthing(data_dir, node.host)
