"""flux.conf: read and write fluxd's configuration file the way FluxOS does.

Each line is trimmed and split at the first `=`. A key that repeats (`addnode=`,
`rpcallowip=`) keeps every value in order; lines without `=` (comments, blanks inside
the file) are kept and written back verbatim.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class FluxConf:
    """Ordered entries of a flux.conf; a `None` value marks a verbatim (comment) line."""

    entries: list[tuple[str, str | None]] = field(default_factory=list)

    @classmethod
    def loads(cls, text: str) -> FluxConf:
        conf = cls()
        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            key, sep, value = line.partition("=")
            conf.entries.append((key.strip(), value.strip()) if sep else (line, None))
        return conf

    @classmethod
    def read(cls, path: Path) -> FluxConf:
        return cls.loads(path.read_text(encoding="utf-8"))

    def dumps(self) -> str:
        lines = [key if value is None else f"{key}={value}" for key, value in self.entries]
        return "\n".join(lines) + ("\n" if lines else "")

    def write(self, path: Path, mode: int = 0o600) -> None:
        """Write atomically (temp file then rename); credentials inside, so owner-only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.dumps())
        os.replace(tmp, path)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of `key` (fluxd reads the first occurrence of single-valued keys)."""
        for k, v in self.entries:
            if k == key and v is not None:
                return v
        return default

    def get_all(self, key: str) -> list[str]:
        return [v for k, v in self.entries if k == key and v is not None]

    def set(self, key: str, value: str) -> None:
        """Give `key` exactly one value, keeping the position of its first occurrence."""
        out: list[tuple[str, str | None]] = []
        placed = False
        for k, v in self.entries:
            if k == key and v is not None:
                if not placed:
                    out.append((key, value))
                    placed = True
                continue
            out.append((k, v))
        if not placed:
            out.append((key, value))
        self.entries = out

    def add(self, key: str, value: str) -> None:
        """Append another value for a repeatable key."""
        self.entries.append((key, value))

    def remove(self, key: str) -> None:
        self.entries = [(k, v) for k, v in self.entries if not (k == key and v is not None)]

    def as_dict(self) -> dict[str, str | list[str]]:
        """Upstream's object form: key → value, or a list for repeated keys; comments → ''."""
        out: dict[str, str | list[str]] = {}
        for key, value in self.entries:
            if value is None:
                out.setdefault(key, "")
                continue
            current = out.get(key)
            if current is None:
                out[key] = value
            elif isinstance(current, list):
                current.append(value)
            else:
                out[key] = [current, value]
        return out
