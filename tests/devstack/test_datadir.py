"""What a new stack stops on its data directory (devstack/datadir.py), and what it leaves alone.

Real processes: a dynalite on the directory (left by a dead stack), a dynalite on another
directory (another stack's), and a `tail -f` of a log under the directory (the user's).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack.datadir import DataDirInUseError, DataDirLock, stop_leftovers
from devstack.stack import NODE_BIN, free_port

START_SECONDS = 30


@contextmanager
def started(argv: list[str], *, holding: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`argv` running, outside any lifeline (as an older make dev left it); killed at the end."""
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while holding is not None and not holding.exists():
            assert process.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield process
    finally:
        process.kill()
        process.wait()


def dynalite(data_dir: Path) -> list[str]:
    return [
        str(NODE_BIN / "dynalite"),
        *("--port", str(free_port()), "--path", str(data_dir / "dynamodb")),
    ]


def test_only_the_parts_on_this_directory_are_stopped(tmp_path: Path) -> None:
    mine, other = tmp_path / "local", tmp_path / "other"
    (mine / "logs").mkdir(parents=True)
    (mine / "logs" / "service.log").write_text("a line\n")
    with (
        started(dynalite(mine), holding=mine / "dynamodb" / "LOCK") as leftover,
        started(dynalite(other), holding=other / "dynamodb" / "LOCK") as other_stack,
        started(["tail", "-f", str(mine / "logs" / "service.log")]) as users_tail,
    ):
        stopped = stop_leftovers(mine)
        assert stopped == [leftover.pid]
        assert leftover.wait(5) is not None
        assert other_stack.poll() is None
        assert users_tail.poll() is None


def test_a_held_lock_refuses_and_a_released_one_is_taken(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path)
    first.acquire(url="http://127.0.0.1:1")
    with pytest.raises(DataDirInUseError, match=r"as PID \d+ \(http://127\.0\.0\.1:1\)"):
        DataDirLock(tmp_path).acquire(url="http://127.0.0.1:2")
    first.release()
    DataDirLock(tmp_path).acquire(url="http://127.0.0.1:2")
