"""`make deploy` and `make destroy` stop before touching AWS without credentials and bootstrap.

AWS is stood in for by a local server (tests/ci/fake_aws.py) that boto3 reaches through
AWS_ENDPOINT_URL; without credentials nothing is contacted at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci.deploy_guard import DEFAULT_VERSION_PARAMETER, Environment, environments
from tests.ci.fake_aws import FakeAws, fake_aws

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111111111111"
APP_REGION = "eu-west-1"
CERTIFICATE_REGION = "us-east-1"


def _env_without_credentials(tmp_path: Path) -> dict[str, str]:
    """The test's environment minus every AWS setting, and no AWS config or credentials file."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-aws-credentials")
    return env


def _env_with_fake_aws(tmp_path: Path, aws: FakeAws) -> dict[str, str]:
    env = _env_without_credentials(tmp_path)
    env.update(
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="example-secret",
        AWS_DEFAULT_REGION=APP_REGION,
        AWS_ENDPOINT_URL=aws.url,
    )
    return env


def _assembly(tmp_path: Path, *targets: tuple[str, str]) -> Path:
    """A cloud assembly manifest as `cdk synth` writes it, one stack per (account, region)."""
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    artifacts = {
        f"Stack{number}": {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{account}/{region}",
            "properties": {
                "templateFile": f"Stack{number}.template.json",
                "requiresBootstrapStackVersion": 6,
                "bootstrapStackVersionSsmParameter": DEFAULT_VERSION_PARAMETER,
            },
        }
        for number, (account, region) in enumerate(targets)
    }
    (assembly / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return assembly


def _guard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci.deploy_guard", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _make(env: dict[str, str], target: str) -> subprocess.CompletedProcess[str]:
    # The suite already ran `make deps` and `make web`: a test must not reinstall anything.
    return subprocess.run(
        ["make", "--old-file=deps", target, "STAGE=dev"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def aws() -> Iterator[FakeAws]:
    with fake_aws(ACCOUNT) as server:
        yield server


@pytest.mark.parametrize("target", ["deploy", "destroy"])
def test_make_target_without_credentials_stops_before_the_cdk_runs(
    target: str, tmp_path: Path
) -> None:
    completed = _make(_env_without_credentials(tmp_path), target)
    assert completed.returncode != 0
    assert "No AWS credentials found: stopped before touching AWS." in completed.stderr
    # make echoes each command before running it: no cdk command was reached.
    assert "node_modules/.bin/cdk" not in completed.stdout


def test_make_deploy_runs_cfn_lint_on_the_synthesized_stage_before_cdk_deploy() -> None:
    # cfn-lint is the templates' only linter (app.py turns the CDK's built-in copy off), so the
    # deploy path must run it; a dry run lists the recipe without touching AWS.
    dry_run = subprocess.run(
        ["make", "--dry-run", "--old-file=deps", "deploy", "STAGE=dev"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    steps = [line.split()[0].rsplit("/", 1)[-1] + " " + line.split()[1] for line in dry_run if line]
    synth = steps.index("cdk synth")
    lint = steps.index("cfn-lint cdk.out/*.template.json")
    assert synth < lint < steps.index("cdk deploy")


def test_make_destroy_of_an_unbootstrapped_account_stops_before_cdk_destroy(
    tmp_path: Path, aws: FakeAws
) -> None:
    completed = _make(_env_with_fake_aws(tmp_path, aws), "destroy")
    assert completed.returncode != 0
    assert (
        f"aws://{ACCOUNT}/{APP_REGION} is not bootstrapped for the CDK. "
        f"Run `npx cdk bootstrap aws://{ACCOUNT}/{APP_REGION}`."
    ) in completed.stderr
    # The stage was synthesized and its target looked up, then make stopped: no `cdk destroy`.
    assert f"ssm:GetParameter {APP_REGION} {DEFAULT_VERSION_PARAMETER}" in aws.calls
    assert "node_modules/.bin/cdk destroy" not in completed.stdout


def test_bootstrapped_app_region_and_us_east_1_pass(tmp_path: Path, aws: FakeAws) -> None:
    aws.parameters[(APP_REGION, DEFAULT_VERSION_PARAMETER)] = "30"
    aws.parameters[(CERTIFICATE_REGION, DEFAULT_VERSION_PARAMETER)] = "30"
    assembly = _assembly(tmp_path, (ACCOUNT, APP_REGION), (ACCOUNT, CERTIFICATE_REGION))
    completed = _guard(_env_with_fake_aws(tmp_path, aws), "bootstrap", "--assembly", str(assembly))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        f"aws://{ACCOUNT}/{APP_REGION}: bootstrapped (version 30)",
        f"aws://{ACCOUNT}/{CERTIFICATE_REGION}: bootstrapped (version 30)",
    ]


def test_region_without_bootstrap_is_named_with_the_command_that_fixes_it(
    tmp_path: Path, aws: FakeAws
) -> None:
    aws.parameters[(APP_REGION, DEFAULT_VERSION_PARAMETER)] = "30"
    assembly = _assembly(tmp_path, (ACCOUNT, APP_REGION), (ACCOUNT, CERTIFICATE_REGION))
    completed = _guard(_env_with_fake_aws(tmp_path, aws), "bootstrap", "--assembly", str(assembly))
    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        f"aws://{ACCOUNT}/{CERTIFICATE_REGION} is not bootstrapped for the CDK. "
        f"Run `npx cdk bootstrap aws://{ACCOUNT}/{CERTIFICATE_REGION}`."
    )


def test_unreadable_bootstrap_version_warns_naming_the_permission_and_goes_on(
    tmp_path: Path, aws: FakeAws
) -> None:
    aws.parameters[(APP_REGION, DEFAULT_VERSION_PARAMETER)] = "30"
    aws.parameters[(CERTIFICATE_REGION, DEFAULT_VERSION_PARAMETER)] = "30"
    aws.denied.add((CERTIFICATE_REGION, DEFAULT_VERSION_PARAMETER))
    assembly = _assembly(tmp_path, (ACCOUNT, APP_REGION), (ACCOUNT, CERTIFICATE_REGION))
    completed = _guard(_env_with_fake_aws(tmp_path, aws), "bootstrap", "--assembly", str(assembly))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        f"aws://{ACCOUNT}/{APP_REGION}: bootstrapped (version 30)"
    ]
    assert completed.stderr.startswith(
        f"WARNING: aws://{ACCOUNT}/{CERTIFICATE_REGION}: bootstrap not checked: these "
        "credentials may not call ssm:GetParameter on "
        f"arn:aws:ssm:{CERTIFICATE_REGION}:{ACCOUNT}:parameter{DEFAULT_VERSION_PARAMETER}."
    )
    assert "older than version 6" in completed.stderr


def test_outdated_bootstrap_asks_for_an_upgrade(tmp_path: Path, aws: FakeAws) -> None:
    aws.parameters[(APP_REGION, DEFAULT_VERSION_PARAMETER)] = "5"
    assembly = _assembly(tmp_path, (ACCOUNT, APP_REGION))
    completed = _guard(_env_with_fake_aws(tmp_path, aws), "bootstrap", "--assembly", str(assembly))
    assert completed.returncode == 1
    assert "has CDK bootstrap version 5; these stacks need 6 or newer" in completed.stderr


def test_credentials_of_another_account_are_refused_before_any_bootstrap_lookup(
    tmp_path: Path, aws: FakeAws
) -> None:
    assembly = _assembly(tmp_path, ("222222222222", APP_REGION))
    completed = _guard(_env_with_fake_aws(tmp_path, aws), "bootstrap", "--assembly", str(assembly))
    assert completed.returncode == 1
    assert "deploy to account 222222222222, but the credentials are for account" in (
        completed.stderr
    )
    assert aws.calls == ["sts:GetCallerIdentity"]


def test_credentials_check_names_the_account(tmp_path: Path, aws: FakeAws) -> None:
    completed = _guard(_env_with_fake_aws(tmp_path, aws), "credentials")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"AWS credentials: account {ACCOUNT}"


def test_each_target_environment_is_listed_once(tmp_path: Path) -> None:
    assembly = _assembly(
        tmp_path, (ACCOUNT, APP_REGION), (ACCOUNT, APP_REGION), (ACCOUNT, CERTIFICATE_REGION)
    )
    assert environments(assembly) == [
        Environment(ACCOUNT, APP_REGION, DEFAULT_VERSION_PARAMETER, 6),
        Environment(ACCOUNT, CERTIFICATE_REGION, DEFAULT_VERSION_PARAMETER, 6),
    ]
