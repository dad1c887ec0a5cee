"""`make dev` recovers by itself: however its supervisor dies, its parts stop with it, and the
next start on the same data directory works, with the data kept (issue 14).

Each test runs `python -m devstack.supervisor` (what `make dev` runs) as a real process on a
free port with a temporary data directory, and checks the real processes it started through
/proc. Every wait is bounded.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from devstack.stack import NODE_BIN, ROOT, free_port
from tests.devstack.processes import GONE_SECONDS, assert_all_gone, descendants

START_SECONDS = 60
STOP_SECONDS = 15


class MakeDev:
    """One `python -m devstack.supervisor` on `port` with its data in `data_dir`."""

    def __init__(self, data_dir: Path, port: int, log: Path, *, terminal: int | None = None):
        self.data_dir = data_dir
        self.port = port
        self.log = log
        env = {**os.environ, "PORT": str(port), "SPITO_DEV_DATA_DIR": str(data_dir)}
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devstack.supervisor"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=terminal if terminal is not None else output,
                stderr=terminal if terminal is not None else output,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_serving(self) -> MakeDev:
        deadline = time.monotonic() + START_SECONDS
        while not _answers(f"{self.url}/readyz"):
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def parts(self) -> set[int]:
        """Every process below the supervisor (the parts and anything they started)."""
        return descendants(self.process.pid)

    def wait_exit(self, seconds: float = STOP_SECONDS) -> int:
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.wait_exit()


@contextmanager
def running(data_dir: Path, port: int, log: Path) -> Iterator[MakeDev]:
    make_dev = MakeDev(data_dir, port, log).wait_serving()
    try:
        yield make_dev
    finally:
        make_dev.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def assert_port_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def create_link(url: str, target: str) -> str:
    created = httpx.post(f"{url}/api/v1/links", json={"url": target}, timeout=10)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def assert_link_kept(url: str, link_id: str, target: str) -> None:
    link = httpx.get(f"{url}/api/v1/links/{link_id}", timeout=10)
    assert link.status_code == 200, link.text
    assert link.json()["url"] == target


def assert_no_traceback(output: str) -> None:
    assert "Traceback" not in output, output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "local"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "make-dev.log"


def test_kill_9_of_make_dev_stops_every_part_and_the_next_start_keeps_the_data(
    data_dir: Path, log: Path
) -> None:
    port = free_port()
    first = MakeDev(data_dir, port, log).wait_serving()
    link_id = create_link(first.url, "https://example.com/kill-9")
    parts = first.parts()
    assert len(parts) >= 4, parts  # dynalite, s3rver, the service, the router
    first.process.kill()
    first.wait_exit()
    assert_all_gone(parts)
    assert_port_free(port)
    with running(data_dir, port, log) as second:
        assert_link_kept(second.url, link_id, "https://example.com/kill-9")
    assert_no_traceback(log.read_text())


def test_a_closed_terminal_sighup_stops_every_part_cleanly(data_dir: Path, log: Path) -> None:
    port = free_port()
    terminal, terminal_side = pty.openpty()
    make_dev = MakeDev(data_dir, port, log, terminal=terminal_side).wait_serving()
    os.close(terminal_side)
    link_id = create_link(make_dev.url, "https://example.com/sighup")
    parts = make_dev.parts()
    os.close(terminal)  # the terminal window closes: writing to it now fails...
    make_dev.process.send_signal(signal.SIGHUP)  # ...and its processes get SIGHUP
    assert make_dev.wait_exit() == 0  # a traceback would exit 1, a failed flush 120
    assert_all_gone(parts)
    with running(data_dir, port, log) as again:
        assert_link_kept(again.url, link_id, "https://example.com/sighup")


def _service_url(output: str) -> str:
    """The service's own address, from the line uvicorn logs when it listens."""
    found = re.findall(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", output)
    assert found, output
    return str(found[-1])


def test_a_second_ctrl_c_while_stopping_stops_at_once(data_dir: Path, log: Path) -> None:
    port = free_port()
    make_dev = MakeDev(data_dir, port, log).wait_serving()
    link_id = create_link(make_dev.url, "https://example.com/impatient")
    parts = make_dev.parts()
    service = httpx.URL(_service_url(make_dev.output()))
    # A request in flight that never finishes (its body never arrives): the service waits for
    # it up to its 30 s drain, so the first Ctrl-C alone takes that long.
    with socket.create_connection((service.host, service.port)) as stuck:
        stuck.sendall(
            b"POST /api/v1/links HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        time.sleep(0.5)
        make_dev.process.send_signal(signal.SIGINT)
        time.sleep(1.5)
        assert make_dev.process.poll() is None, "the first Ctrl-C should wait for the request"
        pressed = time.monotonic()
        make_dev.process.send_signal(signal.SIGINT)
        assert make_dev.wait_exit() == 0
    assert time.monotonic() - pressed < GONE_SECONDS
    assert_all_gone(parts)
    output = make_dev.output()
    assert "Stopping now" in output
    assert_no_traceback(output)
    with running(data_dir, port, log) as again:
        assert_link_kept(again.url, link_id, "https://example.com/impatient")


def test_a_second_make_dev_on_the_same_data_says_who_holds_it_and_touches_nothing(
    data_dir: Path, log: Path, tmp_path: Path
) -> None:
    with running(data_dir, free_port(), log) as first:
        lock = data_dir / "stack.lock"
        held = lock.read_bytes()
        before = _tree(data_dir)
        second = subprocess.run(
            [sys.executable, "-m", "devstack.supervisor"],
            cwd=ROOT,
            env={**os.environ, "PORT": str(free_port()), "SPITO_DEV_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=STOP_SECONDS,
        )
        assert second.returncode != 0
        lines = (second.stdout + second.stderr).strip().splitlines()
        assert len(lines) == 1, lines
        assert str(first.process.pid) in lines[0]
        assert f"kill {first.process.pid}" in lines[0]
        assert lock.read_bytes() == held
        assert _tree(data_dir) == before
        assert _answers(f"{first.url}/readyz")


def _tree(data_dir: Path) -> set[str]:
    """The data directory's entries besides what the running stack itself writes (logs)."""
    return {
        str(path.relative_to(data_dir))
        for path in data_dir.rglob("*")
        if "logs" not in path.parts and "dynamodb" not in path.parts
    }


def _dead_pid() -> int:
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def test_a_stale_lock_and_an_orphaned_dynalite_are_cleaned_up_and_the_data_kept(
    data_dir: Path, log: Path, tmp_path: Path
) -> None:
    port = free_port()
    with running(data_dir, port, log) as first:
        link_id = create_link(first.url, "https://example.com/stale")
    # What an older `make dev` left behind when it died: a dynalite of its own, still holding
    # the LevelDB lock of .local/dynamodb, and the lock file naming the dead supervisor.
    orphan = subprocess.Popen(
        [
            str(NODE_BIN / "dynalite"),
            *("--host", "127.0.0.1", "--port", str(free_port())),
            *("--path", str(data_dir / "dynamodb")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _holds_leveldb_lock(orphan.pid, data_dir) and time.monotonic() < deadline:
            assert orphan.poll() is None
            time.sleep(0.1)
        (data_dir / "stack.lock").write_text(f'{{"pid": {_dead_pid()}, "url": "x"}}')
        with running(data_dir, port, log) as again:
            assert orphan.poll() is not None, "the orphaned dynalite should have been stopped"
            assert_link_kept(again.url, link_id, "https://example.com/stale")
            assert f"PIDs {orphan.pid}" in again.output()
    finally:
        with suppress(ProcessLookupError):
            orphan.kill()
        orphan.wait()
    assert_no_traceback(log.read_text())


def _holds_leveldb_lock(pid: int, data_dir: Path) -> bool:
    lock = str((data_dir / "dynamodb" / "LOCK").resolve())
    with suppress(OSError):
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}") == lock for fd in os.listdir(f"/proc/{pid}/fd")
        )
    return False


@pytest.mark.parametrize("problem", ["port in use", "not a port"])
def test_a_port_it_cannot_use_is_one_line_not_a_traceback(problem: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1]) if problem == "port in use" else "80x"
        result = subprocess.run(
            [sys.executable, "-m", "devstack.supervisor"],
            cwd=ROOT,
            env={**os.environ, "PORT": port, "SPITO_DEV_DATA_DIR": str(tmp_path / "local")},
            capture_output=True,
            text=True,
            timeout=STOP_SECONDS,
        )
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert port in lines[0]
