"""Abuse handling in the table: reports, holds, takedowns, the domain blocklist, the audit trail.

The service's part: filing reports and holding items, and reading the blocklist, with only the
calls its role is granted (infra/data.py). The operators' part (listing, takedowns, blocklist
changes, the audit trail) is spito_admin/operations.py. All of it lives in the one table,
under ids no link or paste can have (they start with `!`):

- `!salt`: 32 random bytes made once, so every instance hashes a client the same way.
- `!report/{item id}/{client hash}`: one client's report of one item (`kind` "report"). The
  client hash is an HMAC of the client's address (an IPv6 one's /64, as the rate limit counts
  it) under the salt and the item id: the same
  client reporting again writes the same id, and the conditional put counts it once; the
  address itself is never stored, and one client's reports of two items cannot be linked.
- `!blocklist`: the blocklist's `version`, bumped by every change, so services re-read the
  list only when it changed; `!blocklist/{n}`: shard n of the blocked domains (a string set),
  as one item holds at most 400 KB.
- `!audit/{epoch ms}/{random}`: one operator action (`kind` "audit"): who, what, when, why.

A link or paste gains `reports` (distinct clients who reported it since an operator last
restored it: spito_admin/operations.py starts it again from 0), `report_reasons` (the set of
their reasons) and `removal` (held or taken down; service/removed.py says what visitors
see).
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (400 KB items)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from service.aws import error_code, storage_call
from service.ratelimit import bucket_key
from service.removed import HELD

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

REPORT_REASONS = ("phishing", "malware", "spam", "illegal", "other")
MAX_DETAILS_CHARS = 1000
SALT_ID = "!salt"
BLOCKLIST_ID = "!blocklist"
BLOCKLIST_SHARDS = 64


def _condition_failed(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


@dataclass(frozen=True, kw_only=True)
class ReportOutcome:
    counted: bool  # False: this client had reported the item already
    held: bool  # True: this report held the item


class Moderation:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._salt: bytes | None = None

    # Reports

    def report(
        self,
        *,
        item_id: str,
        reason: str,
        details: str,
        client_address: str,
        hold_threshold: int,
        now: int,
    ) -> ReportOutcome:
        """File one client's report; hold the item when `hold_threshold` clients reported it.

        Two writes, not a transaction (dynalite has none): a report whose count update fails
        is stored but uncounted, and the client's retry counts once more at most.
        """
        # One client as the rate limit counts one (an IPv6 /64 is one subscriber's), or a client
        # with a /64 could hold any item alone by reporting from several of its addresses.
        client_key = bucket_key(client_address)
        client_hash = hmac.new(
            self._client_salt(), f"{item_id}\n{client_key}".encode(), hashlib.sha256
        ).hexdigest()
        try:
            with storage_call("store report", expected=_condition_failed):
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "id": {"S": f"!report/{item_id}/{client_hash[:32]}"},
                        "kind": {"S": "report"},
                        "item_id": {"S": item_id},
                        "reason": {"S": reason},
                        "details": {"S": details},
                        "created_at": {"N": str(now)},
                        "pending": {"BOOL": True},
                    },
                    ConditionExpression="attribute_not_exists(id)",
                )
        except ClientError:
            return ReportOutcome(counted=False, held=False)
        # The reasons gather on the item too, so a hold can say why without reading reports.
        item = self._update(
            item_id,
            "ADD reports :one, report_reasons :reason",
            values={":one": {"N": "1"}, ":reason": {"SS": [reason]}},
            what="count report",
        )
        if item is None or int(item.get("reports", {"N": "0"})["N"]) < hold_threshold:
            return ReportOutcome(counted=True, held=False)
        reasons = ", ".join(sorted(item.get("report_reasons", {}).get("SS", [reason])))
        held = self.set_removal(item_id, HELD, reasons, now, only_if_served=True)
        return ReportOutcome(counted=True, held=held)

    def item(self, item_id: str) -> dict[str, Any] | None:
        """The raw item (a strongly consistent read)."""
        with storage_call("read item"):
            response = self._client.get_item(
                TableName=self._table, Key={"id": {"S": item_id}}, ConsistentRead=True
            )
        return response.get("Item")

    def set_removal(
        self, item_id: str, state: str, reason: str, now: int, *, only_if_served: bool
    ) -> bool:
        condition = "kind IN (:link, :paste)"
        if only_if_served:  # a hold never replaces an operator's decision
            condition += " AND attribute_not_exists(removal)"
        try:
            with storage_call("remove item", expected=_condition_failed):
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": item_id}},
                    UpdateExpression="SET removal = :removal",
                    ConditionExpression=condition,
                    ExpressionAttributeValues={
                        ":link": {"S": "link"},
                        ":paste": {"S": "paste"},
                        ":removal": {
                            "M": {
                                "state": {"S": state},
                                "reason": {"S": reason},
                                "at": {"N": str(now)},
                            }
                        },
                    },
                )
        except ClientError:
            return False
        return True

    # The blocklist

    def blocklist_version(self) -> int:
        with storage_call("read blocklist version"):
            item = self._client.get_item(
                TableName=self._table, Key={"id": {"S": BLOCKLIST_ID}}, ConsistentRead=True
            ).get("Item", {})
        return int(item.get("version", {"N": "0"})["N"])

    def blocked_domains(self) -> frozenset[str]:
        """Every shard, one GetItem each: only when the version changed, and within the
        service's grant (infra/data.py allows it GetItem, not BatchGetItem)."""
        domains: set[str] = set()
        for shard in range(BLOCKLIST_SHARDS):
            item = self.item(blocklist_shard_id(shard)) or {}
            domains.update(item.get("domains", {}).get("SS", []))
        return frozenset(domains)

    # Helpers

    def _client_salt(self) -> bytes:
        if self._salt is None:
            fresh = secrets.token_hex(32)
            try:
                with storage_call("create salt", expected=_condition_failed):
                    self._client.put_item(
                        TableName=self._table,
                        Item={"id": {"S": SALT_ID}, "salt": {"S": fresh}},
                        ConditionExpression="attribute_not_exists(id)",
                    )
            except ClientError:  # another instance made it first: use that one
                pass
            stored = self.item(SALT_ID)
            if stored is None:
                raise RuntimeError("the report salt vanished after being written")
            self._salt = bytes.fromhex(stored["salt"]["S"])
        return self._salt

    def _update(
        self,
        item_id: str,
        expression: str,
        *,
        values: dict[str, AttributeValueTypeDef],
        what: str,
    ) -> dict[str, Any] | None:
        """Update a live link or paste; its new attributes, or None if there is no such item."""
        try:
            with storage_call(what, expected=_condition_failed):
                response = self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": item_id}},
                    UpdateExpression=expression,
                    ConditionExpression="kind IN (:link, :paste)",
                    ExpressionAttributeValues={
                        **values,
                        ":link": {"S": "link"},
                        ":paste": {"S": "paste"},
                    },
                    ReturnValues="ALL_NEW",
                )
        except ClientError:
            return None
        return dict(response.get("Attributes", {}))


def blocklist_shard_id(shard: int) -> str:
    return f"{BLOCKLIST_ID}/{shard}"


def blocklist_shard_of(domain: str) -> int:
    return zlib.crc32(domain.encode()) % BLOCKLIST_SHARDS
