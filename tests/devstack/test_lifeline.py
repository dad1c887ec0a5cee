"""Children started through devstack/lifeline.py (the local stack's parts, the fault harness's
fleet) outlive the thread that started them and stop when their parent process dies.

A real parent process starts a real child; the parent is killed with -9, so no cleanup code of
its own runs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from devstack.stack import ROOT
from tests.devstack.processes import GONE_SECONDS, assert_all_gone

# Each starts `sleep 300` from a thread that ends at once, waits 1 s (past the thread's end),
# prints the child's PID, then waits to be killed.
PARENTS = {
    "lifeline.spawn": """
        from devstack import lifeline
        def start():
            started.append(lifeline.spawn(["sleep", "300"]))
    """,
    "the fault harness's ManagedProcess": """
        from pathlib import Path
        from faults.processes import ManagedProcess
        def start():
            log = Path(sys.argv[1])
            started.append(ManagedProcess.start("sleep", ["sleep", "300"], log_path=log).popen)
    """,
}
PARENT_MAIN = """
    import sys, threading, time
    started = []
    {start}
    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    time.sleep(1)
    print(started[0].pid, flush=True)
    time.sleep(300)
"""


@pytest.mark.parametrize("starter", PARENTS)
def test_a_child_outlives_its_starting_thread_and_dies_with_its_parent(
    starter: str, tmp_path: Path
) -> None:
    script = textwrap.dedent(PARENT_MAIN).format(start=textwrap.dedent(PARENTS[starter]))
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "child.log")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        # The thread that forked it has ended a second ago: the child still runs.
        assert Path(f"/proc/{child}").exists()
        assert "sleep" in Path(f"/proc/{child}/cmdline").read_text()
        parent.kill()
        parent.wait()
        started = time.monotonic()
        assert_all_gone({child})
        assert time.monotonic() - started < GONE_SECONDS
    finally:
        parent.kill()
        parent.wait()
