"""The node's Syncthing as a service of its own (upstream #1238: restarting the node must
not restart Syncthing or stop any app's data flow).

Syncthing is started detached, in a session of its own (`setsid --fork`), so it is no
child of the node and outlives it; its monitor process's pid is written to a pidfile in
the Syncthing home. A starting node adopts the Syncthing that pidfile names when that
process is alive and is Syncthing serving this home; it starts one only when there is
none. Stopping the node leaves Syncthing running; `stop()` is for the operator
(`fluxos syncthing stop`) and for tests.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fluxos.blocking import BlockingRunner
from fluxos.clock import Clock
from fluxos.sync.binary import SyncthingBinary
from fluxos.sync.homeconfig import (
    CONFIG_FILE,
    HomeLayout,
    demote_unsafe_folders,
    write_node_settings,
)

log = logging.getLogger(__name__)

PIDFILE = "syncthing.pid"
LOGFILE = "syncthing.log"
CONSOLE_FILE = "syncthing.out"  # what Syncthing prints before its log file opens
LOG_MAX_BYTES = 26214400  # upstream: 25 MiB per file, two old files
PIDFILE_WAIT_SECONDS = 10.0
STOP_WAIT_SECONDS = 15.0
_POLL = 0.1
# The pidfile gets the pid of the shell that then execs Syncthing, so it is Syncthing's.
_LAUNCH = 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec "$@"'


@dataclass(frozen=True)
class ProcessState:
    pid: int | None
    adopted: bool


class SyncthingProcess:
    """Start, adopt and (on request) stop the Syncthing serving `home`."""

    def __init__(
        self, binary: SyncthingBinary, home: Path, layout: HomeLayout, clock: Clock
    ) -> None:
        self.binary = binary
        self.home = home
        self.layout = layout
        self.clock = clock
        self._blocking = BlockingRunner("syncthing-process", max_workers=2)

    @property
    def pidfile(self) -> Path:
        return self.home / PIDFILE

    @property
    def logfile(self) -> Path:
        return self.home / LOGFILE

    def running_pid(self) -> int | None:
        return running_pid(self.home)

    async def ensure_running(self) -> ProcessState:
        """Adopt the running Syncthing of this home, or start one."""
        pid = self.running_pid()
        if pid is not None:
            log.info("Syncthing already running (pid %d, home %s): adopted", pid, self.home)
            return ProcessState(pid, adopted=True)
        await self._blocking.run(self._prepare_home)
        pid = await self._spawn()
        log.info(
            "Syncthing %s started (pid %d, home %s, API %s, listening on %s)",
            self.binary.version_text,
            pid,
            self.home,
            self.layout.gui_address,
            ", ".join(self.layout.listen_addresses),
        )
        return ProcessState(pid, adopted=False)

    def _prepare_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        if not (self.home / CONFIG_FILE).exists():
            result = subprocess.run(
                [
                    str(self.binary.path),
                    "generate",
                    f"--home={self.home}",
                    "--no-default-folder",
                    "--skip-port-probing",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"syncthing generate failed ({result.returncode}): "
                    f"{(result.stderr or result.stdout).strip()[-500:]}"
                )
            log.info("Syncthing home created in %s", self.home)
        write_node_settings(self.home, self.layout)
        demote_unsafe_folders(self.home)

    async def _spawn(self) -> int:
        self.pidfile.unlink(missing_ok=True)
        command = [
            "setsid",
            "--fork",
            "sh",
            "-c",
            _LAUNCH,
            str(self.pidfile),
            str(self.binary.path),
            "serve",
            f"--home={self.home}",
            "--no-browser",
            "--no-upgrade",
            "--allow-newer-config",
            f"--logfile={self.logfile}",
            "--logflags=3",
            "--log-max-old-files=2",
            f"--log-max-size={LOG_MAX_BYTES}",
        ]
        env = {key: value for key, value in os.environ.items() if not key.startswith("STMONITORED")}
        env.update(STNOUPGRADE="1", STNODEFAULTFOLDER="1")
        await self._blocking.run(_run_detached, command, env, self.home / CONSOLE_FILE)
        deadline = self.clock.monotonic() + PIDFILE_WAIT_SECONDS
        while self.clock.monotonic() < deadline:
            pid = self.running_pid()
            if pid is not None:
                return pid
            await self.clock.sleep(_POLL)
        raise RuntimeError(f"Syncthing did not start: see {self.logfile}")

    async def stop(self) -> bool:
        """Stop this home's Syncthing (its whole process group); False if none ran."""
        return await stop_syncthing(self.home, self.clock)

    def close(self) -> None:
        self._blocking.close()


async def stop_syncthing(home: Path, clock: Clock) -> bool:
    """Stop the Syncthing serving `home` (its whole process group); False if none ran."""
    pid = running_pid(home)
    if pid is None:
        return False
    log.info("stopping Syncthing (pid %d, home %s)", pid, home)
    _signal_group(pid, signal.SIGTERM)
    deadline = clock.monotonic() + STOP_WAIT_SECONDS
    while clock.monotonic() < deadline:
        if not _is_syncthing_for(pid, home):
            break
        await clock.sleep(_POLL)
    else:
        log.warning("Syncthing (pid %d) ignored SIGTERM: killing it", pid)
        _signal_group(pid, signal.SIGKILL)
    (home / PIDFILE).unlink(missing_ok=True)
    return True


def running_pid(home: Path) -> int | None:
    """The pid of the Syncthing serving `home`, from its pidfile, if that one is alive."""
    try:
        pid = int((home / PIDFILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_syncthing_for(pid, home) else None


def _run_detached(command: list[str], env: dict[str, str], console: Path) -> None:
    # `setsid --fork` returns at once; Syncthing is its grandchild, reparented away from
    # us. Its output goes to a file: a pipe would stay open as long as Syncthing runs.
    with console.open("ab") as output:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            env=env,
            timeout=30,
            check=False,
        )
    if result.returncode != 0:
        tail = console.read_bytes()[-500:].decode(errors="replace").strip()
        raise RuntimeError(f"could not launch Syncthing ({result.returncode}): {tail}")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def _is_syncthing_for(pid: int, home: Path) -> bool:
    """Whether `pid` is a live (not zombie) Syncthing serving `home`."""
    proc = Path("/proc") / str(pid)
    try:
        stat = (proc / "stat").read_text()
        arguments = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    if state in ("Z", "X"):
        return False
    if not arguments or not os.path.basename(arguments[0]).startswith(b"syncthing"):
        return False
    return f"--home={home}".encode() in arguments
