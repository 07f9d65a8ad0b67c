"""A process killed while it writes fluxos.toml leaves a whole file: the old one or the new."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from fluxos.config import load_settings
from fluxos.system.settingsfile import TEMP_PREFIX, SettingsFile

WRITER = """
import sys
from pathlib import Path
from fluxos.system.settingsfile import SettingsFile

settings = SettingsFile(Path(sys.argv[1]))
round = 0
while True:
    round += 1
    # a large value, so that a write takes a while and the kill lands inside one
    settings.update({"pgp_public_key": f"round{round}:" + "k" * 2_000_000,
                     "kadena": f"kadena:round{round}?chainid=1"})
"""


def _temporaries(directory: Path) -> set[str]:
    return {path.name for path in directory.glob(f"{TEMP_PREFIX}*")}


def test_kill_during_the_write_leaves_a_whole_file(tmp_path: Path) -> None:
    config = tmp_path / "fluxos.toml"
    config.write_text('# operator notes\nzelid = ""\nblockedPorts = [8080]\n')
    kills_mid_write = 0
    for _attempt in range(5):
        left_before = _temporaries(tmp_path)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)])
        try:
            deadline = time.monotonic() + 60
            # a new temporary file exists: a write is under way
            while not _temporaries(tmp_path) - left_before:
                assert writer.poll() is None, "the writer died by itself"
                assert time.monotonic() < deadline, "the writer never started a write"
                time.sleep(0.001)
            os.kill(writer.pid, signal.SIGKILL)
        finally:
            writer.wait()
        kills_mid_write += 1
        document = tomllib.loads(config.read_text())  # parses: never torn
        assert document["blockedPorts"] == [8080]
        assert config.read_text().startswith("# operator notes")
        if "kadena" in document:  # a completed round: both values of the same round
            round_number = document["kadena"].split("round")[1].split("?")[0]
            key = document["pgp_public_key"]
            assert (
                key.startswith(f"round{round_number}:")
                and len(key) == len(f"round{round_number}:") + 2_000_000
            )
        # the node starts from the file as it is
        load_settings(tmp_path, environ={})
    assert kills_mid_write == 5
    # the next write clears what the killed writers left behind
    SettingsFile(tmp_path).update({"router_ip": "192.168.1.1"})
    assert not _temporaries(tmp_path)
    assert tomllib.loads(config.read_text())["router_ip"] == "192.168.1.1"
