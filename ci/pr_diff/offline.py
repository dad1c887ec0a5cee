"""Where the tools live and the environment that keeps them from reaching for AWS.

Used by every part of `make diff` that runs a tool.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CDK = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
# cfn-lint is installed beside the interpreter running this (the project's .venv).
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
# checkov has its own virtualenv: its pins conflict with the service's (requirements-checkov.txt).
CHECKOV = PROJECT_ROOT / ".tools" / "checkov" / "bin" / "checkov"
TOOLS = {"the CDK CLI": CDK, "cfn-lint": CFN_LINT, "checkov": CHECKOV}


def missing_tools() -> list[str]:
    """Each tool of `TOOLS` that is not installed, named with the path it was looked for at."""
    return [
        f"{name} ({path})"
        for name, path in TOOLS.items()
        if not (path.is_file() and os.access(path, os.X_OK))
    ]


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
