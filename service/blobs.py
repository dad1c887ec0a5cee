"""The private bucket holding bodies of pastes too large for a table item."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from service.aws import error_code, storage_call
from service.storage_errors import BlobGoneError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_BYTES = 64 * 1024
KEY_PREFIX = "pastes/"
READINESS_PROBE_KEY = "readyz/never-written"


def _is_missing(error: ClientError) -> bool:
    return error_code(error) == "NoSuchKey"


def _bucket_answered(error: ClientError) -> bool:
    return error_code(error) in {"NoSuchKey", "AccessDenied"}


class Blobs:
    """Paste bodies as S3 objects under fresh random keys, so no write can replace another's."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, paste_id: str, data: bytes) -> str:
        """Store a body under a new key, `pastes/<id>/<random>`, and return the key.

        The id makes bodies easy to find by hand; the random part keeps every write a new
        object, so a retried create can never replace another paste's body.
        """
        key = f"{KEY_PREFIX}{paste_id}/{secrets.token_hex(16)}"
        with storage_call("store paste body"):
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType="text/plain; charset=utf-8",
            )
        return key

    def open(self, key: str) -> Iterator[bytes]:
        """Start reading a body; the returned iterator streams it in chunks.

        Raises BlobGoneError if the body is gone: a concurrent burn or delete removed it
        between the item's read and this one.
        """
        try:
            with storage_call("read paste body", expected=_is_missing):
                body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        except ClientError:
            raise BlobGoneError(key) from None
        return _chunks(body.iter_chunks(CHUNK_BYTES))

    def delete(self, key: str) -> None:
        with storage_call("delete paste body"):
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def ping(self) -> None:
        """Raise StorageUnavailableError unless the bucket answers a read.

        Reads a key that never exists: S3 answers NoSuchKey, or AccessDenied to a role without
        s3:ListBucket (the service needs none), and either answer means the bucket is up. A
        missing bucket, a timeout or a 5xx is not ready.
        """
        try:
            with storage_call("readiness read of the bucket", expected=_bucket_answered):
                self._client.get_object(Bucket=self._bucket, Key=READINESS_PROBE_KEY)
        except ClientError:
            return


def _chunks(source: Iterator[bytes]) -> Iterator[bytes]:
    with storage_call("stream paste body"):
        yield from source
