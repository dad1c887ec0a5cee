"""Abuse handling in the table: reports, holds, takedowns, the domain blocklist, the audit trail.

Used by the service (reports, the blocklist it reads) and by `spito-admin` (everything). All of
it lives in the one table, under ids no link or paste can have (they start with `!`):

- `!salt`: 32 random bytes made once, so every instance hashes a client the same way.
- `!report/{item id}/{client hash}`: one client's report of one item (`kind` "report"). The
  client hash is an HMAC of the client's address under the salt and the item id: the same
  client reporting again writes the same id, and the conditional put counts it once; the
  address itself is never stored, and one client's reports of two items cannot be linked.
- `!blocklist`: the blocklist's `version`, bumped by every change, so services re-read the
  list only when it changed; `!blocklist/{n}`: shard n of the blocked domains (a string set),
  as one item holds at most 400 KB.
- `!audit/{epoch ms}/{random}`: one operator action (`kind` "audit"): who, what, when, why.

A link or paste gains `reports` (distinct clients who reported it), `report_reasons` (the
set of their reasons) and `removal` (held or taken down; service/removed.py says what visitors
see).
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (400 KB items)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from service.aws import error_code, storage_call
from service.removed import HELD, TAKEN_DOWN

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
class Report:
    item_id: str
    reason: str
    details: str
    created_at: int
    pending: bool


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    at: int
    actor: str
    action: str
    target: str
    reason: str


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
        client_hash = hmac.new(
            self._client_salt(), f"{item_id}\n{client_address}".encode(), hashlib.sha256
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
        held = self._set_removal(item_id, HELD, reasons, now, only_if_served=True)
        return ReportOutcome(counted=True, held=held)

    def reports(self, *, pending_only: bool = False, item_id: str | None = None) -> list[Report]:
        """Reports, newest first (a scan: for operators, not for the request path)."""
        filters = ["kind = :report"]
        values: dict[str, AttributeValueTypeDef] = {":report": {"S": "report"}}
        if pending_only:
            filters.append("pending = :yes")
            values[":yes"] = {"BOOL": True}
        if item_id is not None:
            filters.append("item_id = :item")
            values[":item"] = {"S": item_id}
        found = [
            Report(
                item_id=item["item_id"]["S"],
                reason=item["reason"]["S"],
                details=item["details"]["S"],
                created_at=int(item["created_at"]["N"]),
                pending=bool(item["pending"]["BOOL"]),
            )
            for item in self._scan(" AND ".join(filters), values)
        ]
        return sorted(found, key=lambda report: report.created_at, reverse=True)

    # Operators' decisions

    def take_down(self, item_id: str, *, reason: str, now: int) -> bool:
        """Take a link or paste down (held or not); False if there is no such item."""
        taken = self._set_removal(item_id, TAKEN_DOWN, reason, now, only_if_served=False)
        if taken:
            self._mark_reviewed(item_id)
        return taken

    def restore(self, item_id: str) -> bool:
        """Serve a held or taken-down item again; False if it was neither."""
        try:
            with storage_call("restore item", expected=_condition_failed):
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": item_id}},
                    UpdateExpression="REMOVE removal",
                    ConditionExpression="attribute_exists(removal)",
                )
        except ClientError:
            return False
        self._mark_reviewed(item_id)
        return True

    def item(self, item_id: str) -> dict[str, Any] | None:
        """The raw item, for operators (`spito-admin show`)."""
        with storage_call("read item"):
            response = self._client.get_item(
                TableName=self._table, Key={"id": {"S": item_id}}, ConsistentRead=True
            )
        return response.get("Item")

    def removed_count(self) -> dict[str, int]:
        """How many items are held and taken down (a scan)."""
        counts = {HELD: 0, TAKEN_DOWN: 0}
        for item in self._scan("attribute_exists(removal)", None):
            state = item["removal"]["M"]["state"]["S"]
            counts[state] = counts.get(state, 0) + 1
        return counts

    def _set_removal(
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

    def _mark_reviewed(self, item_id: str) -> None:
        for item in self._scan(
            "kind = :report AND item_id = :item AND pending = :yes",
            {":report": {"S": "report"}, ":item": {"S": item_id}, ":yes": {"BOOL": True}},
        ):
            with storage_call("mark report reviewed"):
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": item["id"]},
                    UpdateExpression="SET pending = :no",
                    ExpressionAttributeValues={":no": {"BOOL": False}},
                )

    # The blocklist

    def blocklist_version(self) -> int:
        with storage_call("read blocklist version"):
            item = self._client.get_item(
                TableName=self._table, Key={"id": {"S": BLOCKLIST_ID}}, ConsistentRead=True
            ).get("Item", {})
        return int(item.get("version", {"N": "0"})["N"])

    def blocked_domains(self) -> frozenset[str]:
        keys: list[dict[str, AttributeValueTypeDef]] = [
            {"id": {"S": f"{BLOCKLIST_ID}/{shard}"}} for shard in range(BLOCKLIST_SHARDS)
        ]
        domains: set[str] = set()
        while keys:
            with storage_call("read blocklist"):
                response = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                )
            for item in response.get("Responses", {}).get(self._table, []):
                domains.update(item.get("domains", {}).get("SS", []))
            unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
            keys = list(unprocessed["Keys"]) if unprocessed else []
        return frozenset(domains)

    def block(self, domains: Iterable[str]) -> None:
        self._change_blocklist(domains, "ADD")

    def unblock(self, domains: Iterable[str]) -> None:
        self._change_blocklist(domains, "DELETE")

    def _change_blocklist(self, domains: Iterable[str], action: str) -> None:
        shards: dict[int, set[str]] = {}
        for domain in domains:
            shards.setdefault(_shard(domain), set()).add(domain)
        for shard, members in sorted(shards.items()):
            with storage_call("change blocklist"):
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": f"{BLOCKLIST_ID}/{shard}"}},
                    UpdateExpression=f"{action} domains :domains",
                    ExpressionAttributeValues={":domains": {"SS": sorted(members)}},
                )
        with storage_call("bump blocklist version"):
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": BLOCKLIST_ID}},
                UpdateExpression="ADD version :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    # The audit trail

    def audit(self, *, actor: str, action: str, target: str, reason: str, now: float) -> None:
        with storage_call("write audit record"):
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": f"!audit/{int(now * 1000)}/{secrets.token_hex(4)}"},
                    "kind": {"S": "audit"},
                    "at": {"N": str(int(now))},
                    "actor": {"S": actor},
                    "action": {"S": action},
                    "target": {"S": target},
                    "reason": {"S": reason},
                },
                ConditionExpression="attribute_not_exists(id)",
            )

    def audit_records(self) -> list[AuditRecord]:
        records = [
            AuditRecord(
                at=int(item["at"]["N"]),
                actor=item["actor"]["S"],
                action=item["action"]["S"],
                target=item["target"]["S"],
                reason=item["reason"]["S"],
            )
            for item in self._scan("kind = :audit", {":audit": {"S": "audit"}})
        ]
        return sorted(records, key=lambda record: record.at)

    def counts(self) -> dict[str, int]:
        """Items by kind (a scan): links, pastes, reports, audit records."""
        counts: dict[str, int] = {}
        for item in self._scan("attribute_exists(kind)", None, projection="kind"):
            kind = item["kind"]["S"]
            counts[kind] = counts.get(kind, 0) + 1
        return counts

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

    def _scan(
        self,
        condition: str,
        values: dict[str, AttributeValueTypeDef] | None,
        *,
        projection: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"TableName": self._table, "FilterExpression": condition}
        if values:
            request["ExpressionAttributeValues"] = values
        if projection:
            request["ProjectionExpression"] = projection
        while True:
            with storage_call("scan"):
                response = self._client.scan(**request)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last


def _shard(domain: str) -> int:
    return zlib.crc32(domain.encode()) % BLOCKLIST_SHARDS
