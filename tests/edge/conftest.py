"""The app synthesized once more per session with a custom domain (the prod stage plus a domain).

The shared session synth (tests/fixtures/cdk_app.py) covers dev (no domain, no WAF) and prod
(no domain, WAF on); this adds the third shape of the edge: certificates, HTTPS to the ALB and
alias records. Like the shared one, the first xdist worker synthesizes and the others wait.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cdk_app import cdk_context, synthesized_once

DOMAIN_NAME = "spito.example.com"
HOSTED_ZONE_ID = "Z0123456789ABCDEFGHIJ"
DOMAIN_STAGE = "prod"


def domain_context() -> dict[str, Any]:
    context = cdk_context()
    context["spito"]["stages"][DOMAIN_STAGE]["domain"] = {
        "domain_name": DOMAIN_NAME,
        "hosted_zone_id": HOSTED_ZONE_ID,
    }
    return context


def _synthesize_with_domain(outdir: Path) -> None:
    from aws_cdk import App

    import app as spito_app
    from infra.config import load_config

    context = domain_context()
    application = App(context=context, outdir=str(outdir))
    spito_app.build(application, [load_config(context, DOMAIN_STAGE)])
    application.synth()


@pytest.fixture(scope="session")
def domain_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly of the prod stage with a custom domain."""
    return synthesized_once(tmp_path_factory, "cdk.domain.out", _synthesize_with_domain)


@pytest.fixture(scope="session")
def domain_template_json(domain_cdk_out: Path) -> Callable[[str], dict[str, Any]]:
    """`domain_template_json("Spito-prod-Edge")`: a stack of the domain variant, as JSON."""

    def load(stack_name: str) -> dict[str, Any]:
        template: dict[str, Any] = json.loads(
            (domain_cdk_out / f"{stack_name}.template.json").read_text()
        )
        return template

    return load
