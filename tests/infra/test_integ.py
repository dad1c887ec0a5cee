"""`make integ` offline: its test app's snapshot, its HTTP checks replayed against the local
stack, and its refusal without AWS credentials.

@aws-cdk/integ-runner cannot read what aws-cdk-lib 2.275 writes (cloud assembly schema 55; the
newest runner reads 53), so its snapshot comparison is replaced by the equivalent here: the
integ app (integ/integ_spito.py) is synthesized as the runner would and the stacks it adds (the
SQS probe and the assertions) and its test-case manifest are compared with a checked-in
snapshot, asset hashes normalized. The stage's own stacks are the app's, snapshotted in
test_snapshots.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from integ.run import INTEG_APP, run_name
from tests.fixtures.cdk_app import REPO_ROOT, synthesized_once
from tests.infra.normalize import normalized

NO_CREDENTIALS = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
ADDED_STACKS = ("Spito-integ-IntegProbe", "Spito-integ-IntegAssertions")


def _without_aws_credentials() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return {**env, **NO_CREDENTIALS}


def _unsalted(value: Any) -> Any:
    """`value` without the `salt` integ-tests-alpha stamps on each assertion at synth (the time,
    so that every deploy runs the assertions again)."""
    if isinstance(value, dict):
        return {key: "<salt>" if key == "salt" else _unsalted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unsalted(item) for item in value]
    return value


def _synthesize_integ_app(outdir: Path) -> None:
    env = {**os.environ, "CDK_OUTDIR": str(outdir)}
    subprocess.run([sys.executable, str(INTEG_APP)], env=env, check=True, cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def integ_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesized_once(tmp_path_factory, "integ.out", _synthesize_integ_app)


@pytest.mark.parametrize("stack_name", ADDED_STACKS)
def test_integ_stacks_match_their_snapshot(
    stack_name: str, integ_out: Path, snapshot: SnapshotAssertion
) -> None:
    template = json.loads((integ_out / f"{stack_name}.template.json").read_text())
    assert _unsalted(normalized(template)) == snapshot(extension_class=JSONSnapshotExtension)


def test_integ_test_case_deploys_every_stack_of_the_copy_then_asserts(
    integ_out: Path, snapshot: SnapshotAssertion
) -> None:
    manifest: dict[str, Any] = json.loads((integ_out / "integ.json").read_text())
    (case,) = manifest["testCases"].values()
    assert case["assertionStack"] == "Spito-integ-IntegAssertions"
    assert {"Spito-integ-Api", "Spito-integ-Edge", "Spito-integ-IntegProbe"} <= set(case["stacks"])
    assert manifest["testCases"] == snapshot(extension_class=JSONSnapshotExtension)


def test_the_copy_is_deleted_with_its_data_and_has_no_domain(integ_out: Path) -> None:
    data = json.loads((integ_out / "Spito-integ-Data.template.json").read_text())
    policies = {resource.get("DeletionPolicy") for resource in data["Resources"].values()}
    assert "Retain" not in policies
    assert not list(integ_out.glob("Spito-integ-Certificate*"))


def test_every_run_gets_its_own_stage_name_never_dev_or_prod() -> None:
    now = time.time()
    names = {run_name("dev", now), run_name("dev", now + 60), run_name("prod", now)}
    assert len(names) == 3
    assert not names & {"dev", "prod"}


def test_make_integ_refuses_at_once_without_aws_credentials() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "integ.run", "--stage", "dev"],
        cwd=REPO_ROOT,
        env=_without_aws_credentials(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "No AWS credentials found: stopped before touching AWS." in result.stderr
    assert "+ " not in result.stdout  # no cdk command ran
    assert time.monotonic() - started < 30


def test_make_integ_checks_credentials_before_anything_else() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split("\ninteg: ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert recipe[0].strip() == "$(PY) -m ci.deploy_guard credentials"


def test_the_integ_http_checks_hold_against_the_local_stack(base_url: str) -> None:
    # The same requests and expectations make integ sends through CloudFront, replayed against
    # the service of the local stack (dynalite, s3rver), so their logic is right before a run.
    # Locally the redirect is seen itself; on AWS the assertion's fetch follows it.
    import httpx

    sys.path.insert(0, str(REPO_ROOT / "integ"))
    from integ_spito import HTTP_CHECKS

    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as client:
        for check in HTTP_CHECKS:
            response = client.request(check.method, check.path, json=check.body)
            if check.redirects_to is not None:
                assert response.status_code == 302, check
                assert response.headers["location"] == check.redirects_to
                continue
            assert response.status_code == check.status, (check.path, response.text[:300])
            for key, value in (check.body_like or {}).items():
                assert response.json()[key] == value
