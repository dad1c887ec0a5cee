"""A local Spito fleet: storage, N service instances started as on EC2, HAProxy in front.

Everything listens on loopback on ports the OS picked, and everything started here is stopped
when the Fleet's `with` block ends, whatever happened inside it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import httpx

from scripts.faults.haproxy import HealthCheck, RuntimeApi, start_haproxy
from scripts.faults.processes import ManagedProcess, free_port, wait_until_listening
from scripts.local_stack import Storage, service_environment
from service.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_START_TIMEOUT_SECONDS = 30.0


def ec2_environment(stage: str, *, table: str, bucket: str) -> dict[str, str]:
    """The SPITO_* settings the CDK app gives an EC2 instance of `stage` (cdk.json context).

    Among them SPITO_CLIENT_IP_POSITION=2: the load generator plays CloudFront (it sends the
    viewer's address) and HAProxy appends its peer as the ALB does.
    """
    # The CDK app is imported here, not at the top, because loading it starts a jsii runtime.
    from infra.config import load_config
    from stacks.api_stack import service_environment as instance_environment

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return instance_environment(load_config(context, stage), table=table, bucket=bucket)


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
        self._exit_stack.callback(self._stop_everything)
        try:
            self.storage.start()
            for name in self.instance_ports:
                self._spawn_instance(name)
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
        """An EC2 instance's environment, with storage, address and port made local."""
        storage = self.storage
        return {
            **os.environ,
            **ec2_environment(self.stage, table=storage.table, bucket=storage.bucket),
            **service_environment(storage),  # local endpoints, credentials, loopback address
            "PORT": str(self.instance_ports[name]),
            "SPITO_PUBLIC_URL": self.base_url,
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

    def terminate_instance(self, name: str, timeout_s: float) -> int:
        """SIGTERM the instance, as a stopping EC2 instance's init does; its exit code."""
        return self.instances[name].terminate(timeout_s)

    def _spawn_instance(self, name: str) -> None:
        self.instances[name] = ManagedProcess.start(
            name,
            [sys.executable, "-m", "service"],
            log_path=self.workdir / f"{name}.log",
            env=self.instance_env(name),
            cwd=REPO_ROOT,
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
        for process in self.instances.values():
            process.stop()
        self.storage.stop()
