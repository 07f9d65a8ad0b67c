"""The peak resident memory of one process while something runs (its children, such as
an embedded devnet, are other processes and not counted).

Linux keeps the high-water mark itself (`VmHWM` in /proc/<pid>/status), so no spike
between two samples is missed; writing 5 to /proc/<pid>/clear_refs resets it to the
current RSS when the block starts. Where the reset is refused the mark still holds the
process's whole-life peak: a larger figure, never a smaller one."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"/proc/{pid}/status has no {field}")


class PeakRss:
    """`with PeakRss(pid) as peak: ...` then `peak.bytes`: the process's peak RSS over
    the block (`reset` says whether the kernel's mark could be reset at its start)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.bytes = 0
        self.reset = False

    def __enter__(self) -> PeakRss:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            self.reset = False
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.bytes = _status_kib(self.pid, "VmHWM") * 1024
