"""Child processes the harness starts, each in its own process group so it can stop all of it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE_SECONDS = 10.0


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


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
            popen = subprocess.Popen(  # noqa: S603 - argv built by the harness, never a shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,  # its own group: a stop reaches every worker it forks
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

    def terminate(self, timeout_s: float = STOP_GRACE_SECONDS) -> int:
        """SIGTERM to the main process, as systemd sends on stop; its exit code.

        Raises subprocess.TimeoutExpired (and kills the group) if it does not exit in time.
        """
        if self.running:
            self.popen.send_signal(signal.SIGTERM)
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


def wait_for_port(port: int, *, timeout_s: float, process: ManagedProcess) -> None:
    """Block until something accepts on port; fail early, with its log, if process exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process.running:
            raise RuntimeError(
                f"{process.name} exited with {process.popen.returncode} before listening on "
                f"{port}:\n{process.log_tail()}"
            )
        if port_accepts(port):
            return
        time.sleep(0.05)
    process.stop()
    raise TimeoutError(f"{process.name} did not listen on {port} within {timeout_s}s")
