"""Installed UI bundles: a `dist.tar.gz` of a single-page app, verified and unpacked into
the data dir, then switched to in one step.

Layout under `<data dir>/ui/`: each install unpacks into `releases/<digest>-<n>/` and
`current` is a symlink to the one served; the switch is a `rename(2)` of a fresh symlink
over `current`, so a reader sees the old bundle or the new one, never a half-written
tree. Like upstream's CloudUI folder, the served tree holds a `version` file with the
bundle's sha256 (Flux's tools read it to tell which UI a node serves). The previous
release is kept (a request still reading it finishes); older ones are removed.

Unpacking trusts nothing in the archive: only regular files and directories, each name
relative and inside the release directory (no `..`, no absolute paths, no links,
devices or fifos), with limits on the entry count and unpacked size.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fluxos.errors import BadParameter, FluxError

log = logging.getLogger(__name__)

VERSION_FILE = "version"
INDEX = "index.html"
MAX_ENTRIES = 20_000
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
# upstream drops these from the frontend's build: a bundle-size report and Netlify rules
_DROPPED = ("stats.html", "_redirects")


class BundleError(FluxError):
    """A bundle that cannot be installed: the message says which rule it broke."""


@dataclass(frozen=True)
class Installed:
    digest: str
    path: Path


def parse_digest(text: str) -> str:
    """A sha256 digest given as 64 hex digits, optionally `sha256:`-prefixed (GitHub's form)."""
    match = _DIGEST.match(text.strip())
    if match is None:
        raise BadParameter(f"sha256 must be 64 hexadecimal digits (sha256:… allowed), got {text!r}")
    return match.group(1).lower()


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


class UiBundles:
    """The bundles of one node: which one is served, and installing another."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.releases = root / "releases"
        self.current_link = root / "current"

    def current(self) -> Path | None:
        """The directory served now (resolved), or None when no bundle is installed."""
        try:
            target = self.current_link.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return target if (target / INDEX).is_file() else None

    def installed(self) -> Installed | None:
        path = self.current()
        if path is None:
            return None
        try:
            digest = (path / VERSION_FILE).read_text().strip()
        except OSError:
            digest = ""
        return Installed(digest, path)

    def install(self, archive: Path, expected: str | None = None) -> Installed:
        """Verify `archive` against `expected` (sha256), unpack it and switch to it.

        Raises `BundleError` (and leaves the served bundle as it was) on a digest mismatch
        or an archive that breaks a rule."""
        digest = file_digest(archive)
        if expected is not None and parse_digest(expected) != digest:
            raise BundleError(
                f"sha256 mismatch: the bundle's digest is {digest}, expected "
                f"{parse_digest(expected)}; nothing was installed"
            )
        self.releases.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{digest[:16]}-", dir=self.releases))
        try:
            _unpack(archive, staging)
            tree = _served_tree(staging)
            for name in _DROPPED:
                (tree / name).unlink(missing_ok=True)
            (tree / VERSION_FILE).write_text(digest + "\n")
            release = self._release_dir(digest)
            tree.rename(release)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        previous = self.current()
        self._switch_to(release)
        self._prune(keep={release, *([previous] if previous is not None else [])})
        log.info("UI bundle %s installed in %s and now served", digest[:12], release)
        return Installed(digest, release)

    def _release_dir(self, digest: str) -> Path:
        for n in range(1, 10_000):
            candidate = self.releases / f"{digest[:16]}-{n}"
            if not candidate.exists():
                return candidate
        raise BundleError(f"too many releases of {digest[:16]} in {self.releases}")

    def _switch_to(self, release: Path) -> None:
        temporary = self.root / f".current-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(release.relative_to(self.root))
        os.replace(temporary, self.current_link)

    def _prune(self, keep: set[Path]) -> None:
        """Remove every release but the one served and the one served before it."""
        kept = {path.resolve() for path in keep}
        for path in self.releases.iterdir():
            if path.is_dir() and not path.name.startswith(".") and path.resolve() not in kept:
                shutil.rmtree(path, ignore_errors=True)


def _unpack(archive: Path, into: Path) -> None:
    """Extract regular files and directories of a (gzipped) tarball, checking each name."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            total = 0
            for count, member in enumerate(_members(tar), start=1):
                if count > MAX_ENTRIES:
                    raise BundleError(f"the bundle has more than {MAX_ENTRIES} entries")
                target = _inside(into, member.name)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                total += member.size
                if total > MAX_UNPACKED_BYTES:
                    raise BundleError(f"the bundle unpacks to more than {MAX_UNPACKED_BYTES} bytes")
                source = tar.extractfile(member)
                if source is None:
                    raise BundleError(f"bundle entry {member.name!r} cannot be read")
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                target.chmod(0o644)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BundleError(f"the bundle is not a readable .tar.gz archive: {error}") from None


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    for member in tar:
        if not (member.isfile() or member.isdir()):
            raise BundleError(
                f"bundle entry {member.name!r} is not a regular file or directory "
                "(links, devices and fifos are refused)"
            )
        yield member


def _inside(root: Path, name: str) -> Path:
    """`root / name` for an archive name that stays inside `root`, else BundleError."""
    pure = PurePosixPath(name)
    parts = [part for part in pure.parts if part not in ("", ".")]
    if pure.is_absolute() or ".." in parts or any("\\" in part for part in parts):
        raise BundleError(f"bundle entry {name!r} points outside the bundle")
    target = root.joinpath(*parts) if parts else root
    resolved = target.resolve()
    with contextlib.suppress(ValueError):
        resolved.relative_to(root.resolve())
        return target
    raise BundleError(f"bundle entry {name!r} points outside the bundle")


def _served_tree(unpacked: Path) -> Path:
    """The directory holding `index.html`: the archive's top level, or its one `dist/`
    folder (the frontend's release archives hold either)."""
    if (unpacked / INDEX).is_file():
        return unpacked
    entries = [p for p in unpacked.iterdir()]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / INDEX).is_file():
        return entries[0]
    raise BundleError(f"the bundle has no {INDEX} at its top level or in a single folder")
