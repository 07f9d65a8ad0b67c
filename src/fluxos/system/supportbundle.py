"""`fluxos doctor --bundle FILE`: one archive an operator can hand to support.

It holds the doctor's report, the node's log files (the newest `LOG_LIMIT` bytes of
each) and its settings — `fluxos.toml` and the fluxd `flux.conf` it uses — with every
secret's value replaced by `REMOVED`: private keys, WIFs, passwords, API keys, tokens,
seeds. A file that cannot be parsed as its format is left out (named in the report)
rather than copied with its secrets.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

from fluxos.config import CONFIG_FILE, Settings
from fluxos.system.logfiles import LOG_FILES

REMOVED = "<removed>"
LOG_LIMIT = 20 * 1024 * 1024
_SECRET = re.compile(r"priv|pass|secret|token|wif|mnemonic|seed|apikey|api_key|auth", re.I)


def is_secret(key: str) -> bool:
    lowered = key.lower()
    if "public" in lowered:
        return False
    return bool(_SECRET.search(key)) or lowered.endswith("key")


def redact_toml(text: str) -> str:
    """The TOML document with every secret value replaced (comments and order kept)."""
    document = tomlkit.parse(text)
    _redact_table(document)
    return tomlkit.dumps(document)


def _redact_table(table: tomlkit.TOMLDocument | Table) -> None:
    for key in list(table.keys()):
        value = table[key]
        if isinstance(value, Table):
            _redact_table(value)
        elif is_secret(str(key)):
            table[key] = REMOVED


def redact_conf(text: str) -> str:
    """A `key=value` file (flux.conf) with every secret value replaced."""
    lines = []
    for line in text.splitlines():
        key, sep, _ = line.partition("=")
        # a commented-out key is often an old real one: it goes too
        if sep and is_secret(key.strip().lstrip("#").strip()):
            line = f"{key}={REMOVED}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _tail_bytes(path: Path, limit: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(size - limit, 0))
        return handle.read()


def flux_conf_paths(settings: Settings) -> list[Path]:
    paths = [settings.fluxd_conf] if settings.fluxd_conf else []
    paths.append(settings.data_dir / "devnet" / "flux.conf")
    return [path for path in paths if path.is_file()]


def write_bundle(target: Path, settings: Settings, report: str) -> list[str]:
    """Write the archive; returns the names it holds (and notes what it left out)."""
    members: dict[str, bytes] = {}
    notes: list[str] = []
    for name in LOG_FILES.values():
        path = settings.log_dir / name
        if path.is_file():
            members[f"logs/{name}"] = _tail_bytes(path, LOG_LIMIT)
    process_log = settings.data_dir / "process.log"
    if process_log.is_file():
        members["logs/process.log"] = _tail_bytes(process_log, LOG_LIMIT)
    toml_path = settings.data_dir / CONFIG_FILE
    if toml_path.is_file():
        try:
            members[CONFIG_FILE] = redact_toml(toml_path.read_text(encoding="utf-8")).encode()
        except (OSError, UnicodeDecodeError, TOMLKitError) as error:
            notes.append(f"{toml_path} left out: it does not parse ({error})")
    for index, path in enumerate(flux_conf_paths(settings)):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            notes.append(f"{path} left out: {error}")
            continue
        members[f"flux{index or ''}.conf"] = redact_conf(text).encode()
    summary = report + "".join(f"note: {note}\n" for note in notes)
    members = {"doctor.txt": summary.encode(), **members}
    now = time.time()
    with tarfile.open(target, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"fluxos-support/{name}")
            info.size = len(data)
            info.mtime = int(now)
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(data))
    target.chmod(0o600)
    return list(members)
