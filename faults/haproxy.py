"""HAProxy in the ALB's place: renders its configuration, runs it, and drives its runtime API.

Used by the fault harness's local fleet (faults/fleet.py) and its tests (tests/faults/).
"""

from __future__ import annotations

import csv
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

from faults.processes import ManagedProcess, wait_until_listening
from infra import target_health

TEMPLATE = Path(__file__).with_name("haproxy.cfg.tmpl")
BACKEND = "fleet"


class HAProxyMissingError(RuntimeError):
    """haproxy is not installed; `make faults` installs it with deps/ensure-apt.sh."""


# HAProxy checks this many times as often as the ALB, so that scenarios run in seconds.
CHECK_SPEEDUP = 25


@dataclass(frozen=True, kw_only=True)
class HealthCheck:
    """HAProxy's active check: the target group's path, codes and counts (infra/target_health),
    every interval_ms. A server is marked down after fall failures, up after rise successes.
    """

    path: str = target_health.PATH
    healthy_codes: str = target_health.HEALTHY_HTTP_CODES
    interval_ms: int = target_health.INTERVAL_SECONDS * 1000 // CHECK_SPEEDUP
    fall: int = target_health.UNHEALTHY_THRESHOLD
    rise: int = target_health.HEALTHY_THRESHOLD


@dataclass(frozen=True)
class ServerState:
    """One server as the runtime API reports it."""

    name: str
    status: str  # UP, DOWN, DRAIN, MAINT, "UP 1/2", ...


def render_config(
    *,
    bind_host: str,
    port: int,
    admin_socket: Path,
    servers: dict[str, int],
    health_check: HealthCheck,
) -> str:
    """The configuration text for a balancer on bind_host:port over servers (name -> port)."""
    server_lines = "\n".join(
        f"    server {name} 127.0.0.1:{server_port}" for name, server_port in servers.items()
    )
    return Template(TEMPLATE.read_text()).substitute(
        bind_host=bind_host,
        port=port,
        admin_socket=admin_socket,
        check_path=health_check.path,
        check_codes=health_check.healthy_codes,
        check_interval_ms=health_check.interval_ms,
        fall=health_check.fall,
        rise=health_check.rise,
        servers=server_lines,
    )


class RuntimeApi:
    """HAProxy's admin socket: read server states, take servers out of rotation and back."""

    def __init__(self, socket_path: Path) -> None:
        self._socket_path = socket_path

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(5)
            connection.connect(str(self._socket_path))
            connection.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, ServerState]:
        text = self.command("show stat").lstrip("# ")
        states = {}
        for row in csv.DictReader(text.splitlines()):
            if row["pxname"] == BACKEND and row["svname"] not in {"FRONTEND", "BACKEND"}:
                states[row["svname"]] = ServerState(name=row["svname"], status=row["status"])
        return states

    def set_state(self, server: str, state: str) -> None:
        """state is ready, drain or maint, as `set server` takes it."""
        answer = self.command(f"set server {BACKEND}/{server} state {state}")
        if answer.strip():
            raise RuntimeError(f"haproxy refused 'set server {server} state {state}': {answer}")

    def wait_for_status(self, server: str, prefix: str, timeout_s: float) -> float:
        """Seconds until server's status starts with prefix; TimeoutError after timeout_s."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.servers()[server].status.startswith(prefix):
                return time.monotonic() - started
            time.sleep(0.01)
        status = self.servers()[server].status
        raise TimeoutError(f"{server} still {status!r}, not {prefix!r}, after {timeout_s}s")


@dataclass(frozen=True)
class LoggedRequest:
    """One request as HAProxy's log line (option httplog) records it."""

    server: str  # where it was sent last; <NOSRV> if nowhere
    status: int  # -1 if no answer was sent
    termination: str  # e.g. ---- for a normal end, SH-- when the server hung up
    retries: int  # connection attempts and replays beyond the first
    redispatched: bool  # retried on another server than the first

    @property
    def retried(self) -> bool:
        return self.retries > 0 or self.redispatched


# client [accept date] frontend backend/server timers status bytes cookies termination
# actconn/feconn/beconn/srv_conn/retries (a + before retries: redispatched) queues "request"
_REQUEST_LINE = re.compile(
    r"^\S+ \[[^\]]+\] \S+ [^/\s]+/(?P<server>\S+) \S+ (?P<status>-?\d+) \S+ \S+ \S+ "
    r"(?P<termination>\S{4}) \d+/\d+/\d+/\d+/(?P<redispatched>\+?)(?P<retries>\d+) "
)


def logged_requests(log_text: str) -> list[LoggedRequest]:
    """Every request line of an HAProxy log; its other lines (server state changes) are skipped."""
    requests = []
    for line in log_text.splitlines():
        if match := _REQUEST_LINE.match(line):
            requests.append(
                LoggedRequest(
                    server=match["server"],
                    status=int(match["status"]),
                    termination=match["termination"],
                    retries=int(match["retries"]),
                    redispatched=match["redispatched"] == "+",
                )
            )
    return requests


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
    if found is None:
        raise HAProxyMissingError(
            "haproxy is not installed: run `deps/ensure-apt.sh haproxy` (make faults does)"
        )
    return found


def start_haproxy(
    *, workdir: Path, port: int, servers: dict[str, int], health_check: HealthCheck
) -> tuple[ManagedProcess, RuntimeApi]:
    """Render and check the configuration, start HAProxy in the foreground, wait for it."""
    admin_socket = workdir / "admin.sock"
    config_path = workdir / "haproxy.cfg"
    config_path.write_text(
        render_config(
            bind_host="127.0.0.1",
            port=port,
            admin_socket=admin_socket,
            servers=servers,
            health_check=health_check,
        )
    )
    binary = haproxy_binary()
    subprocess.run([binary, "-c", "-q", "-f", str(config_path)], check=True)  # noqa: S603 - our own argv
    process = ManagedProcess.start(
        "haproxy", [binary, "-db", "-f", str(config_path)], log_path=workdir / "haproxy.log"
    )
    wait_until_listening(port, timeout_s=10, process=process)
    # The admin socket is bound with the other listeners, so it exists by now.
    return process, RuntimeApi(admin_socket)
