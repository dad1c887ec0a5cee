"""Spito on this machine with no AWS: dynalite (DynamoDB), s3rver (S3) and the service.

Used by `make dev` (devstack/supervisor.py), by the tests (tests/fixtures/local_stack.py), by the
fault-injection harness (faults/) and by `make bench` (bench/). Each part can be stopped and
started on its own, on the same ports and data, so storage outages and service restarts can be
staged:

    with LocalStack(data_dir=Path(".local"), public_port=8080) as stack:
        print(stack.base_url)

The service runs exactly as on EC2 (`python -m service`, settings from the environment) on its
own port; `public_port` is where users reach Spito. Given `web_dist`, the edge router
(devstack/edge_router.py, CloudFront's stand-in) listens there, serves the web app and proxies the
rest to the service, exactly as the edge routes paths; without it the service listens there.

Every part stops when the process that started it dies, however it dies (devstack/lifeline.py),
and a stack takes its data directory's lock first (devstack/datadir.py): one stack per
directory, and what a dead one left running there is stopped before anything starts. What a
user can cause (the directory or the port in use, a part that cannot start) is a `StackError`
whose message says what to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devstack import lifeline
from devstack.datadir import DataDirLock, stop_leftovers
from devstack.errors import StackError

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"
LOOPBACK = "127.0.0.1"
# s3rver accepts only these credentials; dynalite accepts any, so both use them.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"}
LOCAL_REGION = "us-east-1"
START_TIMEOUT_SECONDS = 30.0
STORAGE_FILE = "storage.json"  # in the data folder, written when storage starts
STOP_TIMEOUT_SECONDS = 35.0  # above the service's 30 s drain
# Behind the dev router, the client is the last X-Forwarded-For entry (the router appends it).
ROUTED_SERVICE_SETTINGS = {"SPITO_CLIENT_IP_POSITION": "1"}


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = f"its log ({log}):\n{_tail(log)}"
            raise StackError(f"{what} exited with {process.returncode}; {detail}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return
        time.sleep(0.05)
    raise StackError(f"{what} did not listen on port {port}; its log ({log}):\n{_tail(log)}")


def _tail(log: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def _stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> int | None:
    """Signal a child and wait for it; kill it if it does not exit in time. Its exit code."""
    if process is None or process.poll() is not None:
        return None if process is None else process.returncode
    process.send_signal(sig)
    try:
        return process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@dataclass
class Storage:
    """dynalite and s3rver with data under `data_dir`, on fixed ports across restarts."""

    data_dir: Path
    table: str = "spito"
    bucket: str = "spito-pastes"
    dynamodb_port: int = field(default_factory=free_port)
    s3_port: int = field(default_factory=free_port)
    _dynalite: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _s3rver: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def dynamodb_endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.dynamodb_port}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.s3_port}"

    @property
    def running(self) -> bool:
        return all(p is not None and p.poll() is None for p in (self._dynalite, self._s3rver))

    def start(self) -> None:
        """Start both servers (data kept from earlier runs) and create the table if absent."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "s3").mkdir(exist_ok=True)
        dynalite_log = logs / "dynalite.log"
        s3rver_log = logs / "s3rver.log"
        self._dynalite = _spawn(
            [
                str(NODE_BIN / "dynalite"),
                "--host",
                LOOPBACK,
                "--port",
                str(self.dynamodb_port),
                "--path",
                str(self.data_dir / "dynamodb"),
                "--createTableMs",
                "0",
            ],
            dynalite_log,
        )
        self._s3rver = _spawn(
            [
                str(NODE_BIN / "s3rver"),
                "--silent",
                "-a",
                LOOPBACK,
                "-p",
                str(self.s3_port),
                "-d",
                str(self.data_dir / "s3"),
                "--configure-bucket",
                self.bucket,
            ],
            s3rver_log,
        )
        _wait_for_port(self.dynamodb_port, self._dynalite, "dynalite", dynalite_log)
        _wait_for_port(self.s3_port, self._s3rver, "s3rver", s3rver_log)
        try:
            self._ensure_table()
        except (BotoCoreError, ClientError) as error:
            raise StackError(
                f"dynalite did not create the table ({error}); its log ({dynalite_log}):\n"
                f"{_tail(dynalite_log)}"
            ) from error
        # Where this storage answers, for tools run beside it (spito-admin's local default).
        (self.data_dir / STORAGE_FILE).write_text(
            json.dumps({"dynamodb_endpoint": self.dynamodb_endpoint, "table": self.table})
        )

    def stop(self) -> None:
        _stop(self._dynalite)
        _stop(self._s3rver)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Storage is down inside the block and back (same ports, same data) after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def client(self, service: str) -> Any:
        """A boto3 client for "dynamodb" or "s3" pointed at the local server."""
        endpoint = {"dynamodb": self.dynamodb_endpoint, "s3": self.s3_endpoint}[service]
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=endpoint,
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def _ensure_table(self) -> None:
        """The table as the CDK stack defines it (key `id`, a stream), if it is absent.

        Not its TTL on `expires_at`: dynalite has no TTL, so expired items stay until deleted.
        The service treats them as gone anyway, as it must on AWS, where TTL deletion lags.
        """
        dynamodb = self.client("dynamodb")
        try:
            dynamodb.create_table(
                TableName=self.table,
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={
                    "StreamEnabled": True,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        dynamodb.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )


@dataclass
class ServiceProcess:
    """One `python -m service` process, configured only through its environment."""

    environment: Mapping[str, str]
    port: int
    log: Path | None = None  # None: the service logs to this process's stdout
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log_file: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self, *, wait_ready: bool = True) -> None:
        env = {**os.environ, **self.environment, "PORT": str(self.port)}
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self.log.open("ab")
        self._process = lifeline.spawn(
            [sys.executable, "-m", "service"],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT if self._log_file else None,
        )
        if wait_ready:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until /readyz answers 200 (the service is up and reaches storage)."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                detail = _tail(self.log) if self.log else "see its output above"
                raise StackError(f"service exited with {self._process.returncode}: {detail}")
            readyz = f"{self.url}/readyz"  # a loopback URL built here, never user input
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(readyz, timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    return
            time.sleep(0.05)
        raise StackError(f"service at {self.url} was not ready in {START_TIMEOUT_SECONDS} s")

    def kill(self) -> None:
        """SIGKILL, while another thread or a `stop` in progress waits for the exit."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the service (SIGTERM drains, SIGKILL does not) and return its exit code."""
        code = _stop(self._process, sig)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code


@dataclass
class EdgeRouter:
    """The edge router (devstack/edge_router.py: nginx from the routing table) on `port`."""

    port: int
    upstream: str
    web_dist: Path
    work_dir: Path  # its nginx.conf and temporary files
    log: Path
    origin_timeout_seconds: float | None = None  # None: CloudFront's default
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        """nginx's PID once started (the router execs it)."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        timeout = (
            ()
            if self.origin_timeout_seconds is None
            else ("--origin-timeout", str(self.origin_timeout_seconds))
        )
        self._process = _spawn(
            [
                *(sys.executable, "-m", "devstack.edge_router"),
                *("--port", str(self.port), "--upstream", self.upstream),
                *("--web-dist", str(self.web_dist), "--work-dir", str(self.work_dir)),
                *timeout,
            ],
            self.log,
        )
        _wait_for_port(self.port, self._process, "edge router", self.log)

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    def stop(self) -> None:
        _stop(self._process)


def service_environment(storage: Storage, **overrides: str) -> dict[str, str]:
    """The SPITO_* settings that point a service at `storage`; overrides win."""
    return {
        **LOCAL_CREDENTIALS,
        "AWS_REGION": LOCAL_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance metadata lookups on a laptop
        "SPITO_TABLE": storage.table,
        "SPITO_BUCKET": storage.bucket,
        "SPITO_DYNAMODB_ENDPOINT": storage.dynamodb_endpoint,
        "SPITO_S3_ENDPOINT": storage.s3_endpoint,
        "SPITO_BIND_HOST": LOOPBACK,
        **overrides,
    }


def _refuse_a_busy_port(port: int) -> None:
    with socket.socket() as probe:
        # As the servers do: a port whose last connections wait out TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise StackError(
                f"port {port} on {LOOPBACK} is in use by another program: stop it, or choose "
                f"another port (make dev PORT={port + 1})"
            ) from None


def _spawn(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        # In a session of its own (lifeline.spawn): Ctrl-C in a terminal reaches only the
        # parent, which stops the parts in order, the service first (it drains and flushes
        # clicks), storage last.
        try:
            return lifeline.spawn(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        except FileNotFoundError:
            raise StackError(f"{command[0]} is missing: run `make deps`") from None


class LocalStack:
    """Storage plus one service, reachable at `base_url` (http://127.0.0.1:`public_port`)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        public_port: int = 0,
        service_settings: Mapping[str, str] | None = None,
        service_log: Path | None = None,
        web_dist: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.public_port = public_port or free_port()
        self.storage = Storage(data_dir=data_dir)
        self.web_dist = web_dist
        settings = {**(ROUTED_SERVICE_SETTINGS if web_dist else {}), **(service_settings or {})}
        self.service = ServiceProcess(
            environment=service_environment(self.storage, **settings),
            port=free_port() if web_dist else self.public_port,
            log=service_log,
        )
        self.router: EdgeRouter | None = None  # started when there is a web app to serve
        self._lock = DataDirLock(data_dir)
        self.leftovers_stopped: list[int] = []  # PIDs a dead stack left running, now stopped

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.public_port}"

    def start(self) -> LocalStack:
        """Start every part; a `StackError` (nothing left running) if the stack cannot start."""
        self._lock.acquire(url=self.base_url)  # DataDirInUseError before anything is touched
        try:
            self.leftovers_stopped = stop_leftovers(self.data_dir)
            _refuse_a_busy_port(self.public_port)
            self.storage.start()
            self.service.start()
            if self.web_dist is not None:
                self._start_router(self.web_dist)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_router(self, web_dist: Path) -> None:
        self.router = EdgeRouter(
            port=self.public_port,
            upstream=self.service.url,
            web_dist=web_dist,
            work_dir=self.data_dir / "router",
            log=self.data_dir / "logs" / "dev_router.log",
        )
        self.router.start()

    def stop(self) -> None:
        if self.router is not None:
            self.router.stop()
        self.service.stop()
        self.storage.stop()
        self._lock.release()

    def stop_now(self) -> None:
        """Kill the router and the service without waiting for requests in flight.

        For an impatient second Ctrl-C while `stop` waits: the `stop` in progress then goes on
        at once to storage, which stops as always (whatever it acknowledged is on disk).
        """
        if self.router is not None:
            self.router.kill()
        self.service.kill()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
