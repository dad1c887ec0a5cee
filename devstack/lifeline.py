"""Child processes that stop when the process that started them dies, however it dies.

Used by every part `make dev` starts (devstack/stack.py: dynalite, s3rver, the service, the edge
router, also when the tests start them), by the fault harness (faults/processes.py: the fleet
and HAProxy) and by the benchmarks' servers (bench/service.py), so a supervisor killed with -9,
by the OOM killer or by a closed terminal leaves nothing running behind it.

Linux's parent-death signal does it (prctl(2), PR_SET_PDEATHSIG): the kernel sends the child
`signal` when its parent goes away, with no cleanup code of the parent's own. Three details
make it hold:

- The kernel sends it when the *thread* that forked the child exits, not the process (prctl(2):
  "the parent-death signal is sent upon subsequent termination of the parent thread"). A child
  started from a short-lived thread (the fault scenarios run in threads of their own) would be
  stopped with that thread. So every child is forked by one thread of this module that lives as
  long as the process.
- The setting survives execve (except of a set-user-ID program), never fork: the command must be
  the real server, or a wrapper that execs it. `node_modules/.bin/dynalite` is a script run
  through `#!/usr/bin/env node`, and env execs node, so node itself gets it; the edge router
  execs nginx in single-process mode. A server that forks workers stops them on this signal.
- If the parent dies between fork and prctl, no signal would ever come: the child checks its
  parent is still the one that started it, and stops itself otherwise.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_prctl.restype = ctypes.c_int

Output = int | IO[bytes] | None


def _die_with(parent: int, sig: int, then: Callable[[], None] | None) -> Callable[[], None]:
    """The preexec function of a child of `parent`: ask for `sig` when the parent dies."""

    def preexec() -> None:
        if _prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            os._exit(127)  # cannot promise to stop with the parent: do not start at all
        if os.getppid() != parent:  # the parent died before prctl: the signal will never come
            os.kill(os.getpid(), sig)
        if then is not None:
            then()

    return preexec


_Request = tuple[Callable[[], subprocess.Popen[bytes]], "Future[subprocess.Popen[bytes]]"]
_requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
_forker_lock = threading.Lock()
_forker: threading.Thread | None = None


def _fork_forever() -> None:
    while True:
        start, result = _requests.get()
        try:
            result.set_result(start())
        except BaseException as error:  # handed to the caller, which raises it
            result.set_exception(error)


def _on_forker_thread(start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """Run `start` on the one thread that forks every child (see the module docstring)."""
    global _forker
    with _forker_lock:
        if _forker is None or not _forker.is_alive():
            # A daemon thread: it never ends before the process does (daemon threads are not
            # joined at exit), so its children are signalled exactly when the process dies.
            _forker = threading.Thread(target=_fork_forever, name="lifeline-forker", daemon=True)
            _forker.start()
    result: Future[subprocess.Popen[bytes]] = Future()
    _requests.put((start, result))
    return result.result()


def spawn(
    argv: Sequence[str],
    *,
    stdout: Output = None,
    stderr: Output = None,
    stdin: Output = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    parent_death_signal: int = signal.SIGTERM,
    preexec: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` in a session of its own; it gets `parent_death_signal` when this process dies.

    A session of its own: Ctrl-C in a terminal reaches only the parent, which stops its
    children in the order it chooses. `preexec` runs in the child after the signal is set.
    """
    death = _die_with(os.getpid(), parent_death_signal, preexec)
    return _on_forker_thread(
        lambda: subprocess.Popen(  # noqa: S603 - argv is built by the callers, never a shell
            list(argv),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
            start_new_session=True,
            # Safe beside threads: it calls only prctl, getppid and kill, and takes no lock.
            preexec_fn=death,
        )
    )
