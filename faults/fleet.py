"""A local Spito fleet: storage, N service instances started as on EC2, HAProxy in front.

Everything listens on loopback on ports the OS picked, and everything started here is stopped
when the Fleet's `with` block ends, whatever happened inside it.

Used by faults/scenarios.py (a fresh fleet per scenario) and tests/faults/.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import httpx

from devstack.stack import Storage, service_environment
from faults.haproxy import (
    HealthCheck,
    LoggedRequest,
    RuntimeApi,
    logged_requests,
    start_haproxy,
)
from faults.processes import ManagedProcess, free_port, wait_until_listening
from service.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP_SCRIPT = REPO_ROOT / "infra" / "bootstrap" / "fleet_bootstrap.sh"
INSTANCE_START_TIMEOUT_SECONDS = 30.0
# systemd's PATH for services (systemd.exec(5)); the unit's ExecStart is an absolute path.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"


def ec2_environment(stage: str, *, table: str, bucket: str) -> dict[str, str]:
    """The SPITO_* settings the CDK app writes to an EC2 instance's env file (cdk.json context).

    Among them SPITO_CLIENT_IP_POSITION=2: the load generator plays CloudFront (it sends the
    viewer's address) and HAProxy appends its peer as the ALB does.
    """
    # The CDK app is imported here, not at the top, because loading it starts a jsii runtime.
    from infra.api_fleet import fleet_environment
    from infra.config import load_config
    from stacks.api_stack import service_settings

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    config = load_config(context, stage)
    return fleet_environment(
        region=config.region,
        table_name=table,
        bucket_name=bucket,
        settings=service_settings(config),
    )


def systemd_environment() -> dict[str, str]:
    """What systemd adds to the unit's environment: its PATH and, for `User=`, the user's
    HOME, USER, LOGNAME and SHELL, as fleet_bootstrap.sh creates that user.
    """
    script = BOOTSTRAP_SCRIPT.read_text()
    user = _bootstrap_value(script, r'^SERVICE_USER="([^"]+)"')
    return {
        "PATH": SYSTEMD_PATH,
        "HOME": _bootstrap_value(script, r"useradd .*--home-dir (\S+)"),
        "USER": user,
        "LOGNAME": user,
        "SHELL": _bootstrap_value(script, r"useradd .*--shell (\S+)"),
    }


def _bootstrap_value(script: str, pattern: str) -> str:
    match = re.search(pattern, script, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{BOOTSTRAP_SCRIPT} no longer matches {pattern!r}: update the harness")
    return match[1]


def install_service(app_dir: Path) -> None:
    """Lay out app_dir as fleet_bootstrap.sh lays out /opt/spito/app: service/ as the asset
    ships it (its wheelhouse moved out, as the bootstrap does), and nothing else.
    """
    from infra.api_fleet import SERVICE_DIR
    from infra.service_bundle import SERVICE_EXCLUDES

    shutil.rmtree(app_dir, ignore_errors=True)
    shutil.copytree(
        SERVICE_DIR, app_dir / "service", ignore=shutil.ignore_patterns(*SERVICE_EXCLUDES)
    )


class Fleet:
    """Storage, `instances` service processes and the balancer, as one unit."""

    def __init__(
        self,
        workdir: Path,
        *,
        instances: int = 3,
        stage: str = "dev",
        health_check: HealthCheck | None = None,
    ) -> None:
        self.workdir = workdir
        self.app_dir = workdir / "app"
        self.stage = stage
        self.health_check = health_check or HealthCheck()
        self.storage = Storage(
            data_dir=workdir / "storage", dynamodb_port=free_port(), s3_port=free_port()
        )
        self.balancer_port = free_port()
        self.instance_ports = {f"s{n}": free_port() for n in range(1, instances + 1)}
        self.instances: dict[str, ManagedProcess] = {}
        self._exit_stack = ExitStack()
        self._balancer: ManagedProcess | None = None
        self._runtime_api: RuntimeApi | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}"

    def instance_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.instance_ports[name]}"

    @property
    def balancer(self) -> RuntimeApi:
        if self._runtime_api is None:
            raise RuntimeError("the fleet is not running")
        return self._runtime_api

    def __enter__(self) -> Fleet:
        self.workdir.mkdir(parents=True, exist_ok=True)
        install_service(self.app_dir)
        self._exit_stack.callback(self._stop_everything)
        try:
            # The instances import while storage starts: /healthz needs no storage.
            for name in self.instance_ports:
                self._spawn_instance(name)
            self.storage.start()
            for name in self.instance_ports:
                self._wait_until_serving(name)
            self._balancer, self._runtime_api = start_haproxy(
                workdir=self.workdir,
                port=self.balancer_port,
                servers=self.instance_ports,
                health_check=self.health_check,
            )
            for name in self.instance_ports:
                self.balancer.wait_for_status(name, "UP", timeout_s=10)
        except BaseException:
            self._exit_stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._exit_stack.close()

    def instance_env(self, name: str) -> dict[str, str]:
        """An EC2 instance's environment: its env file and what systemd adds, and nothing of
        this process's. Local: storage (endpoints, names, credentials), address and port.
        """
        storage = self.storage
        ec2 = ec2_environment(self.stage, table=storage.table, bucket=storage.bucket)
        return {
            **ec2,
            **systemd_environment(),
            # dynalite and s3rver take any region: the stage's stays, as on EC2.
            **service_environment(storage, AWS_REGION=ec2["AWS_REGION"]),
            "PORT": str(self.instance_ports[name]),
        }

    def service_settings(self) -> Settings:
        """The settings every instance runs with, read the way the service reads them."""
        return Settings.from_env(self.instance_env(next(iter(self.instance_ports))))

    def start_instance(self, name: str) -> None:
        """Start (or restart) instance `name` on its port and wait until it serves /healthz."""
        self._spawn_instance(name)
        self._wait_until_serving(name)

    def kill_instance(self, name: str) -> None:
        """kill -9 the instance and every process it forked."""
        self.instances[name].kill_group()

    def terminate_instance(self, name: str) -> None:
        """SIGTERM to every process of the instance, as systemd stops the unit."""
        self.instances[name].terminate_group()

    def wait_for_exit(self, name: str, timeout_s: float) -> int:
        """The instance's exit code; it is killed and TimeoutExpired raised after timeout_s."""
        return self.instances[name].wait(timeout_s)

    def instance_log_size(self, name: str) -> int:
        return self.instance_log(name).stat().st_size

    def instance_log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def wait_for_log_message(
        self, name: str, message: str, *, count: int, offset: int, timeout_s: float
    ) -> bool:
        """Whether the instance logs `message` count times after byte offset within timeout_s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.instance_log(name).open("rb") as log:
                log.seek(offset)
                lines = log.read().decode(errors="replace").splitlines()
            if sum(1 for line in lines if _log_message(line) == message) >= count:
                return True
            time.sleep(0.01)
        return False

    def balancer_log(self) -> list[LoggedRequest]:
        """Every request HAProxy has logged so far."""
        return logged_requests((self.workdir / "haproxy.log").read_text(errors="replace"))

    def _spawn_instance(self, name: str) -> None:
        # As the unit runs it: `python -m service` from the app directory (systemd's
        # WorkingDirectory), in a process group of its own (the unit's control group).
        self.instances[name] = ManagedProcess.start(
            name,
            [sys.executable, "-m", "service"],
            log_path=self.instance_log(name),
            env=self.instance_env(name),
            cwd=self.app_dir,
        )

    def _wait_until_serving(self, name: str) -> None:
        process = self.instances[name]
        port = self.instance_ports[name]
        wait_until_listening(port, timeout_s=INSTANCE_START_TIMEOUT_SECONDS, process=process)
        deadline = time.monotonic() + INSTANCE_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.instance_url(name)}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{name} never answered /healthz 200:\n{process.log_tail()}")

    def _stop_everything(self) -> None:
        if self._balancer is not None:
            self._balancer.stop()
        # Every instance drains at once, not one after another.
        for process in self.instances.values():
            process.terminate_group()
        for process in self.instances.values():
            process.stop()
        self.storage.stop()


def _log_message(line: str) -> str | None:
    """The message of one of the service's JSON log lines (None for other lines)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    message = entry.get("message") if isinstance(entry, dict) else None
    return message if isinstance(message, str) else None
