"""Synth itself: deterministic output, and cdk-nag findings that stop it unless acknowledged."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from tests.fixtures.cdk_app import synthesize, synthesized_once


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

    app = App(outdir=str(tmp_path))
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
