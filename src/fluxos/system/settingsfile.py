"""Writing the operator's `fluxos.toml` (spec system.md §1.1, §6).

Edits keep the rest of the file as it is (comments, unknown keys, upstream's camelCase
names) and land atomically: the new text goes to a temporary file beside it, is flushed
to disk, and replaces the old one with one `rename`, so a crash or a kill at any moment
leaves either the old file or the new one, never a torn mix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from fluxos.config import ALIASES, CONFIG_FILE
from fluxos.errors import FluxError

log = logging.getLogger(__name__)

TEMP_PREFIX = f".{CONFIG_FILE}."
TEMP_SUFFIX = ".tmp"


class SettingsFile:
    """The data dir's `fluxos.toml`, edited key by key."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CONFIG_FILE

    def read(self) -> tomlkit.TOMLDocument:
        if not self.path.exists():
            return tomlkit.document()
        try:
            return tomlkit.parse(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, TOMLKitError) as error:
            raise FluxError(f"cannot read {self.path}: {error}") from error

    def update(self, values: Mapping[str, Any]) -> None:
        """Set top-level keys (our snake_case names) and write the file atomically.

        A key the file spells the upstream way (`blockedPorts`) keeps that spelling; a
        value of None removes the key.
        """
        document = self.read()
        for name, value in values.items():
            spellings = [key for key in document if ALIASES.get(key, key) == name]
            target = spellings[0] if spellings else name
            for duplicate in spellings[1:]:
                del document[duplicate]
            if value is None:
                document.pop(target, None)
            else:
                document[target] = list(value) if isinstance(value, tuple) else value
        self.write_text(tomlkit.dumps(document))

    def write_text(self, text: str) -> None:
        """Replace the file's content with `text` atomically (temp file, fsync, rename)."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temporaries()
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o600
        handle, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as output:
                output.write(text)
                output.flush()
                os.fchmod(output.fileno(), mode)
                os.fsync(output.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise FluxError(f"cannot write {self.path}: {error}") from error
        _fsync_directory(directory)
        log.info("wrote %s", self.path)

    def _remove_stale_temporaries(self) -> None:
        """Temporary files a killed writer left behind (never read: the file is whole)."""
        for stale in self.path.parent.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                stale.unlink()
                log.info("removed %s, left by an interrupted settings write", stale.name)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the directory)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
