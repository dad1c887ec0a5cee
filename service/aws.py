"""boto3 clients configured to fail fast, so a storage outage becomes a quick 503, not a hang."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.settings import Settings
from service.storage_errors import StorageUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# Enough pooled connections for every thread the server may run storage calls on.
MAX_POOL_CONNECTIONS = 64


def _config(settings: Settings, **extra: object) -> Config:
    return Config(
        region_name=settings.aws_region,
        connect_timeout=settings.storage_timeout_seconds,
        read_timeout=settings.storage_timeout_seconds,
        retries={"max_attempts": settings.storage_max_attempts, "mode": "standard"},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        **extra,  # type: ignore[arg-type]
    )


def dynamodb_client(settings: Settings) -> DynamoDBClient:
    return boto3.session.Session().client(
        "dynamodb", endpoint_url=settings.dynamodb_endpoint, config=_config(settings)
    )


def s3_client(settings: Settings) -> S3Client:
    # Local S3 stand-ins answer on one host name, so address buckets by path there.
    addressing = {"addressing_style": "path"} if settings.s3_endpoint else {}
    return boto3.session.Session().client(
        "s3", endpoint_url=settings.s3_endpoint, config=_config(settings, s3=addressing)
    )


def ssm_client(settings: Settings) -> Any:
    """An SSM client (boto3's stubs for SSM are not installed: callers type the calls they use)."""
    return boto3.session.Session().client(
        "ssm", endpoint_url=settings.ssm_endpoint, config=_config(settings)
    )


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def storage_call(
    what: str, *, expected: Callable[[ClientError], bool] = lambda _: False
) -> Iterator[None]:
    """Turn boto3 failures into StorageUnavailableError, except the `expected` client errors."""
    try:
        yield
    except ClientError as error:
        if expected(error):
            raise
        raise StorageUnavailableError(f"{what}: {error_code(error) or error}") from error
    except BotoCoreError as error:
        raise StorageUnavailableError(f"{what}: {error}") from error
