"""Checks `make deploy` and `make destroy` run before touching AWS, each failing fast and clearly.

`credentials`: there are AWS credentials and AWS accepts them (STS GetCallerIdentity).
`bootstrap --assembly DIR`: every environment the synthesized stacks deploy to (the app region
and us-east-1 for CloudFront's certificate) is the credentials' account and is bootstrapped
with a new enough CDK bootstrap stack (the SSM parameter `cdk bootstrap` writes).

Each mistake people make ends in one line saying what to do, never a traceback: no
credentials, an AWS_PROFILE that is not in the AWS config, an SSO session that expired or was
never started, no network, credentials AWS refuses, the wrong account (naming the cdk.json key
that sets the stage's account), a missing or outdated bootstrap.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config

DEFAULT_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
NO_CREDENTIALS = """\
No AWS credentials found: stopped before touching AWS.
Sign in first, for example `aws sso login --profile spito-dev` then `export AWS_PROFILE=spito-dev`,
or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. docs/DEPLOY.md walks through a first deploy."""


# Fail in seconds, not minutes, when AWS cannot be reached: botocore's defaults are a 60 s
# connect timeout and, in legacy retry mode, 5 attempts. Standard mode retries connection errors
# and throttling with backoff (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
CLIENT_CONFIG = Config(
    connect_timeout=10, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
)
# The key of cdk.json that sets a stage's account (infra/config.py).
ACCOUNT_KEY = "spito.stages.{stage}.account"


class GuardError(Exception):
    """A check failed; the message says what to do about it."""


def new_session() -> boto3.Session:
    """The session AWS_PROFILE (or the default chain) names, or GuardError if it names none."""
    try:
        return boto3.Session()
    except botocore.exceptions.ProfileNotFound:
        raise GuardError(_unknown_profile()) from None


def _unknown_profile() -> str:
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE", "")
    config = botocore.session.Session()
    known = ", ".join(sorted(config.available_profiles)) or "none"
    config_file = config.get_config_variable("config_file")
    return (
        f"AWS_PROFILE={profile} is not a profile of {config_file} (its profiles: {known}). "
        f"Fix the name, or create it: `aws configure sso --profile {profile}`."
    )


def _aws_error(error: Exception) -> GuardError:
    """The one-line message for a failed AWS call, by what went wrong."""
    profile = os.environ.get("AWS_PROFILE", "<profile>")
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        return GuardError(_unknown_profile())
    if isinstance(
        error,
        botocore.exceptions.UnauthorizedSSOTokenError | botocore.exceptions.TokenRetrievalError,
    ):
        return GuardError(
            f"The SSO session of profile {profile} has expired: "
            f"run `aws sso login --profile {profile}` and retry."
        )
    if isinstance(error, botocore.exceptions.SSOTokenLoadError):
        return GuardError(
            f"Profile {profile} signs in with SSO and no session was started: "
            f"run `aws sso login --profile {profile}` and retry."
        )
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return GuardError(NO_CREDENTIALS)
    if isinstance(error, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError):
        return GuardError(
            f"Could not reach AWS ({error}): no network, or a proxy or firewall in the way. "
            "Check the connection and retry; the credentials were not checked."
        )
    if isinstance(error, botocore.exceptions.ClientError):
        return GuardError(
            f"AWS refused the credentials ({error}). Renew them (`aws sso login`) and retry."
        )
    return GuardError(f"The AWS call failed: {error}")


@dataclass(frozen=True, order=True)
class Environment:
    """Where a stack deploys, and the bootstrap it needs there."""

    account: str
    region: str
    version_parameter: str
    required_version: int


def caller_account(session: boto3.Session) -> str:
    """The account of the credentials in `session`, or GuardError saying how to get some."""
    try:
        if session.get_credentials() is None:
            raise GuardError(NO_CREDENTIALS)
        sts = session.client(
            "sts", region_name=session.region_name or "us-east-1", config=CLIENT_CONFIG
        )
        identity = sts.get_caller_identity()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise _aws_error(error) from None
    return str(identity["Account"])


def environments(assembly: Path) -> list[Environment]:
    """The distinct environments of every stack in a synthesized cloud assembly."""
    manifest_path = assembly / "manifest.json"
    if not manifest_path.is_file():
        raise GuardError(f"{manifest_path} is missing: synthesize first (`make synth`).")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    found: set[Environment] = set()
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "cdk:cloud-assembly":
            found.update(environments(assembly / properties["directoryName"]))
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        found.add(
            Environment(
                account=account,
                region=region,
                version_parameter=properties.get(
                    "bootstrapStackVersionSsmParameter", DEFAULT_VERSION_PARAMETER
                ),
                required_version=int(properties.get("requiresBootstrapStackVersion", 0)),
            )
        )
    return sorted(found)


@dataclass(frozen=True)
class Verdict:
    """One environment's check passed (`warning` False) or could not be made (`warning` True)."""

    message: str
    warning: bool = False


def check_bootstrapped(
    session: boto3.Session, account: str, environment: Environment, *, stage: str | None = None
) -> Verdict:
    """Whether `environment` is ready, or GuardError with the command that fixes it.

    `stage` is the stage synthesized, for naming the cdk.json key of its account.

    Credentials that may not read the bootstrap version get a warning, not a failure: the CDK's
    least-privilege deployer may only assume the bootstrap roles, and the deploy is still
    guarded, since every synthesized template carries a `CheckBootstrapVersion` rule that makes
    CloudFormation refuse an outdated bootstrap before changing anything.
    """
    target = f"aws://{environment.account}/{environment.region}"
    if environment.account not in (account, "unknown-account"):
        raise GuardError(_wrong_account(environment.account, account, stage))
    target = target.replace("unknown-account", account)
    bootstrap = f"`npx cdk bootstrap {target}`"
    ssm = session.client("ssm", region_name=environment.region, config=CLIENT_CONFIG)
    try:
        parameter = ssm.get_parameter(Name=environment.version_parameter)["Parameter"]
    except ssm.exceptions.ParameterNotFound:
        raise GuardError(f"{target} is not bootstrapped for the CDK. Run {bootstrap}.") from None
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "AccessDeniedException":
            parameter_arn = (
                f"arn:aws:ssm:{environment.region}:{account}:parameter"
                f"{environment.version_parameter}"
            )
            return Verdict(
                f"WARNING: {target}: bootstrap not checked: these credentials may not call "
                f"ssm:GetParameter on {parameter_arn}. Going on: CloudFormation still refuses "
                f"these stacks on a bootstrap older than version {environment.required_version}. "
                "Allow that action to have it checked here.",
                warning=True,
            )
        raise GuardError(f"Could not check the bootstrap of {target}: {error}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise _aws_error(error) from None
    version = int(parameter["Value"])
    if version < environment.required_version:
        raise GuardError(
            f"{target} has CDK bootstrap version {version}; these stacks need "
            f"{environment.required_version} or newer. Run {bootstrap} again to upgrade it."
        )
    return Verdict(f"{target}: bootstrapped (version {version})")


def _wrong_account(target: str, account: str, stage: str | None) -> str:
    if stage is None:
        return (
            f"The stacks deploy to account {target}, but the credentials are for account "
            f"{account}. Sign in to {target} (AWS_PROFILE)."
        )
    key = f"`{ACCOUNT_KEY.format(stage=stage)}`"
    return (
        f"The stacks deploy to account {target} ({key} in cdk.json), but the credentials are "
        f"for account {account}. Sign in to {target} (AWS_PROFILE), or set {key} to {account} "
        "if that is the account you mean."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.deploy_guard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("credentials", help="fail unless AWS accepts the current credentials")
    bootstrap = commands.add_parser("bootstrap", help="fail unless every target is bootstrapped")
    bootstrap.add_argument("--assembly", type=Path, default=Path("cdk.out"))
    bootstrap.add_argument("--stage", help="the stage synthesized (names its cdk.json key)")
    args = parser.parse_args(argv)
    try:
        session = new_session()
        account = caller_account(session)
        if args.command == "credentials":
            print(f"AWS credentials: account {account}")
        else:
            for environment in environments(args.assembly):
                verdict = check_bootstrapped(session, account, environment, stage=args.stage)
                print(verdict.message, file=sys.stderr if verdict.warning else sys.stdout)
    except GuardError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
