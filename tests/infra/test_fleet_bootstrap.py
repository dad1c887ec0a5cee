"""The instances' user data and bootstrap script, run on this machine against the shipped asset.

The user data of the synthesized Spito-dev-Api launch template runs as written (its env heredoc,
the embedded script, the exec line with the template's arguments), with deploy-time values
filled in and only what this host cannot do swapped: paths under a temporary root, a free
loopback port, the bundle as a local zip (no S3), and flags for no dnf, no systemd and a
recording stand-in for cfn-signal, and the table and bucket those of the local stack (dynalite,
s3rver), so /readyz can answer. Everything else (unpacking the asset, the hash-locked virtualenv
from the wheels `make deps` downloaded, the unit and log-agent files, the /readyz and ALB health
gate) runs for real, offline.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from devstack.stack import LOCAL_CREDENTIALS, LocalStack
from infra import target_health
from infra.api_fleet import BOOTSTRAP_SCRIPT, SERVICE_DIR
from infra.service_bundle import stage_bundle, wheelhouse_dir
from tests.fixtures.cdk_app import REPO_ROOT

LOG_GROUP = "/spito/test/service"
STACK = "Spito-test-Api"
RESOURCE = "ApiFleetASG97E7D065"
REGION = "eu-west-1"
INSTALL_TIMEOUT_SECONDS = 240
USER_DATA_DIR = "/run/spito-bootstrap"


@dataclass(frozen=True)
class Bootstrapped:
    root: Path
    port: int
    signals: Path
    result: subprocess.CompletedProcess[str]
    user_data_dir: Path
    fleet_logical_id: str


def _wheelhouse() -> Path:
    """The service's locked wheels, downloaded by `make deps`: the test installs offline."""
    wheelhouse = REPO_ROOT / ".tools" / "wheels"
    assert (wheelhouse / ".downloaded").is_file(), "run `make deps` to download the wheelhouse"
    return wheelhouse


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _service_asset(cdk_out: Path) -> Path:
    """The staged copy of service/ the Api stack ships (the asset with service/__main__.py)."""
    manifest = json.loads((cdk_out / "Spito-dev-Api.assets.json").read_text())
    candidates: list[Path] = [
        cdk_out / asset["source"]["path"]
        for asset in manifest["files"].values()
        if (cdk_out / asset["source"]["path"] / "settings.py").is_file()
    ]
    (asset,) = candidates
    return asset


def _zip(directory: Path, destination: Path) -> Path:
    with zipfile.ZipFile(destination, "w") as archive:
        for path in sorted(directory.rglob("*")):
            archive.write(path, path.relative_to(directory))
    return destination


def _recording_signal_command(directory: Path, refusal: str | None = None) -> tuple[Path, Path]:
    """A stand-in for cfn-signal that appends its arguments to a file; with `refusal`, it then
    prints that message and fails, as cfn-signal does when CloudFormation refuses the signal."""
    record = directory / "signals.txt"
    command = directory / "cfn-signal"
    refuse = f"echo '{refusal}' >&2\nexit 1\n" if refusal else ""
    command.write_text(f'#!/bin/sh\necho "$@" >> "{record}"\n{refuse}')
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return command, record


def _run_bootstrap(
    work: Path,
    bundle: Path,
    env_lines: list[str],
    *,
    health_timeout: int = 60,
    signal_refusal: str | None = None,
    alb_interval: int = target_health.INTERVAL_SECONDS,
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    env_file = work / "service.env"
    env_file.write_text("\n".join(env_lines) + "\n")
    signal_command, record = _recording_signal_command(work, signal_refusal)
    root = work / "root"
    result = subprocess.run(
        [
            "bash",
            str(BOOTSTRAP_SCRIPT),
            "--root",
            str(root),
            "--bundle",
            str(bundle),
            "--env-file",
            str(env_file),
            "--log-group",
            LOG_GROUP,
            "--stack",
            STACK,
            "--resource",
            RESOURCE,
            "--region",
            REGION,
            "--health-timeout",
            str(health_timeout),
            "--alb-interval",
            str(alb_interval),
            "--wheelhouse",
            str(_wheelhouse()),
            "--no-packages",
            "--no-systemd",
            "--signal-command",
            str(signal_command),
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    return result, root, record


def _stop(root: Path) -> None:
    pid_file = root / "run" / "spito" / "spito.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)


def _deploy_time_values(local_stack: LocalStack) -> dict[str, str]:
    """What CloudFormation fills into the user data at deploy time, by a fragment of each token:
    here the local stack's table and bucket, so the installed service can answer /readyz."""
    return {
        "DataTable": local_stack.storage.table,
        "DataBlobs": local_stack.storage.bucket,
        "ServiceLogs": LOG_GROUP,
    }


def _storage_lines(local_stack: LocalStack) -> list[str]:
    """The settings that point a service at the local stack's storage instead of AWS's."""
    return [
        *(f"{key}={value}" for key, value in LOCAL_CREDENTIALS.items()),
        f"SPITO_DYNAMODB_ENDPOINT={local_stack.storage.dynamodb_endpoint}",
        f"SPITO_S3_ENDPOINT={local_stack.storage.s3_endpoint}",
        f"SPITO_TABLE={local_stack.storage.table}",
        f"SPITO_BUCKET={local_stack.storage.bucket}",
        # No SSM here: the published host names are tested in tests/service/test_deployment_hosts.py
        "SPITO_PUBLIC_HOSTS_PARAMETER=",
    ]


def _user_data(template: dict[str, Any], deploy_time_values: dict[str, str]) -> tuple[str, str]:
    """The launch template's user data with deploy-time values filled in, and the fleet's id."""
    (launch_template,) = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::EC2::LaunchTemplate"
    ]
    separator, parts = launch_template["Properties"]["LaunchTemplateData"]["UserData"][
        "Fn::Base64"
    ]["Fn::Join"]
    rendered = []
    for part in parts:
        if isinstance(part, str):
            rendered.append(part)
            continue
        (value,) = [v for fragment, v in deploy_time_values.items() if fragment in json.dumps(part)]
        rendered.append(value)
    (fleet,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::AutoScaling::AutoScalingGroup"
    ]
    return separator.join(rendered), fleet


def _on_this_host(
    user_data: str, *, work: Path, port: int, flags: list[str], env_lines: list[str]
) -> str:
    """`user_data` with the host's paths, port, flags and extra environment lines (local storage
    endpoints); the embedded script left untouched."""
    head, rest = user_data.split("<<'SPITO_BOOTSTRAP'\n", 1)
    extra = "".join(f"{line}\n" for line in env_lines)
    head = head.replace("\nSPITO_ENV\n", f"\n{extra}SPITO_ENV\n")
    script, tail = rest.split("\nSPITO_BOOTSTRAP\n", 1)
    head = head.replace(USER_DATA_DIR, str(work / "user-data"))
    head = re.sub(r"^PORT=\d+$", f"PORT={port}", head, flags=re.MULTILINE)
    head = re.sub(r"^SPITO_BIND_HOST=.*$", "SPITO_BIND_HOST=127.0.0.1", head, flags=re.MULTILINE)
    # The bootstrap takes the last of a repeated flag, so these override the template's own.
    tail = tail.replace(USER_DATA_DIR, str(work / "user-data")).rstrip("\n")
    tail = " ".join([tail, *flags]) + "\n"
    return f"{head}<<'SPITO_BOOTSTRAP'\n{script}\nSPITO_BOOTSTRAP\n{tail}"


@pytest.fixture(scope="module")
def bootstrapped(
    cdk_out: Path, local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bootstrapped]:
    """The shipped user data, run on this host; the service it started is stopped after."""
    work = tmp_path_factory.mktemp("bootstrap")
    bundle = _zip(_service_asset(cdk_out), work / "service.zip")
    template = json.loads((cdk_out / "Spito-dev-Api.template.json").read_text())
    user_data, fleet = _user_data(template, _deploy_time_values(local_stack))
    signal_command, record = _recording_signal_command(work)
    port = _free_port()
    root = work / "root"
    host_flags = [
        *("--bundle", str(bundle), "--root", str(root), "--wheelhouse", str(_wheelhouse())),
        *("--no-packages", "--no-systemd", "--signal-command", str(signal_command)),
        *("--health-timeout", "60"),
    ]
    script = work / "user-data.sh"
    script.write_text(
        _on_this_host(
            user_data,
            work=work,
            port=port,
            flags=host_flags,
            env_lines=_storage_lines(local_stack),
        )
    )
    result = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    try:
        yield Bootstrapped(
            root=root,
            port=port,
            signals=record,
            result=result,
            user_data_dir=work / "user-data",
            fleet_logical_id=fleet,
        )
    finally:
        _stop(root)


def test_bootstrap_succeeds(bootstrapped: Bootstrapped) -> None:
    assert bootstrapped.result.returncode == 0, bootstrapped.result.stderr


def test_installed_service_answers_healthz(bootstrapped: Bootstrapped) -> None:
    response = httpx.get(f"http://127.0.0.1:{bootstrapped.port}/healthz", timeout=5)
    assert response.status_code == 200


def test_user_data_writes_the_bootstrap_script_byte_for_byte(bootstrapped: Bootstrapped) -> None:
    written = (bootstrapped.user_data_dir / "fleet_bootstrap.sh").read_text()
    assert written == BOOTSTRAP_SCRIPT.read_text()


def test_the_service_runs_with_the_environment_the_template_gives_it(
    bootstrapped: Bootstrapped, local_stack: LocalStack
) -> None:
    installed = (bootstrapped.root / "etc" / "spito" / "spito.env").read_text().splitlines()
    assert (bootstrapped.user_data_dir / "service.env").read_text().splitlines() == installed
    assert {
        f"SPITO_TABLE={local_stack.storage.table}",
        f"SPITO_BUCKET={local_stack.storage.bucket}",
        "SPITO_CLIENT_IP_POSITION=2",
        f"AWS_REGION={REGION}",
        f"PORT={bootstrapped.port}",
    } <= set(installed)


def test_success_is_signalled_once_for_the_fleet_after_readyz_and_the_alb_check_passed(
    bootstrapped: Bootstrapped,
) -> None:
    assert bootstrapped.signals.read_text().splitlines() == [
        f"--exit-code 0 --stack Spito-dev-Api --resource {bootstrapped.fleet_logical_id}"
        f" --region {REGION}"
    ]
    stderr = bootstrapped.result.stderr
    assert stderr.index("/readyz") < stderr.index("ready; checking /healthz for 15s")
    assert stderr.index("ready; checking") < stderr.index("service ready on port")


def test_bootstrap_waits_as_long_as_the_target_groups_health_check_needs() -> None:
    # The script's defaults are the target group's check (infra/target_health.py).
    script = BOOTSTRAP_SCRIPT.read_text()
    assert (
        f"ALB_HEALTH_PATH={target_health.PATH} ALB_INTERVAL={target_health.INTERVAL_SECONDS} "
        f"ALB_HEALTHY_THRESHOLD={target_health.HEALTHY_THRESHOLD}\n"
    ) in script


def test_a_service_that_cannot_reach_its_storage_signals_failure(
    cdk_out: Path, tmp_path: Path
) -> None:
    # /healthz answers (the process is up) but /readyz cannot reach DynamoDB or S3.
    nowhere = f"http://127.0.0.1:{_free_port()}"
    env_lines = [
        f"PORT={_free_port()}",
        "SPITO_BIND_HOST=127.0.0.1",
        *(f"{key}={value}" for key, value in LOCAL_CREDENTIALS.items()),
        f"SPITO_DYNAMODB_ENDPOINT={nowhere}",
        f"SPITO_S3_ENDPOINT={nowhere}",
        "SPITO_TABLE=spito-missing",
        "SPITO_BUCKET=spito-missing",
    ]
    bundle = _zip(_service_asset(cdk_out), tmp_path / "service.zip")
    result, root, record = _run_bootstrap(tmp_path, bundle, env_lines, health_timeout=15)
    try:
        assert result.returncode != 0
        assert "/readyz did not answer 200" in result.stderr
        assert record.read_text().splitlines() == [
            f"--exit-code 1 --stack {STACK} --resource {RESOURCE} --region {REGION}"
        ]
    finally:
        _stop(root)


def test_a_signal_no_stack_operation_waits_for_does_not_fail_the_boot(
    cdk_out: Path, local_stack: LocalStack, tmp_path: Path
) -> None:
    # An instance launched by scaling runs the same user data; CloudFormation refuses its signal.
    env_lines = [f"PORT={_free_port()}", "SPITO_BIND_HOST=127.0.0.1", *_storage_lines(local_stack)]
    bundle = _zip(_service_asset(cdk_out), tmp_path / "service.zip")
    refused = (
        "ValidationError: Stack arn:aws:cloudformation:eu-west-1:111111111111:stack/"
        f"{STACK}/x is in UPDATE_COMPLETE state and cannot be signaled"
    )
    result, root, record = _run_bootstrap(
        tmp_path, bundle, env_lines, signal_refusal=refused, alb_interval=1
    )
    try:
        assert result.returncode == 0, result.stderr
        assert "no stack operation is waiting for this instance" in result.stderr
        assert record.read_text().splitlines() == [
            f"--exit-code 0 --stack {STACK} --resource {RESOURCE} --region {REGION}"
        ]
    finally:
        _stop(root)


def test_dependencies_are_installed_into_a_virtualenv(bootstrapped: Bootstrapped) -> None:
    venv = bootstrapped.root / "opt" / "spito" / "venv"
    assert (venv / "pyvenv.cfg").is_file()
    site_packages = list((venv / "lib").glob("python3*/site-packages"))
    assert site_packages
    assert (site_packages[0] / "uvicorn").is_dir()


def test_pip_installs_only_with_hashes_even_from_a_lock_that_has_none(
    cdk_out: Path, tmp_path: Path
) -> None:
    # pip checks hashes whenever a lock carries any; only --require-hashes refuses one with none.
    service = tmp_path / "service"
    shutil.copytree(_service_asset(cdk_out), service)
    lock = service / "requirements.lock"
    lines = lock.read_text().splitlines()
    lock.write_text(
        "\n".join(line.removesuffix(" \\") for line in lines if "--hash=" not in line) + "\n"
    )
    assert "==" in lock.read_text()
    result, _, record = _run_bootstrap(tmp_path, _zip(service, tmp_path / "unhashed.zip"), [])
    assert result.returncode != 0
    assert "Hashes are required in --require-hashes mode" in result.stderr
    assert record.read_text().splitlines()[-1].startswith("--exit-code 1 ")


def test_unit_runs_the_service_unprivileged_and_restarts_it_always(
    bootstrapped: Bootstrapped,
) -> None:
    unit = (bootstrapped.root / "etc" / "systemd" / "system" / "spito.service").read_text()
    lines = set(unit.splitlines())
    assert {"User=spito", "Restart=always", "NoNewPrivileges=yes"} <= lines
    assert "ExecStart=/opt/spito/venv/bin/python -m service" in lines
    assert "StandardOutput=append:/var/log/spito/service.log" in lines


def test_log_agent_ships_the_service_log_to_the_log_group(bootstrapped: Bootstrapped) -> None:
    config = json.loads((bootstrapped.root / "etc" / "spito" / "cloudwatch-agent.json").read_text())
    (collected,) = config["logs"]["logs_collected"]["files"]["collect_list"]
    assert collected["file_path"] == "/var/log/spito/service.log"
    assert collected["log_group_name"] == LOG_GROUP


def test_service_writes_its_log_where_the_agent_reads_it(bootstrapped: Bootstrapped) -> None:
    log = bootstrapped.root / "var" / "log" / "spito" / "service.log"
    assert log.is_file()


def test_a_broken_bundle_signals_failure(tmp_path: Path) -> None:
    bundle = tmp_path / "broken.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("__main__.py", "")  # no requirements.lock
    result, _, record = _run_bootstrap(tmp_path, bundle, [f"PORT={_free_port()}"])
    assert result.returncode != 0
    assert "requirements.lock" in result.stderr
    assert record.read_text().splitlines() == [
        f"--exit-code 1 --stack {STACK} --resource {RESOURCE} --region {REGION}"
    ]


def test_an_env_file_with_quotes_is_refused_before_anything_is_installed(tmp_path: Path) -> None:
    bundle = tmp_path / "unused.zip"
    bundle.write_bytes(b"")
    result, root, _ = _run_bootstrap(tmp_path, bundle, ['SPITO_TABLE="quoted"'])
    assert result.returncode != 0
    assert "every line must be KEY=value" in result.stderr
    assert not root.exists()


class _RecordingIndex(http.server.BaseHTTPRequestHandler):
    """A package index that has nothing and remembers every path it was asked for."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:  # the base class's signature
        return


@pytest.fixture
def recording_index() -> Iterator[tuple[str, list[str]]]:
    """(an index URL, the paths asked of it): the index pip would use if anything let it."""
    _RecordingIndex.asked = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingIndex)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", _RecordingIndex.asked
    finally:
        server.shutdown()
        server.server_close()


def _run_plain(
    work: Path, bundle: Path, port: int, *flags: str, index_url: str, storage: list[str]
) -> Any:
    """The bootstrap as a host without dnf, systemd or CloudFormation runs it, its service
    pointed at `storage` (the bootstrap waits for /readyz, which needs the table and bucket)."""
    env_file = work / "service.env"
    env_file.write_text(
        "\n".join([f"PORT={port}", "SPITO_BIND_HOST=127.0.0.1", f"AWS_REGION={REGION}", *storage])
        + "\n"
    )
    return subprocess.run(
        [
            *("bash", str(BOOTSTRAP_SCRIPT), "--root", str(work / "root"), "--bundle", str(bundle)),
            *("--env-file", str(env_file), "--health-timeout", "60"),
            *("--no-packages", "--no-systemd", "--no-signal", *flags),
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
        env={**os.environ, "PIP_INDEX_URL": index_url},
    )


def test_the_fleet_installs_only_from_the_assets_wheelhouse_with_no_index(
    tmp_path: Path, recording_index: tuple[str, list[str]], local_stack: LocalStack
) -> None:
    index_url, asked = recording_index
    # The asset as synth lays it out for an x86_64 fleet, the platform of this host.
    staged = stage_bundle(SERVICE_DIR, wheelhouse_dir("x86_64"), tmp_path / "asset")
    bundle = _zip(staged, tmp_path / "fleet.zip")
    port = _free_port()
    result = _run_plain(
        tmp_path, bundle, port, index_url=index_url, storage=_storage_lines(local_stack)
    )
    root = tmp_path / "root"
    try:
        assert result.returncode == 0, result.stderr
        assert f"from {root}/opt/spito/wheelhouse into" in result.stderr
        assert asked == []  # pip never asked the index for anything
        assert not (root / "opt" / "spito" / "app" / "service" / "wheelhouse").exists()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        _stop(root)


def test_a_bundle_without_a_wheelhouse_is_refused_rather_than_fetched(
    tmp_path: Path, recording_index: tuple[str, list[str]]
) -> None:
    index_url, asked = recording_index
    service = tmp_path / "service"
    shutil.copytree(SERVICE_DIR, service, ignore=shutil.ignore_patterns("__pycache__"))
    result = _run_plain(
        tmp_path,
        _zip(service, tmp_path / "bare.zip"),
        _free_port(),
        index_url=index_url,
        storage=[],
    )
    assert result.returncode != 0
    assert "the bundle has no wheelhouse/" in result.stderr
    assert asked == []
