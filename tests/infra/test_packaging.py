"""Spito's constructs work in another CDK app from its wheel alone, synthesized by the pinned CDK
CLI with no credentials and no lookup.

The wheel is built from a copy of exactly the files pyproject.toml packages (the checkout stays
clean) and unpacked into a scratch directory; examples/reuse_app (its own cdk.json, nothing
copied from the repository) is copied to a fresh directory and synthesized there by
node_modules/.bin/cdk with that directory on PYTHONPATH, the AWS configuration pointed at
/dev/null and no AWS variables: a context lookup would need credentials, and is left under
`missing` in manifest.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from infra.service_bundle import WHEELHOUSE_ROOT
from tests.fixtures.cdk_app import REPO_ROOT

PACKAGED = ["pyproject.toml", "infra", "service", "lambda_src"]
EXAMPLE = REPO_ROOT / "examples" / "reuse_app"
CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
BUILD_TIMEOUT_SECONDS = 300
STACK = "Reused"


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


def _offline_environment(site: Path) -> dict[str, str]:
    """This process's environment without AWS credentials or configuration, and with only the
    unpacked wheel on the Python path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_")) and key != "PYTHONPATH"
    }
    return {
        **env,
        "PYTHONPATH": str(site),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "SPITO_FLEET_WHEELS": str(WHEELHOUSE_ROOT),
    }


@pytest.fixture(scope="module")
def reused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The wheel's contents, and what the CLI synthesized from the example app."""
    work = tmp_path_factory.mktemp("packaging")
    wheel = _wheel(work)
    site = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        names = archive.namelist()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        requires = [
            line.removeprefix("Requires-Dist: ")
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist: ")
        ]
    app_dir = work / "app"
    shutil.copytree(EXAMPLE, app_dir, ignore=shutil.ignore_patterns("cdk.out", "__pycache__"))
    completed = subprocess.run(
        # The example's cdk.json runs `python3 app.py`; here the interpreter with the CDK installed.
        [str(CDK_CLI), "synth", "--app", f"{sys.executable} app.py", "--no-notices", "-q"],
        cwd=app_dir,
        env=_offline_environment(site),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    outdir = app_dir / "cdk.out"
    return {
        "names": names,
        "requires": requires,
        "template": json.loads((outdir / f"{STACK}.template.json").read_text()),
        "manifest": json.loads((outdir / "manifest.json").read_text()),
        "assets": json.loads((outdir / f"{STACK}.assets.json").read_text()),
    }


def test_the_wheel_installs_everything_under_the_spito_namespace(reused: dict[str, Any]) -> None:
    names = set(reused["names"])
    assert {
        "spito/infra/network.py",
        "spito/infra/zoned_stack.py",
        "spito/infra/runtime_rules/plugin.py",
        "spito/infra/bootstrap/fleet_bootstrap.sh",
        "spito/infra/edge_function/spa_fallback.js",
        "spito/service/__main__.py",
        "spito/service/requirements.lock",
        "spito/lambda_src/canary/handler.py",
        "spito/lambda_src/reaper/handler.py",
    } <= names
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"spito"}


def test_the_wheel_requires_compatible_cdk_ranges_that_admit_the_apps_pins(
    reused: dict[str, Any],
) -> None:
    requirements = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    pins = dict(line.split("#")[0].strip().split("==") for line in requirements if "==" in line)
    ranges = {Requirement(text).name: Requirement(text).specifier for text in reused["requires"]}
    assert set(ranges) == set(pins)
    for name, pin in pins.items():
        assert pin in ranges[name], (name, pin, ranges[name])
        major = int(pin.split(".")[0])
        assert f"{major}.999.0" in ranges[name]
        assert f"{major + 1}.0.0" not in ranges[name]


def test_the_example_app_synthesizes_with_the_cli_and_no_lookup(reused: dict[str, Any]) -> None:
    assert reused["manifest"].get("missing", []) == []
    types = {resource["Type"] for resource in reused["template"]["Resources"].values()}
    assert {
        "AWS::EC2::VPC",
        "AWS::DynamoDB::Table",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::CloudFront::VpcOrigin",
        "AWS::CloudFront::Distribution",
        "AWS::EC2::SecurityGroupIngress",
    } <= types


def test_the_fleet_ships_the_installed_service_package(
    reused: dict[str, Any], cdk_out: Path
) -> None:
    # The same code as the repository's service/, so the same asset as the app's own synth.
    ours = json.loads((cdk_out / "Spito-dev-Api.assets.json").read_text())["files"]
    assert set(reused["assets"]["files"]) & set(ours)


def test_the_reuse_page_shows_the_example_app_verbatim() -> None:
    page = (REPO_ROOT / "docs" / "REUSE.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert (EXAMPLE / "app.py").read_text() in blocks
