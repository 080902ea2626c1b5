"""Cap each server process at a fixed share of a core (Linux cgroup v1 ``cpu`` controller).

Why: on the 2-core development machines the load generator, PostgreSQL and the server share
the same cores, so "2 processes serve about twice what 1 serves" cannot show: neither run is
server-bound (docs/benchmarks.md, 336 vs 374/s). Capping every server process at, say, 0.3 of
a core makes each run server-bound with cores to spare for everything else, which is the
situation of a deployment that adds processes on cores (or machines) it has: the question is
then only whether the processes get in each other's way (locks, the database), which is what
the scaling figure measures.

Needs root and a writable ``/sys/fs/cgroup/cpu`` (cgroup v1); ``available()`` says whether
this machine has it. Each process gets a group of its own, removed by ``release``.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000
SHARES = 16 * 1024  # 16x the default weight of 1024


def available() -> bool:
    return (ROOT / "cgroup.procs").exists() and os.access(ROOT, os.W_OK)


def processes_in_group(group: int) -> list[int]:
    """PIDs whose process group is ``group`` (the server and its workers), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(raw[raw.rindex(")") + 2:].split()[2]) == group:
            found.append(int(entry))
    return found


def cap(pids: list[int], share: float, label: str) -> list[Path]:
    """Put each PID (and its threads) into its own group limited to ``share`` of one core."""
    if not 0 < share <= 1:
        raise ValueError(f"CPU share per process must be in (0, 1], got {share}")
    groups = []
    for pid in pids:
        group = ROOT / f"{label}-{pid}"
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(int(share * PERIOD_US)))
        # A large weight so that the process gets its whole share even on a busy machine:
        # the cap, not the neighbours, is then what limits it.
        (group / "cpu.shares").write_text(str(SHARES))
        try:
            (group / "cgroup.procs").write_text(str(pid))
        except OSError:  # the process ended meanwhile
            pass
        groups.append(group)
    return groups


def release(groups: list[Path]) -> None:
    """Move any process left in the groups back to the root group and remove the groups."""
    for group in groups:
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                try:
                    (ROOT / "cgroup.procs").write_text(pid)
                except OSError:
                    pass
            group.rmdir()
        except OSError:
            pass
