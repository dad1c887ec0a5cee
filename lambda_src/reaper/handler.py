"""The reaper: deletes the S3 body of every large paste that DynamoDB's TTL removed.

The table's stream feeds this function through an event filter that passes only removals made
by the TTL service of items carrying a `blob_key` (see `infra/reaper.py`). The handler checks the
same three things again, so a widened filter can never make it delete the body of a paste that
is still referenced or that the service removed itself.

Deleting is idempotent: S3 answers a delete of a missing key with success, so a retried batch
or an object someone already removed is not an error. A record whose delete fails is reported
as a batch item failure; Lambda then retries from that record, so the ones before it are not
deleted twice and one bad record cannot block the shard forever (retries are bounded and the
rest goes to the on-failure queue).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BLOB_KEY_ATTRIBUTE = "blob_key"
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

BUCKET = os.environ["SPITO_BLOB_BUCKET"]
_S3: S3Client = boto3.client(
    "s3",
    config=Config(
        connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
    ),
)


def handler(event: Mapping[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """Delete the bodies named by TTL removals; report the first record that failed, if any."""
    for record in event.get("Records", []):
        sequence_number = str(record["dynamodb"]["SequenceNumber"])
        blob_key = expired_blob_key(record)
        if blob_key is None:
            _log("ignored", sequence_number=sequence_number, event_name=record.get("eventName"))
            continue
        try:
            # S3 answers a delete of a missing key with success: nothing to special-case.
            _S3.delete_object(Bucket=BUCKET, Key=blob_key)
        except (BotoCoreError, ClientError) as error:
            _log("delete_failed", sequence_number=sequence_number, key=blob_key, error=str(error))
            # Lambda resumes from the lowest failed sequence number, so later records are retried
            # anyway: stop here rather than delete them twice.
            return {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
        _log("deleted", sequence_number=sequence_number, key=blob_key)
    return {"batchItemFailures": []}


def expired_blob_key(record: Mapping[str, Any]) -> str | None:
    """The S3 key of the body of the item a TTL removal deleted, or None if the record isn't one."""
    identity = record.get("userIdentity") or {}
    made_by_ttl = all(identity.get(field) == value for field, value in TTL_IDENTITY.items())
    if record.get("eventName") != "REMOVE" or not made_by_ttl:
        return None
    old_image = record.get("dynamodb", {}).get("OldImage", {})
    key = old_image.get(BLOB_KEY_ATTRIBUTE, {}).get("S")
    return key if isinstance(key, str) and key else None


def _log(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}, default=str), flush=True)
