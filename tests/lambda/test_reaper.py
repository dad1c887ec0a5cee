"""The reaper handler, run as the Lambda runtime runs it, against the local stack's real s3rver."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest
from moto.events.models import EventPattern
from mypy_boto3_s3 import S3Client

from devstack.stack import LOCAL_CREDENTIALS, LOCAL_REGION, LocalStack
from infra.reaper import TTL_BLOB_REMOVAL_PATTERN

STREAM_ARN = (
    "arn:aws:dynamodb:eu-west-1:123456789012:table/spito-dev-links/stream/2026-11-22T05:00:00.000"
)


def stream_record(
    sequence_number: str,
    old_image: dict[str, Any],
    *,
    event: str = "REMOVE",
    by_ttl: bool = True,
    principal: str = "dynamodb.amazonaws.com",
) -> dict[str, Any]:
    """A record as Lambda delivers it from a NEW_AND_OLD_IMAGES stream.

    The shape follows the DynamoDB Streams `Record` API reference: a TTL deletion is a REMOVE whose
    `userIdentity` is the DynamoDB service; a delete through the API has no `userIdentity`.
    """
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795237200.0,
        "Keys": {"id": old_image["id"]},
        "SequenceNumber": sequence_number,
        "SizeBytes": 180,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if event in ("MODIFY", "REMOVE"):
        change["OldImage"] = old_image
    if event in ("INSERT", "MODIFY"):
        change["NewImage"] = old_image
    record: dict[str, Any] = {
        "eventID": f"c81e728d9d4c2f636f067f89cc14862c{sequence_number}",
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": change,
        "eventSourceARN": STREAM_ARN,
    }
    if by_ttl:
        record["userIdentity"] = {"type": "Service", "principalId": principal}
    return record


def _item(item_id: str, kind: str, **attributes: dict[str, str]) -> dict[str, Any]:
    return {
        "id": {"S": item_id},
        "kind": {"S": kind},
        "created_at": {"N": "1795150800"},
        "expires_at": {"N": "1795237200"},
        **attributes,
    }


def large_paste_image(item_id: str, blob_key: str) -> dict[str, Any]:
    return _item(item_id, "paste", size={"N": "70000"}, blob_key={"S": blob_key})


def inline_paste_image(item_id: str) -> dict[str, Any]:
    return _item(item_id, "paste", size={"N": "5"}, content={"S": "hello"})


def link_image(item_id: str) -> dict[str, Any]:
    return _item(item_id, "link", url={"S": "https://example.com/"}, clicks={"N": "3"})


@dataclass(frozen=True)
class BlobBucket:
    """The local stack's paste-body bucket, as the reaper sees it."""

    client: S3Client
    name: str

    def put(self, key: str) -> str:
        self.client.put_object(Bucket=self.name, Key=key, Body=b"x" * 70_000)
        return key

    def holds(self, key: str) -> bool:
        listing = self.client.list_objects_v2(Bucket=self.name, Prefix=key)
        return any(item["Key"] == key for item in listing.get("Contents", []))


@pytest.fixture
def blobs(local_stack: LocalStack) -> BlobBucket:
    return BlobBucket(local_stack.storage.client("s3"), local_stack.storage.bucket)


@pytest.fixture
def reaper(
    local_stack: LocalStack,
    monkeypatch: pytest.MonkeyPatch,
    load_handler: Callable[[str], ModuleType],
) -> ModuleType:
    """The handler module, configured as the stack configures it but pointed at s3rver."""
    monkeypatch.setenv("SPITO_BLOB_BUCKET", local_stack.storage.bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", local_stack.storage.s3_endpoint)
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", LOCAL_REGION)
    return load_handler("reaper")


def _invoke(reaper: ModuleType, *records: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = reaper.handler({"Records": list(records)}, None)
    return result


def test_ttl_removal_of_a_large_paste_deletes_its_body(
    reaper: ModuleType, blobs: BlobBucket
) -> None:
    key = blobs.put("pastes/abc1234/0f0f")

    result = _invoke(reaper, stream_record("100", large_paste_image("abc1234", key)))

    assert result == {"batchItemFailures": []}
    assert not blobs.holds(key)


def test_reaps_the_body_of_a_real_large_paste_from_its_stored_item(
    reaper: ModuleType, blobs: BlobBucket, base_url: str, local_stack: LocalStack
) -> None:
    created = httpx.post(f"{base_url}/api/v1/pastes", json={"content": "y" * 100_000})
    assert created.status_code == 201, created.text
    paste_id = created.json()["id"]
    item = local_stack.storage.client("dynamodb").get_item(
        TableName=local_stack.storage.table, Key={"id": {"S": paste_id}}
    )["Item"]
    blob_key = item["blob_key"]["S"]
    assert blobs.holds(blob_key)

    # The stream's OldImage of a removed item is the item exactly as it was stored.
    result = _invoke(reaper, stream_record("110", item))

    assert result == {"batchItemFailures": []}
    assert not blobs.holds(blob_key)


def test_body_already_gone_counts_as_success(reaper: ModuleType, blobs: BlobBucket) -> None:
    key = "pastes/gone123/1a1a"
    assert not blobs.holds(key)

    result = _invoke(reaper, stream_record("101", large_paste_image("gone123", key)))

    assert result == {"batchItemFailures": []}


def test_same_batch_delivered_twice_succeeds_both_times(
    reaper: ModuleType, blobs: BlobBucket
) -> None:
    record = stream_record("102", large_paste_image("twice12", blobs.put("pastes/twice12/2b2b")))

    first, second = _invoke(reaper, record), _invoke(reaper, record)

    assert first == second == {"batchItemFailures": []}


def test_ttl_removals_of_items_without_a_body_touch_nothing(
    reaper: ModuleType, blobs: BlobBucket
) -> None:
    bystander = blobs.put("pastes/inline1/3c3c")

    result = _invoke(
        reaper,
        stream_record("300", inline_paste_image("inline1")),
        stream_record("301", link_image("link123")),
    )

    assert result == {"batchItemFailures": []}
    assert blobs.holds(bystander)


def test_failed_delete_is_reported_and_later_records_wait_for_the_retry(
    reaper: ModuleType, blobs: BlobBucket
) -> None:
    before = blobs.put("pastes/before1/4d4d")
    after = blobs.put("pastes/after12/5e5e")
    # A key longer than the store accepts: s3rver answers the delete with an error.
    unusable_key = "pastes/" + "k" * 1100

    result = _invoke(
        reaper,
        stream_record("400", large_paste_image("before1", before)),
        stream_record("401", large_paste_image("broken1", unusable_key)),
        stream_record("402", large_paste_image("after12", after)),
    )

    assert result == {"batchItemFailures": [{"itemIdentifier": "401"}]}
    assert not blobs.holds(before)
    assert blobs.holds(after)  # Lambda redelivers from 401 on, so 402 is reaped on the retry


FILTER_CASES = [
    pytest.param(large_paste_image("big1234", "pastes/big1234/6f6f"), {}, True, id="ttl-large"),
    pytest.param(inline_paste_image("small12"), {}, False, id="ttl-inline-paste"),
    pytest.param(link_image("link123"), {}, False, id="ttl-link"),
    pytest.param(
        large_paste_image("own1234", "pastes/own1234/7a7a"),
        {"by_ttl": False},
        False,
        id="user-delete",
    ),
    pytest.param(
        large_paste_image("oth1234", "pastes/oth1234/8b8b"),
        {"principal": "other.amazonaws.com"},
        False,
        id="other-service",
    ),
    pytest.param(
        large_paste_image("new1234", "pastes/new1234/9c9c"), {"event": "INSERT"}, False, id="insert"
    ),
    pytest.param(
        large_paste_image("mod1234", "pastes/mod1234/0d0d"), {"event": "MODIFY"}, False, id="modify"
    ),
]


@pytest.mark.parametrize(("old_image", "shape", "expected"), FILTER_CASES)
def test_event_filter_passes_only_ttl_removals_of_items_with_a_body(
    old_image: dict[str, Any], shape: dict[str, Any], expected: bool
) -> None:
    pattern = EventPattern.load(json.dumps(TTL_BLOB_REMOVAL_PATTERN))

    assert pattern.matches_event(stream_record("500", old_image, **shape)) is expected


@pytest.mark.parametrize(("old_image", "shape", "expected"), FILTER_CASES)
def test_handler_reaps_exactly_what_the_event_filter_passes(
    reaper: ModuleType,
    blobs: BlobBucket,
    old_image: dict[str, Any],
    shape: dict[str, Any],
    expected: bool,
) -> None:
    # The body the record names, or for an item without one an object under its id, which
    # the handler must not touch either.
    named = old_image.get("blob_key", {}).get("S")
    key = blobs.put(named or f"pastes/{old_image['id']['S']}/filter-case")

    result = _invoke(reaper, stream_record("600", old_image, **shape))

    assert result == {"batchItemFailures": []}
    assert blobs.holds(key) is not expected
