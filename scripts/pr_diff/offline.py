"""Where the tools live and the environment that keeps them from reaching for AWS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CDK = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
VENV_BIN = Path(sys.executable).parent
# checkov has its own virtualenv: its pins conflict with the service's (requirements-checkov.txt).
CHECKOV = PROJECT_ROOT / ".tools" / "checkov" / "bin" / "checkov"


def offline_env() -> dict[str, str]:
    """The caller's environment, with the CDK CLI's network side effects switched off."""
    # With COLUMNS set (pytest-xdist sets 80) `cdk diff` wraps table cells mid-word.
    inherited = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    return {
        **inherited,
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        # No credential probe of the EC2 instance metadata service: it only times out here.
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "BC_SKIP_MAPPING": "TRUE",  # checkov: no guideline download
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
    }
