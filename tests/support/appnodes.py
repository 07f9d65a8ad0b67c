"""Nodes for the apps tests: `fluxos start` without fluxd, so app rules apply at the latest
fork height (the embedded devnet and bench are off, and no ~/.flux/flux.conf is found)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import NodeProcess, running_node


@contextmanager
def node_without_fluxd(
    data_dir: Path, env: dict[str, str] | None = None, toml: str = ""
) -> Iterator[NodeProcess]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "fluxos.toml").write_text(f"{toml}\n[daemon]\nembedded = false\n")
    home = data_dir / "home"
    home.mkdir(exist_ok=True)
    with running_node(data_dir, env={"HOME": str(home), **(env or {})}) as node:
        yield node
