"""The harness's own parts, checked without a fleet: how it starts and stops instances, the
balancer's configuration and log, the statistics, and the rules that excuse a failure.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from faults.fleet import (
    BOOTSTRAP_SCRIPT,
    REPO_ROOT,
    Fleet,
    ec2_environment,
    install_service,
    systemd_environment,
)
from faults.haproxy import (
    CHECK_SPEEDUP,
    HealthCheck,
    haproxy_binary,
    logged_requests,
    render_config,
)
from faults.load import ANSWER_CUT_OFF, CREATE_LINK, REDIRECT, Outcome, percentile
from faults.processes import EPHEMERAL_RANGE, ManagedProcess, free_port
from faults.scenarios import OutageFailures, OutageMarks, explained_by_failover
from infra.service_bundle import BUNDLED_WHEELHOUSE

RELIABILITY_DOC = REPO_ROOT / "docs" / "RELIABILITY.md"
DIFFERENCES_HEADING = "### How an instance here differs from one on EC2"


def rendered_config(tmp_path: Path, health_check: HealthCheck) -> str:
    return render_config(
        bind_host="127.0.0.1",
        port=free_port(),
        admin_socket=tmp_path / "admin.sock",
        servers={"s1": free_port(), "s2": free_port()},
        health_check=health_check,
    )


def test_rendered_haproxy_config_passes_haproxys_own_check(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(rendered_config(tmp_path, HealthCheck()))
    check = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_haproxy_checks_health_with_the_target_groups_path_codes_and_counts(
    stage: str, tmp_path: Path, cdk_template: Callable[[str], Any]
) -> None:
    check = HealthCheck()
    cdk_template(f"Spito-{stage}-Api").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "HealthCheckPath": check.path,
            "Matcher": {"HttpCode": check.healthy_codes},
            "HealthCheckIntervalSeconds": check.interval_ms * CHECK_SPEEDUP // 1000,
            "HealthyThresholdCount": check.rise,
            "UnhealthyThresholdCount": check.fall,
        },
    )
    config = rendered_config(tmp_path, check)
    assert f"option httpchk GET {check.path}\n" in config
    assert f"http-check expect status {check.healthy_codes}\n" in config
    assert f"inter {check.interval_ms}ms " in config
    assert f" fall {check.fall} rise {check.rise}\n" in config


def test_the_balancer_forwards_every_request_as_the_internal_albs_one_listener_does(
    tmp_path: Path, cdk_template: Callable[[str], Any]
) -> None:
    config = rendered_config(tmp_path, HealthCheck())
    frontend = config.split("frontend spito\n", 1)[1].split("\nbackend ", 1)[0]
    assert "http-request deny" not in frontend
    assert "hdr(" not in frontend  # no header the request must carry
    assert "    default_backend fleet" in frontend
    for stage in ("dev", "prod"):
        api = cdk_template(f"Spito-{stage}-Api")
        (listener,) = api.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
        assert [a["Type"] for a in listener["Properties"]["DefaultActions"]] == ["forward"]
        api.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerRule", 0)


def test_balancer_log_lines_give_the_server_status_termination_and_retries() -> None:
    log = (
        "127.0.0.1:48626 [01/Dec/2026:20:35:26.134] spito fleet/s1 0/22/0/1/23 302 220 - - ---- "
        '8/8/1/1/+1 0/0 "GET /FJizG3s3 HTTP/1.1"\n'
        "[WARNING]  (6134) : Server fleet/s2 is DOWN, reason: Layer4 connection problem\n"
        "127.0.0.1:56232 [01/Dec/2026:20:22:40.836] spito fleet/s2 0/0/0/38/38 201 401 - - ---- "
        '1/1/0/0/0 0/0 "POST /api/v1/links HTTP/1.1"\n'
        "127.0.0.1:56240 [01/Dec/2026:20:22:41.001] spito fleet/s2 0/0/0/-1/3 502 209 - - SH-- "
        '2/2/1/0/3 0/0 "POST /api/v1/pastes HTTP/1.1"\n'
    )
    requests = logged_requests(log)
    assert [(r.server, r.status, r.termination, r.retries, r.redispatched) for r in requests] == [
        ("s1", 302, "----", 1, True),
        ("s2", 201, "----", 0, False),
        ("s2", 502, "SH--", 3, False),
    ]
    assert [r.retried for r in requests] == [True, False, True]


def outcome(
    route: str = CREATE_LINK,
    *,
    started: float = 1.0,
    status: int | None = None,
    error: str | None = None,
    content_type: str = "",
    latency_s: float = 0.1,
) -> Outcome:
    return Outcome(
        route=route,
        started=started,
        latency_s=latency_s,
        status=status,
        error=error,
        server=None,
        content_type=content_type,
    )


DOWN_AT = 2.0


@pytest.mark.parametrize(
    ("failure", "excused"),
    [
        (outcome(error="RemoteProtocolError"), True),
        (outcome(error="ConnectError"), True),
        (outcome(status=502, content_type="text/html"), True),
        (outcome(status=503, content_type="text/html"), True),
        (outcome(status=500, content_type="application/problem+json"), False),
        (outcome(status=503, content_type="application/problem+json"), False),
        (outcome(status=502, content_type="application/problem+json"), False),
        (outcome(error="ReadTimeout"), False),
        (outcome(REDIRECT, error="RemoteProtocolError"), False),
        (outcome(REDIRECT, status=502, content_type="text/html"), False),
        (outcome(REDIRECT, status=200, error=ANSWER_CUT_OFF), True),
        (outcome(started=DOWN_AT + 0.1, error="RemoteProtocolError"), False),
        (outcome(REDIRECT, started=DOWN_AT + 0.1, status=200, error=ANSWER_CUT_OFF), False),
    ],
)
def test_a_failover_excuses_only_writes_that_lost_their_instance_and_reads_cut_off_before_down(
    failure: Outcome, excused: bool
) -> None:
    assert explained_by_failover(failure, DOWN_AT) is excused


def test_a_storage_outage_allows_only_503_problem_json_between_the_stop_and_recovery() -> None:
    marks = OutageMarks(
        stop_called=10.0, all_not_ready=10.5, restart_called=12.0, storage_back=13.0, all_ready=14.0
    )
    problem_503 = {"status": 503, "content_type": "application/problem+json"}
    before = outcome(started=9.0, latency_s=0.5, **problem_503)  # ended before the stop
    in_flight_at_stop = outcome(started=9.9, latency_s=0.5, **problem_503)
    during_ok = outcome(started=11.0, **problem_503)
    during_500 = outcome(started=11.0, status=500, content_type="application/problem+json")
    during_timeout = outcome(started=11.0, error="ReadTimeout")
    after = outcome(started=14.0, **problem_503)
    served = outcome(REDIRECT, started=11.0, status=302)
    failed = OutageFailures.of(
        [before, in_flight_at_stop, during_ok, during_500, during_timeout, after, served], marks
    )
    assert (failed.before, failed.after) == ([before], [after])
    assert failed.during == [in_flight_at_stop, during_ok, during_500, during_timeout]
    assert failed.not_problem_503() == [during_500, during_timeout]


def documented_environment_differences() -> set[str]:
    """The variables the differences table of docs/RELIABILITY.md lists."""
    section = RELIABILITY_DOC.read_text().split(DIFFERENCES_HEADING, 1)[1].split("\n#", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}


def test_an_instance_gets_the_ec2_env_file_and_systemds_variables_with_only_documented_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.config import load_config

    # Stray variables of the harness's own environment must not reach the instances.
    monkeypatch.setenv("SPITO_RATE_LIMIT_BURST", "7")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    ec2_env_file = {
        **ec2_environment("dev", table="<table>", bucket="<bucket>"),
        "PORT": str(load_config(context, "dev").fleet.service_port),
    }
    on_ec2 = {**ec2_env_file, **systemd_environment()}
    here = Fleet(tmp_path, stage="dev").instance_env("s1")
    differences = {
        name for name in on_ec2.keys() | here.keys() if on_ec2.get(name) != here.get(name)
    }
    assert differences == documented_environment_differences()


def test_an_instance_runs_from_a_directory_holding_only_what_the_service_asset_ships(
    tmp_path: Path, cdk_out: Path
) -> None:
    (asset,) = {p.parent for p in cdk_out.glob("asset.*/__main__.py")}
    install_service(tmp_path / "app")
    # The bootstrap moves the bundled wheelhouse out of service/ before the service runs.
    shipped = {p for p in _files(asset) if p.parts[0] != BUNDLED_WHEELHOUSE}
    assert _files(tmp_path / "app") == {Path("service") / p for p in shipped}


def _files(directory: Path) -> set[Path]:
    return {p.relative_to(directory) for p in directory.rglob("*") if p.is_file()}


def test_the_unit_is_stopped_by_control_group_so_every_process_gets_sigterm() -> None:
    # No KillMode in the unit fleet_bootstrap.sh writes: systemd's default, control-group.
    assert "KillMode" not in BOOTSTRAP_SCRIPT.read_text()


FORKING_SERVICE = """
import os, signal, sys, time
out = sys.argv[1]

def stop(signum, frame):
    open(os.path.join(out, f"sigterm-{os.getpid()}"), "w").close()
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
if os.fork() == 0:
    open(os.path.join(out, f"worker-{os.getpid()}"), "w").close()
while True:
    time.sleep(1)
"""


def test_terminating_an_instance_sends_sigterm_to_every_process_of_its_group(
    tmp_path: Path,
) -> None:
    process = ManagedProcess.start(
        "forking", [sys.executable, "-c", FORKING_SERVICE, str(tmp_path)], log_path=tmp_path / "log"
    )
    try:
        deadline = time.monotonic() + 10
        while not list(tmp_path.glob("worker-*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        worker = next(tmp_path.glob("worker-*")).name.removeprefix("worker-")
        process.terminate_group()
        assert process.wait(10) == 0
        while time.monotonic() < deadline and not (tmp_path / f"sigterm-{worker}").exists():
            time.sleep(0.01)
        assert {p.name for p in tmp_path.glob("sigterm-*")} == {
            f"sigterm-{process.popen.pid}",
            f"sigterm-{worker}",
        }
    finally:
        process.stop()


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.50), percentile(values, 0.99), percentile([], 0.99)) == (
        50.0,
        99.0,
        0.0,
    )


def test_free_ports_lie_below_the_ephemeral_range_outgoing_connections_use() -> None:
    ephemeral_start = int(EPHEMERAL_RANGE.read_text().split()[0])
    assert all(free_port() < ephemeral_start for _ in range(20))
