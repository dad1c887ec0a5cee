"""Synth itself: deterministic output, cdk-nag findings that stop it unless acknowledged, prod's
termination protection, and no jsii banner in what `make` prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cdk_app import REPO_ROOT, synthesize, synthesized_once

# jsii's "Node NN is end-of-life" (or "has reached end-of-life") box, on every CDK run.
JSII_NODE_BANNER = "end-of-life"


def test_synthesizing_again_gives_byte_identical_templates(
    cdk_out: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = synthesized_once(
        tmp_path_factory, "cdk.dev-again.out", partial(synthesize, stages=("dev",))
    )
    templates = sorted(path.name for path in again.glob("*.template.json"))
    assert templates
    for name in templates:
        assert (again / name).read_bytes() == (cdk_out / name).read_bytes(), name


def _synth_bucket_app(tmp_path: Path, *, acknowledged: bool) -> None:
    from aws_cdk import App, Environment, Stack, Validations
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    from infra.nag import acknowledge

    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)  # as new_app()
    stack = Stack(app, "Bare", env=Environment(account="111111111111", region="eu-west-1"))
    bucket = s3.Bucket(stack, "Bucket")  # no access logs, no TLS-only policy
    if acknowledged:
        acknowledge(bucket, "AwsSolutions-S1", "test: access logs are out of scope here")
        acknowledge(bucket, "AwsSolutions-S10", "test: TLS is out of scope here")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


def test_an_unacknowledged_cdk_nag_finding_fails_synth(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="AwsSolutions-S10"):
        _synth_bucket_app(tmp_path, acknowledged=False)


def test_acknowledging_each_finding_on_its_construct_lets_synth_pass(tmp_path: Path) -> None:
    _synth_bucket_app(tmp_path, acknowledged=True)
    assert (tmp_path / "Bare.template.json").is_file()


def test_prod_stacks_and_only_prod_stacks_are_termination_protected(cdk_out: Path) -> None:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    protection = {
        name: artifact["properties"].get("terminationProtection", False)
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert {name.split("-")[1] for name in protection} == {"dev", "prod"}
    for name, protected in protection.items():
        assert protected is name.startswith("Spito-prod-"), name


def _jsii_stderr(command: list[str], **kwargs: Any) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_SILENCE_WARNING_")}
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        **kwargs,
    )
    return result.stderr


def test_make_targets_run_the_cdk_without_jsii_node_version_banners() -> None:
    load_cdk = [sys.executable, "-c", "import aws_cdk.aws_logs"]
    if JSII_NODE_BANNER not in _jsii_stderr(load_cdk):
        pytest.skip("this Node version gets no jsii banner, so there is nothing to silence")
    # A target appended to the Makefile, so it runs with everything the Makefile exports.
    probe = "jsii-probe:\n\t$(PY) -c 'import aws_cdk.aws_logs'\n"
    make = ["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", "-", "jsii-probe"]
    assert JSII_NODE_BANNER not in _jsii_stderr(make, input=probe)
