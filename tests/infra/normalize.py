"""Template normalization for snapshots: only infrastructure changes should change a snapshot."""

from __future__ import annotations

import re
from typing import Any

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def normalized(value: Any) -> Any:
    """`value` with asset hashes (S3 keys, user-data `Fn::Join` parts) replaced by a placeholder.

    Asset hashes change with any byte of the service code or the CDK version; what they point at
    is covered by the tests that run the shipped code, so snapshots ignore them.
    """
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, str):
        return ASSET_HASH.sub("<asset-hash>", value)
    return value
