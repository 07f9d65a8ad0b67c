"""Which code this node runs (`/flux/currentbranch`, `/flux/currentcommitid`, upstream 8.18):
the installed version, and when run from a git checkout its branch and commit, read from
`.git` directly (no git binary needed)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import fluxos

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceInfo:
    version: str
    branch: str | None
    commit: str | None


def _git_dir(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree: "gitdir: <path>"
            text = candidate.read_text().strip()
            if text.startswith("gitdir:"):
                return (directory / text.split(":", 1)[1].strip()).resolve()
    return None


def _common_dir(git_dir: Path) -> Path:
    common = git_dir / "commondir"
    if common.is_file():
        return (git_dir / common.read_text().strip()).resolve()
    return git_dir


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    for directory in (git_dir, _common_dir(git_dir)):
        loose = directory / ref
        if loose.is_file():
            return loose.read_text().strip() or None
        packed = directory / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                parts = line.split(" ", 1)
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    return None


def read_source_info(package_dir: Path | None = None) -> SourceInfo:
    """The version, and the git branch and commit of the checkout the package runs from."""
    start = package_dir or Path(fluxos.__file__).resolve().parent
    version = fluxos.__version__
    try:
        git_dir = _git_dir(start)
        if git_dir is None:
            return SourceInfo(version, None, None)
        head = (git_dir / "HEAD").read_text().strip()
    except OSError as error:
        log.debug("no git checkout readable at %s: %s", start, error)
        return SourceInfo(version, None, None)
    if head.startswith("ref:"):
        ref = head.split(":", 1)[1].strip()
        branch = ref.removeprefix("refs/heads/")
        return SourceInfo(version, branch, _resolve_ref(git_dir, ref))
    return SourceInfo(version, None, head or None)  # a detached HEAD
