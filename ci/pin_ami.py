"""`make ami STAGE=...`: pin the newest Amazon Linux 2023 image for a stage in cdk.json.

The fleet's launch template names a literal AMI id from the config (infra/api_fleet.py), so no
deploy changes the image behind anyone's back. This looks up the newest AL2023 image for the
stage's region and architecture from AWS's public Systems Manager parameter
/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<arch> (the one aws-cdk-lib's
`MachineImage.latest_amazon_linux2023` reads at every deploy, which this replaces; Amazon Linux
2023 user guide, "Launching AL2023 using the SSM parameter and AWS CLI") and writes it to
`spito.stages.<stage>.fleet.ami_id`. The change is then an ordinary diff: `make diff` shows the
launch template's new image and the rolling replacement of every instance it causes.

It needs AWS credentials that may call ssm:GetParameter in the stage's region; without them it
says so and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from infra.config import CONTEXT_KEY, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}"


def newest_image(region: str, architecture: str) -> str:
    """The AMI id AWS currently publishes as the newest AL2023 for `architecture` in `region`."""
    ssm = boto3.Session().client("ssm", region_name=region)
    name = PARAMETER.format(architecture=architecture)
    value: str = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    return value


def pin(cdk_json: Path, stage: str, lookup: Any = newest_image) -> tuple[str | None, str]:
    """Write the newest image into `stage`'s fleet config; return (previous id, new id)."""
    document = json.loads(cdk_json.read_text())
    config = load_config(document["context"], stage)
    image = lookup(config.region, config.fleet.architecture)
    stages = document["context"][CONTEXT_KEY]["stages"]
    fleet = stages[stage].setdefault("fleet", {})
    previous = fleet.get("ami_id")
    fleet["ami_id"] = image
    # Validated before writing: a malformed answer must not leave cdk.json unloadable.
    load_config(document["context"], stage)
    cdk_json.write_text(json.dumps(document, indent=2) + "\n")
    return previous, image


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--cdk-json", type=Path, default=ROOT / "cdk.json")
    args = parser.parse_args(argv)
    try:
        previous, image = pin(args.cdk_json, args.stage)
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError):
        sys.exit(
            "make ami: no AWS credentials. It asks Systems Manager for the newest Amazon Linux "
            "2023 image; sign in (aws sso login, or AWS_PROFILE=...) and run it again. "
            "cdk.json is unchanged."
        )
    except botocore.exceptions.ClientError as error:
        sys.exit(f"make ami: AWS refused the lookup ({error}); cdk.json is unchanged.")
    except ConfigError as error:
        sys.exit(str(error))
    if previous == image:
        print(f"make ami: stage {args.stage} already runs the newest image, {image}")
        return
    print(
        f"make ami: stage {args.stage} now pins {image} (was {previous}); `make diff` shows the "
        "launch template change and the rolling replacement of every instance it causes"
    )


if __name__ == "__main__":
    main()
