"""Real processes seen through /proc, for the tests that check what stops and when."""

from __future__ import annotations

import os
import time
from pathlib import Path

GONE_SECONDS = 5  # "within a few seconds"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pids: set[int]) -> set[int]:
    """The pids still running (a zombie waiting to be reaped has stopped)."""
    return {pid for pid in pids if (fields := _stat_fields(pid)) is not None and fields[0] != "Z"}


def assert_all_gone(pids: set[int], seconds: float = GONE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while _running(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _running(pids)}
    assert not left, f"still running {seconds} s later: {left}"
