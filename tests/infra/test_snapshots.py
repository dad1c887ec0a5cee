"""One snapshot per stack this part of the app owns, normalized for asset hashes.

Update deliberately with `pytest tests/infra/test_snapshots.py --snapshot-update`, in a commit of
its own when the CDK is upgraded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.normalize import normalized

STACKS = [
    f"Spito-{stage}-{unit}" for stage in ("dev", "prod") for unit in ("Network", "Data", "Api")
]


@pytest.mark.parametrize("stack_name", STACKS)
def test_template_matches_snapshot(
    stack_name: str,
    cdk_template_json: Callable[[str], dict[str, Any]],
    snapshot: SnapshotAssertion,
) -> None:
    template = normalized(cdk_template_json(stack_name))
    assert template == snapshot(extension_class=JSONSnapshotExtension)


def test_normalization_replaces_asset_hashes_inside_strings() -> None:
    key = "a1fbca7094dbf9710c0ccffef45a4106061aa5baaed3f71945ad520d92e313d4.zip"
    assert normalized({"Fn::Join": ["", [f"s3://b/{key}"]]}) == {
        "Fn::Join": ["", ["s3://b/<asset-hash>.zip"]]
    }
