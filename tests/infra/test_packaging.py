"""The constructs work in another CDK app from Spito's wheel, with no copy of this repository.

The wheel is built from a copy of exactly the files pyproject.toml packages, unpacked into a
scratch directory, and a small app outside the repository imports the constructs from there and
synthesizes a network, the data store and the API fleet with its default service code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cdk_app import REPO_ROOT

PACKAGED = ["pyproject.toml", "infra", "service", "lambda_src", "spito_admin"]
BUILD_TIMEOUT_SECONDS = 300
APP = """
import json
import sys
from pathlib import Path

from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

import infra
from infra.api_fleet import ApiFleet
from infra.data import DataStore
from infra.monitoring import AlarmTopic
from infra.network import Network

site, repo, outdir = (Path(arg).resolve() for arg in sys.argv[1:])
assert Path(infra.__file__).resolve().is_relative_to(site), infra.__file__
assert not any(Path(entry or ".").resolve() == repo for entry in sys.path), sys.path

app = App(outdir=str(outdir))
stack = Stack(app, "Reused", env=Environment(account="123456789012", region="eu-central-1"))
network = Network(
    stack,
    "Network",
    cidr="10.9.0.0/16",
    availability_zones=["eu-central-1a", "eu-central-1b"],
    nat_gateways=1,
    interface_endpoints=["logs"],
    flow_log_retention=logs.RetentionDays.ONE_WEEK,
    removal_policy=RemovalPolicy.DESTROY,
)
data = DataStore(stack, "Data", removal_policy=RemovalPolicy.DESTROY, deletion_protection=False)
topic = AlarmTopic(stack, "Alarms", email=None, removal_policy=RemovalPolicy.DESTROY)
fleet = ApiFleet(
    stack,
    "Api",
    vpc=network.vpc,
    data_access_policy=data.service_access_policy,
    notification_topic=topic.topic,
    instance_type=ec2.InstanceType("t4g.micro"),
    cpu_type=ec2.AmazonLinuxCpuType.ARM_64,
    min_capacity=1,
    max_capacity=2,
    cpu_target_percent=50,
    requests_per_target_per_minute=1000,
    health_check_grace=Duration.minutes(5),
    signal_timeout=Duration.minutes(10),
    root_volume_gib=8,
    service_port=8080,
    service_environment={"SPITO_TABLE": "t", "SPITO_BUCKET": "b"},
    log_retention=logs.RetentionDays.ONE_WEEK,
    removal_policy=RemovalPolicy.DESTROY,
    deletion_protection=False,
)
app.synth()
print(json.dumps({"service_asset_hash": fleet.service_asset.asset_hash}))
"""


def _wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    for name in PACKAGED:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *("--wheel-dir", str(dist), str(source)),
        ],
        check=True,
        capture_output=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    (wheel,) = dist.glob("spito-*.whl")
    return wheel


@pytest.fixture(scope="module")
def reused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The wheel's contents and what the app that reuses the constructs synthesized."""
    work = tmp_path_factory.mktemp("packaging")
    wheel = _wheel(work)
    site = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        names = archive.namelist()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        entry_points_text = archive.read(entry_points).decode()
        requires = [
            line.removeprefix("Requires-Dist: ")
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist: ")
        ]
    app_dir = work / "app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(APP)
    outdir = work / "cdk.out"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, "app.py", str(site), str(REPO_ROOT), str(outdir)],
        cwd=app_dir,
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    template = json.loads((outdir / "Reused.template.json").read_text())
    return {
        "names": names,
        "requires": requires,
        "entry_points": entry_points_text,
        "template": template,
        **json.loads(completed.stdout),
    }


def test_the_wheel_carries_the_files_the_constructs_read_at_synth(reused: dict[str, Any]) -> None:
    names = set(reused["names"])
    assert {
        "infra/network.py",
        "infra/bootstrap/fleet_bootstrap.sh",
        "infra/edge_function/spa_fallback.js",
        "service/__main__.py",
        "service/requirements.lock",
        "lambda_src/canary/handler.py",
        "lambda_src/reaper/handler.py",
    } <= names
    # The repository's own tools (the local stack, CI, benchmarks, the fault harness, generators).
    tools = ("devstack/", "ci/", "bench/", "faults/", "docgen/", "deps/")
    assert not any(name.startswith(("stacks/", "tests/", *tools)) for name in names)


def test_the_wheel_installs_the_spito_admin_command(reused: dict[str, Any]) -> None:
    assert "spito_admin/cli.py" in reused["names"]
    assert "spito-admin = spito_admin.cli:main" in reused["entry_points"]


def test_the_wheel_requires_the_cdk_versions_the_app_pins(reused: dict[str, Any]) -> None:
    requirements = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    pins = {line.split("#")[0].strip() for line in requirements if "==" in line}
    assert set(reused["requires"]) == pins


def test_another_app_synthesizes_the_constructs_from_the_wheel_alone(
    reused: dict[str, Any],
) -> None:
    types = {resource["Type"] for resource in reused["template"]["Resources"].values()}
    assert {
        "AWS::EC2::VPC",
        "AWS::DynamoDB::Table",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::AutoScaling::AutoScalingGroup",
    } <= types


def test_the_fleet_ships_the_installed_service_package_by_default(
    reused: dict[str, Any], cdk_out: Path
) -> None:
    # The same code as the repository's service/, so the same asset as the app's own synth.
    manifest = json.loads((cdk_out / "Spito-dev-Api.assets.json").read_text())
    assert reused["service_asset_hash"] in manifest["files"]
