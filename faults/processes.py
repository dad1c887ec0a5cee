"""Child processes the harness starts, each in its own process group so it can stop all of it.

Used by the fault harness's fleet and HAProxy (faults/fleet.py, faults/haproxy.py). Each stops
when the harness dies, however it dies (devstack/lifeline.py).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack import lifeline

STOP_GRACE_SECONDS = 10.0


# Ports are drawn from here up to the start of the kernel's ephemeral range.
PORT_FLOOR = 15000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A loopback port nothing uses right now, below the kernel's ephemeral range.

    A port from bind(0) comes from the ephemeral range, which every outgoing connection draws
    on too: under the harness's load, one of them can take the port in the second before the
    server binds it, or a server of a test running alongside can. Below that range only
    servers choose ports, and a random pick rarely meets another.
    """
    ephemeral_start = int(EPHEMERAL_RANGE.read_text().split()[0])
    for _ in range(200):
        port = random.randrange(PORT_FLOOR, ephemeral_start)  # noqa: S311 - not a secret
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {PORT_FLOOR} and {ephemeral_start}")


@dataclass
class ManagedProcess:
    """A child process with its own process group and log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        with log_path.open("ab") as log:
            # Its own session and group (lifeline.spawn): a stop reaches every worker it forks.
            popen = lifeline.spawn(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        return cls(name=name, popen=popen, log_path=log_path)

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def kill_group(self) -> None:
        """SIGKILL to the whole group: the instance vanishes the way a lost EC2 instance does."""
        if self.running:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=STOP_GRACE_SECONDS)

    def terminate_group(self) -> None:
        """SIGTERM to every process of the group, as systemd stops a unit without a KillMode
        (control-group: the main process and every worker it forked get the signal at once).
        """
        if self.running:
            os.killpg(self.popen.pid, signal.SIGTERM)

    def wait(self, timeout_s: float = STOP_GRACE_SECONDS) -> int:
        """The exit code once the process exits.

        Raises subprocess.TimeoutExpired (and kills the group) if it does not exit in time.
        """
        try:
            return self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill_group()
            raise

    def stop(self) -> None:
        """Stop the group whatever state it is in: SIGTERM, then SIGKILL after a grace period."""
        if self.running:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=STOP_GRACE_SECONDS)
        # Workers of a killed main process may outlive it in the group; they must not leak.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def wait_until_listening(port: int, *, timeout_s: float, process: ManagedProcess) -> None:
    """Block until process (or a process of its group) listens on 127.0.0.1:port.

    Fails early, with its log, if it exits. A port that merely accepts connections could be
    another server's, so ownership is read from /proc: the listening socket's inode must be
    open in a process of this group.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process.running:
            raise RuntimeError(
                f"{process.name} exited with {process.popen.returncode} before listening on "
                f"{port}:\n{process.log_tail()}"
            )
        if _group_listens(process.popen.pid, port):
            return
        time.sleep(0.05)
    process.stop()
    raise TimeoutError(f"{process.name} did not listen on {port} within {timeout_s}s")


def _group_listens(group: int, port: int) -> bool:
    listening = _listening_inodes(port)
    if not listening:
        return False
    for pid in _group_members(group):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in listening:
                        return True
    return False


def _listening_inodes(port: int) -> set[str]:
    """socket:[inode] names of LISTEN sockets on 127.0.0.1:port (from /proc/net/tcp)."""
    loopback = f"0100007F:{port:04X}"
    inodes = set()
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        if fields[1] == loopback and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    return inodes


def _group_members(group: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                # Fields after the parenthesised command: state, ppid, pgrp, ...
                if int(stat.rsplit(")", 1)[1].split()[2]) == group:
                    members.append(int(entry))
    return members
