"""The one DynamoDB table holding links and pastes: every read and write of items goes here.

Item layout: `id` (partition key), `kind` ("link" or "paste"), `created_at`, `expires_at` (the
TTL attribute, epoch seconds, absent for never), `delete_token_hash` (SHA-256 hex). Links add
`url`, `clicks` (people), `bot_fetches` (bots, previews and HEADs; added by the first one)
and a `clicks@YYYY-MM-DD` per UTC day with clicks, for the retention days; pastes add
`syntax`, `size`, `burn_after_reading`, and either `content` (inline) or `blob_key` (the
body's key in the blob bucket). Either may carry `reports` (distinct clients who reported it)
and `removal` (held or taken down: service/moderation.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from service.aws import error_code, storage_call
from service.clicks import DayCounts
from service.records import Link, Paste, Record, Removal
from service.storage_errors import AlreadyExistsError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, UpdateItemInputTypeDef

# An id no link or paste can have ('!' is outside both alphabets): readiness reads it.
READINESS_PROBE_ID = "!readyz"
# A link's clicks on one UTC day: `clicks@2026-12-04`.
DAY_PREFIX = "clicks@"
_NOT_EXPIRED = "(attribute_not_exists(expires_at) OR expires_at > :now)"


def _is_condition_failure(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


class Table:
    """Links and pastes in DynamoDB (or dynalite): conditional writes, never an overwrite."""

    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self._client = client
        self._name = name

    def create(self, record: Record) -> None:
        """Write a new item; raise AlreadyExistsError if the id is taken; never overwrite."""
        try:
            with storage_call("create item", expected=_is_condition_failure):
                self._client.put_item(
                    TableName=self._name,
                    Item=_to_item(record),
                    ConditionExpression="attribute_not_exists(id)",
                )
        except ClientError:
            raise AlreadyExistsError(record.id) from None

    def get(self, record_id: str, *, now: int) -> Record | None:
        """The live item, or None when absent or expired (TTL deletion lags by up to 2 days)."""
        record = self.get_even_expired(record_id)
        return None if record is None or is_expired(record, now) else record

    def get_even_expired(self, record_id: str) -> Record | None:
        """The item, expired or not (until DynamoDB's TTL deletes it), or None when absent."""
        with storage_call("get item"):
            response = self._client.get_item(
                TableName=self._name, Key={"id": {"S": record_id}}, ConsistentRead=True
            )
        item = response.get("Item")
        return None if item is None else _from_item(item)

    def delete(self, record_id: str, *, delete_token_hash: str) -> Record | None:
        """Delete the item if the token hash still matches; return what was deleted, or None."""
        try:
            with storage_call("delete item", expected=_is_condition_failure):
                response = self._client.delete_item(
                    TableName=self._name,
                    Key={"id": {"S": record_id}},
                    # A held or taken-down item is kept for the operators (service/moderation.py).
                    ConditionExpression=(
                        "delete_token_hash = :hash AND attribute_not_exists(removal)"
                    ),
                    ExpressionAttributeValues={":hash": {"S": delete_token_hash}},
                    ReturnValues="ALL_OLD",
                )
        except ClientError:
            return None
        old = response.get("Attributes")
        return _from_item(old) if old else None

    def take_burnable(self, paste: Paste, *, now: int) -> bool:
        """Atomically delete this live burn-after-reading paste; False if it is gone already.

        One conditional DeleteItem, on the item as it was read (its token hash): of two
        concurrent openers exactly one deletes it.
        """
        try:
            with storage_call("burn paste", expected=_is_condition_failure):
                self._client.delete_item(
                    TableName=self._name,
                    Key={"id": {"S": paste.id}},
                    ConditionExpression=(
                        "kind = :paste AND burn_after_reading = :yes "
                        f"AND delete_token_hash = :hash AND {_NOT_EXPIRED} "
                        "AND attribute_not_exists(removal)"
                    ),
                    ExpressionAttributeValues={
                        ":paste": {"S": "paste"},
                        ":yes": {"BOOL": True},
                        ":hash": {"S": paste.delete_token_hash},
                        ":now": {"N": str(now)},
                    },
                )
        except ClientError:
            return False
        return True

    def add_clicks(self, counts: DayCounts) -> None:
        """Atomically add one day's counts to a link; a link deleted meanwhile stays deleted.

        The day's counter is a top-level attribute `clicks@YYYY-MM-DD`: ADD creates a missing
        number attribute as 0 first, so the first click of a day needs no read or second write
        (a SET on a key of a map attribute fails while the map does not exist). The update
        returns the item (ALL_NEW), so days older than `forget_before` are seen and removed
        by a second update, at most once a day per link.
        https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html
        """
        names: dict[str, str] = {}
        values: dict[str, AttributeValueTypeDef] = {":link": {"S": "link"}}
        actions: list[str] = []
        if counts.clicks:
            names["#day"] = DAY_PREFIX + counts.day
            values[":clicks"] = {"N": str(counts.clicks)}
            actions += ["clicks :clicks", "#day :clicks"]
        if counts.bot_fetches:
            values[":bots"] = {"N": str(counts.bot_fetches)}
            actions.append("bot_fetches :bots")
        if not actions:
            return
        stale = self._update_link(
            link_id=counts.link_id,
            expression="ADD " + ", ".join(actions),
            names=names,
            values=values,
            what="count clicks",
        )
        old = sorted(name for name in stale if name[len(DAY_PREFIX) :] < counts.forget_before)
        if old:
            self._update_link(
                link_id=counts.link_id,
                expression="REMOVE " + ", ".join(f"#old{i}" for i in range(len(old))),
                names={f"#old{i}": name for i, name in enumerate(old)},
                values={":link": {"S": "link"}},
                what="forget old click days",
            )

    def _update_link(
        self,
        *,
        link_id: str,
        expression: str,
        names: dict[str, str],
        values: dict[str, AttributeValueTypeDef],
        what: str,
    ) -> list[str]:
        """Update a link (never create one); return its per-day attribute names after it."""
        request: UpdateItemInputTypeDef = {
            "TableName": self._name,
            "Key": {"id": {"S": link_id}},
            "UpdateExpression": expression,
            "ConditionExpression": "kind = :link",
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if names:  # DynamoDB refuses an empty ExpressionAttributeNames
            request["ExpressionAttributeNames"] = names
        try:
            with storage_call(what, expected=_is_condition_failure):
                response = self._client.update_item(**request)
        except ClientError:
            return []
        return [name for name in response.get("Attributes", {}) if name.startswith(DAY_PREFIX)]

    def ping(self) -> None:
        """Raise StorageUnavailableError unless the table answers a read."""
        with storage_call("readiness read"):
            self._client.get_item(TableName=self._name, Key={"id": {"S": READINESS_PROBE_ID}})


def is_expired(record: Record, now: int) -> bool:
    return record.expires_at is not None and record.expires_at <= now


def _to_item(record: Record) -> dict[str, AttributeValueTypeDef]:
    item: dict[str, AttributeValueTypeDef] = {
        "id": {"S": record.id},
        "created_at": {"N": str(record.created_at)},
        "delete_token_hash": {"S": record.delete_token_hash},
    }
    if record.expires_at is not None:
        item["expires_at"] = {"N": str(record.expires_at)}
    if isinstance(record, Link):
        item |= {"kind": {"S": "link"}, "url": {"S": record.url}, "clicks": {"N": "0"}}
        return item
    item |= {
        "kind": {"S": "paste"},
        "syntax": {"S": record.syntax},
        "size": {"N": str(record.size)},
        "burn_after_reading": {"BOOL": record.burn_after_reading},
    }
    if record.blob_key is not None:
        item["blob_key"] = {"S": record.blob_key}
    elif record.content is not None:
        item["content"] = {"S": record.content}
    return item


def _from_item(item: dict[str, Any]) -> Record:
    common: dict[str, Any] = {
        "id": item["id"]["S"],
        "created_at": int(item["created_at"]["N"]),
        "expires_at": int(item["expires_at"]["N"]) if "expires_at" in item else None,
        "delete_token_hash": item["delete_token_hash"]["S"],
        "removal": removal_from_item(item),
    }
    if item["kind"]["S"] == "link":
        return Link(
            url=item["url"]["S"],
            clicks=int(item.get("clicks", {"N": "0"})["N"]),
            bot_fetches=int(item.get("bot_fetches", {"N": "0"})["N"]),
            clicks_by_day={
                name[len(DAY_PREFIX) :]: int(value["N"])
                for name, value in item.items()
                if name.startswith(DAY_PREFIX)
            },
            **common,
        )
    return Paste(
        syntax=item["syntax"]["S"],
        size=int(item["size"]["N"]),
        burn_after_reading=bool(item["burn_after_reading"]["BOOL"]),
        content=item["content"]["S"] if "content" in item else None,
        blob_key=item["blob_key"]["S"] if "blob_key" in item else None,
        **common,
    )


def removal_from_item(item: dict[str, Any]) -> Removal | None:
    """The item's `removal` map ({state, reason, at}: held or taken down), if it has one."""
    removal = item.get("removal", {}).get("M")
    if not removal:
        return None
    return Removal(
        state=removal["state"]["S"], reason=removal["reason"]["S"], at=int(removal["at"]["N"])
    )
