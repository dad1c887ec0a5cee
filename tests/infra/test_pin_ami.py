"""Reviewed AMIs: the launch template names the config's image, and `make ami` pins a new one.

AWS is stood in for by tests/ci/fake_aws.py (SSM GetParameter), reached through
AWS_ENDPOINT_URL; without credentials nothing is contacted and cdk.json stays as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.ci.fake_aws import fake_aws
from tests.fixtures.cdk_app import (
    REPO_ROOT,
    cdk_context,
    synthesize,
    synthesized_once,
    template_json_loader,
)

NEWEST = "ami-0fedcba9876543210"
PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"


def _pin(cdk_json: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci.pin_ami", "--stage", "dev", "--cdk-json", str(cdk_json)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _no_credentials(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-aws-credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def test_make_ami_pins_the_newest_al2023_image_of_the_stages_region_and_architecture(
    tmp_path: Path,
) -> None:
    cdk_json = tmp_path / "cdk.json"
    shutil.copy(REPO_ROOT / "cdk.json", cdk_json)
    before = json.loads(cdk_json.read_text())
    with fake_aws("111111111111") as aws:
        aws.parameters[("eu-west-1", PARAMETER)] = NEWEST
        env = {
            **_no_credentials(tmp_path),
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "example-secret",
            "AWS_ENDPOINT_URL": aws.url,
        }
        completed = _pin(cdk_json, env)
    assert completed.returncode == 0, completed.stderr
    assert aws.calls == [f"ssm:GetParameter eu-west-1 {PARAMETER}"]
    assert f"now pins {NEWEST}" in completed.stdout
    after = json.loads(cdk_json.read_text())
    assert after["context"]["spito"]["stages"]["dev"]["fleet"]["ami_id"] == NEWEST
    # Nothing else moved: the same document with only that value changed.
    after["context"]["spito"]["stages"]["dev"]["fleet"]["ami_id"] = before["context"]["spito"][
        "stages"
    ]["dev"]["fleet"]["ami_id"]
    assert after == before


def test_make_ami_without_credentials_says_so_and_changes_nothing(tmp_path: Path) -> None:
    cdk_json = tmp_path / "cdk.json"
    shutil.copy(REPO_ROOT / "cdk.json", cdk_json)
    original = cdk_json.read_bytes()
    completed = _pin(cdk_json, _no_credentials(tmp_path))
    assert completed.returncode != 0
    assert "no AWS credentials" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert cdk_json.read_bytes() == original


def _launch_template_image(template: dict[str, Any]) -> Any:
    (launch_template,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::LaunchTemplate"
    ]
    return launch_template["Properties"]["LaunchTemplateData"]["ImageId"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_launch_template_names_the_pinned_image_and_no_deploy_time_lookup(
    stage: str, cdk_template_json: Callable[[str], dict[str, Any]]
) -> None:
    template = cdk_template_json(f"Spito-{stage}-Api")
    pinned = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["spito"]["stages"][stage][
        "fleet"
    ]["ami_id"]
    assert _launch_template_image(template) == pinned
    # The only SSM parameter left is the CDK's bootstrap version check, no image.
    assert list(template.get("Parameters", {})) == ["BootstrapVersion"]


def _repinned_context() -> dict[str, Any]:
    context = cdk_context()
    context["spito"]["stages"]["dev"]["fleet"]["ami_id"] = NEWEST
    return context


def test_a_new_pin_changes_the_launch_template_image_and_nothing_else(
    tmp_path_factory: pytest.TempPathFactory, cdk_template_json: Callable[[str], dict[str, Any]]
) -> None:
    """What `make diff` shows for `make ami`: the image, which the rolling update then applies
    to every instance (the fleet's update policy, tests/infra/test_api_fleet.py)."""
    outdir = synthesized_once(
        tmp_path_factory,
        "cdk.repinned.out",
        partial(synthesize, stages=("dev",), context_of=_repinned_context),
    )
    before = cdk_template_json("Spito-dev-Api")
    after = template_json_loader(outdir)("Spito-dev-Api")
    assert _launch_template_image(after) == NEWEST
    changed = [
        logical_id
        for logical_id, resource in after["Resources"].items()
        if before["Resources"].get(logical_id) != resource
    ]
    (launch_template,) = [
        k for k, r in after["Resources"].items() if r["Type"] == "AWS::EC2::LaunchTemplate"
    ]
    assert changed == [launch_template]


def test_a_stage_without_a_pinned_image_is_refused_naming_make_ami() -> None:
    from infra.config import ConfigError, load_config, pinned_ami

    context = cdk_context()
    del context["spito"]["stages"]["dev"]["fleet"]["ami_id"]
    with pytest.raises(ConfigError, match=r"run `make ami STAGE=dev`"):
        pinned_ami(load_config(context, "dev"))
    context["spito"]["stages"]["dev"]["fleet"]["ami_id"] = "ami-latest"
    with pytest.raises(ConfigError, match=r"fleet.ami_id: 'ami-latest' is not an AMI id"):
        load_config(context, "dev")
