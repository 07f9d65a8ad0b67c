"""The layering ARCHITECTURE.md draws, checked on the source: the modules each package
imports, read with `ast` (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import fluxos

SOURCE = Path(fluxos.__file__).parent


def imports_of(package: str) -> dict[str, set[str]]:
    """{module path under src/fluxos: the top modules it imports}, for one package."""
    found: dict[str, set[str]] = {}
    for path in sorted((SOURCE / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(SOURCE))] = names
    return found


def test_sqlalchemy_is_imported_only_under_storage() -> None:
    outside = {
        path: names
        for path, names in imports_of("").items()
        if not path.startswith("storage/")
        and any(name == "sqlalchemy" or name.startswith("sqlalchemy.") for name in names)
    }
    assert outside == {}


def test_storage_and_wire_import_nothing_of_ours_but_themselves() -> None:
    for package in ("storage", "wire"):
        for path, names in imports_of(package).items():
            ours = {n for n in names if n.startswith("fluxos.")}
            assert all(n.startswith(f"fluxos.{package}") for n in ours), (path, ours)


def test_identity_imports_nothing_from_the_api() -> None:
    for path, names in imports_of("identity").items():
        assert not any(n == "fluxos.api" or n.startswith("fluxos.api.") for n in names), path
