"""One snapshot per edge stack and variant, normalized for asset hashes.

Update deliberately with `pytest tests/edge/test_edge_snapshots.py --snapshot-update`, in a commit
of its own when the CDK is upgraded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.normalize import normalized

TemplateJson = Callable[[str], dict[str, Any]]


@pytest.mark.parametrize(
    "stack_name", ["Spito-dev-Edge", "Spito-prod-Edge", "Spito-prod-EdgeGlobal"]
)
def test_edge_template_matches_snapshot(
    stack_name: str, cdk_template_json: TemplateJson, snapshot: SnapshotAssertion
) -> None:
    template = normalized(cdk_template_json(stack_name))
    assert template == snapshot(extension_class=JSONSnapshotExtension)


@pytest.mark.parametrize(
    "stack_name",
    [
        "Spito-prod-Edge",
        "Spito-prod-EdgeGlobal",
        "Spito-prod-Certificate",
        # A domain changes these too: the ALB's HTTPS listener, the service's host names, the
        # canary's URL.
        "Spito-prod-Api",
        "Spito-prod-Jobs",
    ],
)
def test_edge_template_with_a_domain_matches_snapshot(
    stack_name: str, domain_template_json: TemplateJson, snapshot: SnapshotAssertion
) -> None:
    template = normalized(domain_template_json(stack_name))
    assert template == snapshot(extension_class=JSONSnapshotExtension)
