"""`make integ STAGE=<name>`: deploy a throwaway copy of a stage, prove it works, destroy it.

Stops at once, before any synth or build, without AWS credentials (ci.deploy_guard). Then
synthesizes integ/integ_spito.py under a unique name (`it<stage><UTC time>`, never dev or prod),
checks the CDK bootstrap of its environments, deploys every stack with the CDK CLI the project
pins (the test stacks, then the assertion stack: each aws-cdk.integ-tests-alpha assertion is a
custom resource, so a failed assertion fails that deploy), and always destroys everything again,
then checks that no stack of the run is left. Why the CDK CLI and not @aws-cdk/integ-runner: the
newest integ-runner (2.197.10) bundles a toolkit that reads cloud assembly schema 53, and
aws-cdk-lib 2.275 writes 55 ("AssemblyVersionMismatch"); docs/INTEG.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import botocore.exceptions

from ci.deploy_guard import GuardError, caller_account

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEG_APP = REPO_ROOT / "integ" / "integ_spito.py"
CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


def run_name(stage: str, now: float) -> str:
    """A stage name no other run, and neither dev nor prod, has: `it` + stage + UTC minute."""
    return f"it{stage}{time.strftime('%Y%m%d%H%M', time.gmtime(now))}"


def _cdk(*args: str, env: dict[str, str]) -> int:
    command = [str(CDK), *args, "--app", f"{PYTHON} {INTEG_APP}", "--no-notices"]
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, cwd=REPO_ROOT, env=env, check=False).returncode  # noqa: S603


def _leftover_stacks(name: str) -> list[str]:
    """Stacks of this run CloudFormation still has (deleted ones are not listed as such)."""
    cloudformation = boto3.client("cloudformation")
    paginator = cloudformation.get_paginator("list_stacks")
    alive = [
        summary["StackName"]
        for page in paginator.paginate()
        for summary in page["StackSummaries"]
        if summary["StackStatus"] != "DELETE_COMPLETE"
    ]
    return [stack for stack in alive if stack.startswith(f"Spito-{name}-")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integ.run", description=__doc__)
    parser.add_argument("--stage", default="dev", help="the stage to copy (cdk.json)")
    args = parser.parse_args(argv)
    try:
        account = caller_account(boto3.Session())
    except GuardError as error:
        print(f"make integ: {error}", file=sys.stderr)
        return 1
    name = run_name(args.stage, time.time())
    print(f"make integ: copying stage {args.stage} as {name} in account {account}", flush=True)
    with tempfile.TemporaryDirectory(prefix="spito-integ-") as outdir:
        env = {
            **os.environ,
            "SPITO_INTEG_BASE": args.stage,
            "SPITO_INTEG_NAME": name,
            "SPITO_INTEG_WEB_DIST": str(REPO_ROOT / "web" / "dist"),
        }
        failed = _cdk("synth", "--output", outdir, "--quiet", env=env)
        if failed:
            return failed
        guard = [str(PYTHON), "-m", "ci.deploy_guard", "bootstrap", "--assembly", outdir]
        if subprocess.run(guard, cwd=REPO_ROOT, check=False).returncode:  # noqa: S603
            return 1
        started = time.monotonic()
        deployed = _cdk(
            "deploy", "--all", "--require-approval", "never", "--output", outdir, env=env
        )
        destroyed = _cdk("destroy", "--all", "--force", "--output", outdir, env=env)
    minutes = (time.monotonic() - started) / 60
    try:
        leftovers = _leftover_stacks(name)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"make integ: could not list stacks after destroying: {error}", file=sys.stderr)
        return 1
    if leftovers:
        print(f"make integ: stacks left behind: {', '.join(leftovers)}", file=sys.stderr)
    verdict = "passed" if not (deployed or destroyed or leftovers) else "FAILED"
    print(
        f"make integ: {verdict} in {minutes:.0f} min (deploy exit {deployed}, destroy {destroyed})"
    )
    return 0 if verdict == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
