"""The domain variant's fixtures (`domain_cdk_out`, `domain_template_json`) live with the other
synths in tests/fixtures/cdk_app.py; the names the edge tests import from here are re-exported."""

from __future__ import annotations

from tests.fixtures.cdk_app import DOMAIN_NAME, HOSTED_ZONE_ID

__all__ = ["DOMAIN_NAME", "HOSTED_ZONE_ID"]
