"""The safety facts about an app volume that decide whether it may sync (upstream #1761).

A synced folder is the whole volume root, a mount point. Unmounted, the directory under
it is the host's and must never be synced from nor take writes; mounted but empty while
Syncthing's index says the folder holds data (a "phantom index": emptied while the node
was down, or a fresh disk), sending from it would broadcast deletions that wipe every
healthy replica. `.stfolder` (Syncthing's folder marker) is only ever made inside a
mounted volume, so an unmounted directory also stops Syncthing itself.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MOUNTINFO = Path("/proc/self/mountinfo")
MARKER = ".stfolder"
IGNORES = ".stignore"
IGNORE_LINES = "/backup\n/lost+found\n"  # backups stay local (§3); ext4's own directory
NOT_DATA = frozenset({MARKER, IGNORES, "backup", "lost+found"})


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out: list[str] = []
    index = 0
    while index < len(field):
        code = field[index + 1 : index + 4]
        if field[index] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)


def mount_points(mountinfo: Path = MOUNTINFO) -> frozenset[str]:
    """Every mount point of this process's mount namespace."""
    try:
        text = mountinfo.read_text()
    except OSError as error:
        log.warning("cannot read %s (%s): no volume counts as mounted", mountinfo, error)
        return frozenset()
    points = set()
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            points.add(_unescape(fields[4]))
    return frozenset(points)


def is_mounted(volume: Path, points: frozenset[str] | None = None) -> bool:
    """Whether `volume` itself is a mount point (not merely inside one)."""
    try:
        real = os.path.realpath(volume)
    except OSError:
        return False
    return real in (points if points is not None else mount_points())


def holds_files(volume: Path) -> bool:
    """Whether the volume holds any regular file outside the markers and backups (stops
    at the first one found)."""
    stack = [volume]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if directory == volume and entry.name in NOT_DATA:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    return True
            except OSError:
                continue
    return False


@dataclass(frozen=True)
class VolumeSafety:
    """Why a volume may or may not send (`reason` is for the log and status views)."""

    mounted: bool
    has_data: bool
    reason: str

    @property
    def usable(self) -> bool:
        """Mounted: it may receive, and the app may run on it once the copy is verified."""
        return self.mounted


def inspect(volume: Path, points: frozenset[str] | None = None) -> VolumeSafety:
    mounted = is_mounted(volume, points)
    has_data = holds_files(volume) if volume.is_dir() else False
    if not mounted:
        reason = (
            f"{volume} is not mounted"
            + (" and holds files of the host's disk" if has_data else "")
            + ": never synced, no app runs on it"
        )
    elif not has_data:
        reason = f"{volume} is mounted but holds no data"
    else:
        reason = f"{volume} is mounted and holds data"
    return VolumeSafety(mounted, has_data, reason)


def sends_safely(safety: VolumeSafety, global_files: int) -> str | None:
    """None when a folder on this volume may be send-receive, else why not
    (`global_files`: the files Syncthing's global index holds for the folder)."""
    if not safety.mounted:
        return safety.reason
    if global_files > 0 and not safety.has_data:
        return (
            f"phantom index: Syncthing's index holds {global_files} files but the volume "
            "has none; sending would broadcast deletions to every replica"
        )
    return None


def prepare_markers(volume: Path, points: frozenset[str] | None = None) -> bool:
    """Make `.stfolder` and `.stignore` inside a mounted volume; False (and nothing
    written) when the volume is not mounted."""
    if not is_mounted(volume, points):
        return False
    (volume / MARKER).mkdir(exist_ok=True)
    ignores = volume / IGNORES
    if not ignores.exists() or ignores.read_text() != IGNORE_LINES:
        ignores.write_text(IGNORE_LINES)
    return True


def layout(volume: Path) -> dict[str, bool]:
    """The volume's top-level entries the runtime laid out (`appdata`, `m:` dirs, `f:`
    files): name → is a directory. A revert to the global copy deletes what only this
    node holds, bind-mount sources included; they are put back after it."""
    found: dict[str, bool] = {}
    try:
        for entry in os.scandir(volume):
            if entry.name not in NOT_DATA:
                found[entry.name] = entry.is_dir(follow_symlinks=False)
    except OSError:
        pass
    return found


def restore_layout(volume: Path, entries: dict[str, bool]) -> list[str]:
    """Recreate (mode 777, empty) the laid-out entries a revert removed; their names."""
    restored = []
    for name, is_dir in entries.items():
        path = volume / name
        if path.exists():
            continue
        if is_dir:
            path.mkdir()
        else:
            path.touch()
        path.chmod(0o777)
        restored.append(name)
    return restored
