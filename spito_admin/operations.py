"""What operators do through spito-admin: list reports, take down, restore, change the
blocklist, keep the audit trail, count.

These calls (Scan among them) are the operator's, made with the operator's credentials; the
service's role is not granted them (infra/data.py), and the service never makes them. Holding
an item and reading the blocklist are shared with the service (service/moderation.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from service.aws import error_code, storage_call
from service.moderation import (
    BLOCKLIST_ID,
    Moderation,
    blocklist_shard_id,
    blocklist_shard_of,
)
from service.removed import HELD, TAKEN_DOWN

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


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


class Operations:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._moderation = Moderation(client, table)

    def item(self, item_id: str) -> dict[str, Any] | None:
        return self._moderation.item(item_id)

    def blocked_domains(self) -> frozenset[str]:
        return self._moderation.blocked_domains()

    def reports(self, *, pending_only: bool = False, item_id: str | None = None) -> list[Report]:
        """Reports, newest first (a scan)."""
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

    def take_down(self, item_id: str, *, reason: str, now: int) -> bool:
        """Take a link or paste down (held or not); False if there is no such item."""
        taken = self._moderation.set_removal(item_id, TAKEN_DOWN, reason, now, only_if_served=False)
        if taken:
            self._mark_reviewed(item_id)
        return taken

    def restore(self, item_id: str) -> bool:
        """Serve a held or taken-down item again; False if it was neither.

        Its report count starts again from 0: the reports so far were reviewed, and with the
        count kept, one more client's report would hold the item again alone.
        """
        try:
            with storage_call("restore item", expected=_condition_failed):
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": item_id}},
                    UpdateExpression="REMOVE removal, report_reasons SET reports = :none",
                    ConditionExpression="attribute_exists(removal)",
                    ExpressionAttributeValues={":none": {"N": "0"}},
                )
        except ClientError:
            return False
        self._mark_reviewed(item_id)
        return True

    def removed_count(self) -> dict[str, int]:
        """How many items are held and taken down (a scan)."""
        counts = {HELD: 0, TAKEN_DOWN: 0}
        for item in self._scan("attribute_exists(removal)", None):
            state = item["removal"]["M"]["state"]["S"]
            counts[state] = counts.get(state, 0) + 1
        return counts

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

    def block(self, domains: Iterable[str]) -> None:
        self._change_blocklist(domains, "ADD")

    def unblock(self, domains: Iterable[str]) -> None:
        self._change_blocklist(domains, "DELETE")

    def _change_blocklist(self, domains: Iterable[str], action: str) -> None:
        shards: dict[int, set[str]] = {}
        for domain in domains:
            shards.setdefault(blocklist_shard_of(domain), set()).add(domain)
        for shard, members in sorted(shards.items()):
            with storage_call("change blocklist"):
                self._client.update_item(
                    TableName=self._table,
                    Key={"id": {"S": blocklist_shard_id(shard)}},
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
