"""Memory and CPU of process trees, read from /proc (Linux), so the bench needs no psutil.

Memory is read two ways, for both stacks, and summed over each service's whole process tree:

- PSS (proportional set size, /proc/PID/smaps_rollup): each page counts once in all, a page
  shared by n processes 1/n in each. The sum over all processes is the memory the stack takes
  from the machine, so the memory target is on PSS.
- RSS: every page a process maps, shared or not. Summed, a page shared by n processes (libraries,
  or a parent's pages its forked workers still share: rasa_runtime/workers.py) counts n times;
  kept in the report for comparison with earlier runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may contain spaces)."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                kids.setdefault(int(fields[1]), []).append(int(entry.name))
    return kids


def tree(root: int, kids: dict[int, list[int]] | None = None) -> set[int]:
    kids = _children() if kids is None else kids
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(kids.get(pid, ()))
    return seen


def rss_bytes(pid: int) -> int:
    try:
        pages = int((PROC / str(pid) / "statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * PAGE


def pss_bytes(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def cpu_ticks(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0  # utime + stime


def tree_usage(roots: dict[str, int], memory: bool = True) -> dict[str, tuple[int, int, int]]:
    """Per service: (RSS bytes, PSS bytes, CPU ticks) summed over its process tree (memory 0
    when not asked for)."""
    kids = _children()
    out = {}
    for name, pid in roots.items():
        pids = tree(pid, kids)
        out[name] = (
            sum(rss_bytes(p) for p in pids) if memory else 0,
            sum(pss_bytes(p) for p in pids) if memory else 0,
            sum(cpu_ticks(p) for p in pids),
        )
    return out


def machine_busy_ticks() -> int:
    """CPU ticks all processes of the machine spent busy (not idle or waiting for I/O)."""
    first = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first[:8]]
    return sum(values) - values[3] - values[4]


def loadavg() -> list[float]:
    return [float(v) for v in (PROC / "loadavg").read_text().split()[:3]]


class Sampler:
    """Samples the services' memory (PSS and RSS) and the machine's CPU while a stack is measured.

    `other_cpu` is the share of the machine's CPU (all cores) used by processes that are
    neither the stack nor the bench: the load other work put on the machine during the run.
    """

    def __init__(self, roots: dict[str, int], cores: int | None = None) -> None:
        self.roots = roots
        self.cores = cores or os.cpu_count() or 1
        self.peak: dict[str, int] = {name: 0 for name in roots}  # RSS
        self.peak_total = 0
        self.peak_pss: dict[str, int] = {name: 0 for name in roots}
        self.peak_pss_total = 0
        self.samples = 0
        self._start = self._cpu_snapshot()

    def _cpu_snapshot(self) -> tuple[float, int, int]:
        own = sum(t for _, _, t in tree_usage(self.roots, memory=False).values()) + cpu_ticks(os.getpid())
        return time.monotonic(), machine_busy_ticks(), own

    def sample(self) -> dict[str, tuple[int, int]]:
        """Per service: (RSS, PSS) bytes now."""
        usage = {name: (rss, pss) for name, (rss, pss, _) in tree_usage(self.roots).items()}
        for name, (rss, pss) in usage.items():
            self.peak[name] = max(self.peak[name], rss)
            self.peak_pss[name] = max(self.peak_pss[name], pss)
        self.peak_total = max(self.peak_total, sum(rss for rss, _ in usage.values()))
        self.peak_pss_total = max(self.peak_pss_total, sum(pss for _, pss in usage.values()))
        self.samples += 1
        return usage

    def cpu_shares(self) -> dict[str, float]:
        """Since the sampler was made: CPU share of the stack plus bench, and of everything else."""
        t1, busy1, own1 = self._cpu_snapshot()
        t0, busy0, own0 = self._start
        capacity = max(1e-9, (t1 - t0) * TICKS * self.cores)
        own = (own1 - own0) / capacity
        return {"stack_and_bench": round(own, 3), "other": round(max(0.0, (busy1 - busy0) / capacity - own), 3)}


def mb(values: Iterable[int]) -> float:
    return round(sum(values) / 2**20, 1)
