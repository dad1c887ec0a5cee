"""One running stack per data directory, and recovery from one that died without stopping.

Used by `devstack.stack.LocalStack` (so by `make dev`, the tests and `make bench`): before it
starts anything it takes `DataDirLock` on its data directory (`.local` for `make dev`).

- Another live stack holds the lock: `DataDirInUseError`, whose message is one line with that
  stack's PID and how to stop it; nothing is started and nothing under the directory changes.
- The lock is free: no live stack uses the directory, but a dead one may have left parts
  running on it (one that died without its cleanup, or an older `make dev`, from before its
  parts stopped with it). `stop_leftovers` stops them, such as a dynalite that still holds
  `dynamodb/LOCK` (LevelDB's lock, without which the new dynalite answers "Database is
  closed"). Data is never deleted.

The lock is flock(2) on `<data dir>/stack.lock`: the kernel releases it when its holder dies,
however it dies, so a lock is stale exactly when it can be taken. The file holds the holder's
PID and URL for the message; a stack that stops cleanly empties it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.errors import StackError

LOCK_FILE = "stack.lock"
LEFTOVER_STOP_SECONDS = 5.0
# How the stack's parts show in a command line (devstack/stack.py, devstack/edge_router.py):
# the programs, by the file they run, and the Python modules, run with `-m`.
PART_PROGRAMS = ("dynalite", "s3rver", "nginx")
# `scripts.dev_router` is the router's module before the tools moved to devstack/.
PART_MODULES = ("service", "devstack.edge_router", "scripts.dev_router")


class DataDirInUseError(StackError):
    """Another live stack holds the data directory."""


@dataclass(frozen=True)
class Holder:
    pid: int
    url: str


class DataDirLock:
    """The lock on one data directory; `acquire` takes it or raises `DataDirInUseError`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, *, url: str) -> None:
        """Take the lock for this process, or raise `DataDirInUseError` naming its holder."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StackError(f"cannot keep data in {self.data_dir}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            raise DataDirInUseError(self._in_use_message()) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "url": url}).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Empty the file (a clean stop leaves nothing stale) and let the lock go."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the last descriptor releases the flock
        self._fd = None

    def _in_use_message(self) -> str:
        holder = None
        deadline = time.monotonic() + 1.0
        while holder is None and time.monotonic() < deadline:  # the holder may be writing it
            with contextlib.suppress(OSError):
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    holder = _read_holder(fd)
                finally:
                    os.close(fd)
            if holder is None:
                time.sleep(0.05)
        if holder is None:
            return f"{self.data_dir} is in use by another Spito: stop it (Ctrl-C in its terminal)."
        return (
            f"Spito is already running on {self.data_dir} as PID {holder.pid} ({holder.url}): "
            f"stop it with Ctrl-C in its terminal or `kill {holder.pid}`, "
            "or give this one another directory with SPITO_DEV_DATA_DIR."
        )


def _read_holder(fd: int) -> Holder | None:
    raw = os.pread(fd, 4096, 0)
    try:
        record = json.loads(raw)
        return Holder(pid=int(record["pid"]), url=str(record["url"]))
    except (ValueError, KeyError, TypeError):
        return None


def stop_leftovers(data_dir: Path) -> list[int]:
    """Stop the stack parts still running on `data_dir`; their PIDs.

    Call it only while holding the directory's lock: then no live stack owns them. A part is
    a process of this user running a part (`PART_PROGRAMS`, `PART_MODULES`) which names a
    path under `data_dir` in its arguments or has a file under it open. Nothing else is
    touched: not a `tail -f` of a log, not a part of a stack on another directory.
    """
    root = data_dir.resolve()
    leftovers = [pid for pid in _processes_of_this_user() if _is_part_on(pid, root)]
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + LEFTOVER_STOP_SECONDS
    while time.monotonic() < deadline and any(_alive(pid) for pid in leftovers):
        time.sleep(0.05)
    for pid in leftovers:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return leftovers


def _processes_of_this_user() -> list[int]:
    me, uid = os.getpid(), os.getuid()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
    return pids


def _is_part_on(pid: int, root: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    if not _runs_a_part(argv):
        return False
    return any(_under(arg, root) for arg in argv) or any(
        _under(target, root) for target in _open_files(pid)
    )


def _runs_a_part(argv: list[str]) -> bool:
    programs = {Path(arg).name for arg in argv[:2]}  # the program, or the script node runs
    modules = {module for flag, module in itertools.pairwise(argv) if flag == "-m"}
    return bool(programs & set(PART_PROGRAMS)) or bool(modules & set(PART_MODULES))


def _open_files(pid: int) -> list[str]:
    targets = []
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return targets


def _under(text: str, root: Path) -> bool:
    if not text.startswith("/"):
        return False
    with contextlib.suppress(OSError, ValueError):
        return Path(text).resolve().is_relative_to(root)
    return False


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper has stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
