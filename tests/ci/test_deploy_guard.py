"""`make deploy` and `make destroy` stop before touching AWS without credentials and bootstrap.

AWS is stood in for by a local server (tests/ci/fake_aws.py) that boto3 reaches through
AWS_ENDPOINT_URL; without credentials nothing is contacted at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
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
    assert "Sign in to 222222222222 (AWS_PROFILE)." in completed.stderr
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


SSO_START_URL = "https://spito-example.awsapps.com/start"


def _env_with_profile(tmp_path: Path, aws: FakeAws, profile: str, config: str) -> dict[str, str]:
    """AWS_PROFILE=`profile` with `config` as the AWS config file and HOME (the SSO token cache)
    in `tmp_path`; every call goes to the fake."""
    env = _env_without_credentials(tmp_path)
    (tmp_path / "aws-config").write_text(config)
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_PROFILE=profile,
        AWS_ENDPOINT_URL=aws.url,
        HOME=str(tmp_path),
    )
    return env


def _sso_profile(name: str) -> str:
    return (
        f"[profile {name}]\n"
        f"sso_start_url = {SSO_START_URL}\n"
        "sso_region = eu-west-1\n"
        f"sso_account_id = {ACCOUNT}\n"
        "sso_role_name = Deployer\n"
        f"region = {APP_REGION}\n"
    )


def _cache_sso_token(home: Path, *, expires_at: str) -> None:
    """The token `aws sso login` leaves for a profile with `sso_start_url` (botocore's
    SSOTokenLoader reads ~/.aws/sso/cache/<sha1 of the start URL>.json)."""
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    key = hashlib.sha1(SSO_START_URL.encode()).hexdigest()  # botocore names the cache file so
    token = {"accessToken": "example-token", "expiresAt": expires_at, "region": "eu-west-1"}
    (cache / f"{key}.json").write_text(json.dumps(token))


def _one_line_no_traceback(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    return lines[0]


def test_mistyped_profile_is_one_line_naming_the_known_profiles(
    tmp_path: Path, aws: FakeAws
) -> None:
    env = _env_with_profile(tmp_path, aws, "spito-dve", _sso_profile("spito-dev"))
    line = _one_line_no_traceback(_guard(env, "credentials"))
    assert line == (
        f"AWS_PROFILE=spito-dve is not a profile of {tmp_path / 'aws-config'} (its profiles: "
        "spito-dev). Fix the name, or create it: `aws configure sso --profile spito-dve`."
    )
    assert aws.calls == []


def test_sso_session_the_portal_refuses_is_called_expired_with_the_login_command(
    tmp_path: Path, aws: FakeAws
) -> None:
    aws.sso_session_expired = True
    _cache_sso_token(tmp_path, expires_at="2100-01-01T00:00:00Z")
    env = _env_with_profile(tmp_path, aws, "spito-dev", _sso_profile("spito-dev"))
    line = _one_line_no_traceback(_guard(env, "credentials"))
    assert line == (
        "The SSO session of profile spito-dev has expired: "
        "run `aws sso login --profile spito-dev` and retry."
    )
    assert aws.calls == ["sso:GetRoleCredentials"]


def test_sso_token_past_its_expiry_is_called_expired_without_calling_aws(
    tmp_path: Path, aws: FakeAws
) -> None:
    _cache_sso_token(tmp_path, expires_at="2020-01-01T00:00:00Z")
    env = _env_with_profile(tmp_path, aws, "spito-dev", _sso_profile("spito-dev"))
    line = _one_line_no_traceback(_guard(env, "credentials"))
    assert line.startswith("The SSO session of profile spito-dev has expired")
    assert aws.calls == []


def test_sso_profile_never_signed_in_says_to_sign_in(tmp_path: Path, aws: FakeAws) -> None:
    env = _env_with_profile(tmp_path, aws, "spito-dev", _sso_profile("spito-dev"))
    line = _one_line_no_traceback(_guard(env, "credentials"))
    assert line == (
        "Profile spito-dev signs in with SSO and no session was started: "
        "run `aws sso login --profile spito-dev` and retry."
    )


def test_valid_sso_session_gets_the_account(tmp_path: Path, aws: FakeAws) -> None:
    _cache_sso_token(tmp_path, expires_at="2100-01-01T00:00:00Z")
    env = _env_with_profile(tmp_path, aws, "spito-dev", _sso_profile("spito-dev"))
    completed = _guard(env, "credentials")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"AWS credentials: account {ACCOUNT}"
    assert aws.calls == ["sso:GetRoleCredentials", "sts:GetCallerIdentity"]


def test_no_network_is_one_line_not_blamed_on_the_credentials(tmp_path: Path) -> None:
    # A port nothing listens on: the connection is refused, as with no route to AWS.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}"
    env = _env_without_credentials(tmp_path)
    env.update(
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="example-secret",
        AWS_DEFAULT_REGION=APP_REGION,
        AWS_ENDPOINT_URL=closed,
    )
    line = _one_line_no_traceback(_guard(env, "credentials"))
    assert line.startswith(f'Could not reach AWS (Could not connect to the endpoint URL: "{closed}')
    assert line.endswith(
        "no network, or a proxy or firewall in the way. "
        "Check the connection and retry; the credentials were not checked."
    )
    assert "refused the credentials" not in line


def test_wrong_account_names_the_cdk_json_key_of_the_stage(tmp_path: Path, aws: FakeAws) -> None:
    assembly = _assembly(tmp_path, ("222222222222", APP_REGION))
    env = _env_with_fake_aws(tmp_path, aws)
    completed = _guard(env, "bootstrap", "--assembly", str(assembly), "--stage", "prod")
    line = _one_line_no_traceback(completed)
    assert line == (
        "The stacks deploy to account 222222222222 (`spito.stages.prod.account` in cdk.json), "
        f"but the credentials are for account {ACCOUNT}. Sign in to 222222222222 (AWS_PROFILE), "
        f"or set `spito.stages.prod.account` to {ACCOUNT} if that is the account you mean."
    )
