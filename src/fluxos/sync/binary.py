"""Finding a Syncthing binary new enough for the REST calls the node makes.

Syncthing 1.23 is the first with `/rest/noauth/health` (the device-id check every peer
relies on); 1.20 added `remoteState` to `db/completion` and 1.21 `/rest/system/paths`.
Debian bookworm ships 1.19, so a `syncthing` on PATH may be too old: it is skipped with a
log line and the next candidate is tried.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MINIMUM_VERSION = (1, 23, 0)
TOOLS_ENV = "FLUXOS_TOOLS_DIR"
# The project's set-up installs Debian trixie's static Syncthing into a tools dir; the
# binary sits at usr/bin/syncthing inside it (the package unpacked with dpkg -x).
TOOLS_RELATIVE = ("syncthing/usr/bin/syncthing", "usr/bin/syncthing", "bin/syncthing")
_VERSION = re.compile(r"syncthing v(\d+)\.(\d+)\.(\d+)")
INSTALL_HINT = (
    "install Syncthing >= 1.23 with `bash setup/install-syncthing` (Debian trixie's 1.29 "
    "into .tools/syncthing), or set [syncthing] binary in fluxos.toml"
)


@dataclass(frozen=True)
class SyncthingBinary:
    path: Path
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


class SyncthingMissing(Exception):
    """No usable Syncthing binary; the message says what was looked at and how to install."""


def binary_version(path: Path) -> tuple[int, int, int] | None:
    """`syncthing --version` parsed, or None when it does not run or says nothing we know."""
    try:
        output = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(output)
    if not match:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def candidates(configured: Path | None, project_root: Path | None = None) -> list[Path]:
    """Where to look, in order: the configured binary, the tools dirs, PATH."""
    found: list[Path] = []
    if configured is not None:
        return [configured]
    tool_dirs = [Path(d) for d in os.environ.get(TOOLS_ENV, "").split(os.pathsep) if d]
    root = project_root or Path(__file__).resolve().parents[3]
    tool_dirs.append(root / ".tools")
    for directory in tool_dirs:
        found.extend(directory / relative for relative in TOOLS_RELATIVE)
    on_path = shutil.which("syncthing")
    if on_path:
        found.append(Path(on_path))
    return found


def find_syncthing(configured: Path | None = None) -> SyncthingBinary:
    """The first candidate that runs and is at least MINIMUM_VERSION."""
    looked: list[str] = []
    for path in candidates(configured):
        if not path.is_file():
            looked.append(f"{path} (absent)")
            continue
        version = binary_version(path)
        if version is None:
            looked.append(f"{path} (does not run)")
            continue
        if version < MINIMUM_VERSION:
            log.warning(
                "Syncthing %s at %s is too old (the node needs >= %s): trying the next one",
                ".".join(map(str, version)),
                path,
                ".".join(map(str, MINIMUM_VERSION)),
            )
            looked.append(f"{path} (version {'.'.join(map(str, version))})")
            continue
        return SyncthingBinary(path, version)
    raise SyncthingMissing(
        f"no Syncthing >= {'.'.join(map(str, MINIMUM_VERSION))} found "
        f"({'; '.join(looked) or 'nothing configured and none on PATH'}): {INSTALL_HINT}"
    )
