"""Storage rules that need a look inside: id collisions, the redirect cache's bounds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from devstack.stack import LocalStack, service_environment
from service import ids
from service.aws import dynamodb_client, s3_client
from service.blobs import Blobs
from service.core import Spito
from service.hot_cache import RedirectCache
from service.settings import Settings
from service.table import Table
from tests.service.helpers import assert_problem, create_link


@pytest.fixture
def spito(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Spito:
    """The service's core in this process, on the local stack's real dynalite and s3rver."""
    environment = service_environment(local_stack.storage)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)  # boto3 reads the local credentials from here
    settings = Settings.from_env(environment)
    return Spito(
        settings,
        Table(dynamodb_client(settings), settings.table),
        Blobs(s3_client(settings), settings.bucket),
    )


def test_id_collision_is_retried_with_a_new_id_and_overwrites_nothing(
    spito: Spito, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = create_link(http, "https://example.com/original")
    candidates: Iterator[str] = iter([existing["id"], "Fresh234"])
    monkeypatch.setattr(ids, "new_id", lambda: next(candidates))
    created = spito.create_link(url="https://example.com/new", slug=None, expires_in=60)
    assert created.record.id == "Fresh234"
    assert http.get(f"/{existing['id']}").headers["location"] == "https://example.com/original"


def test_large_paste_retried_after_a_collision_leaves_no_stray_body(
    spito: Spito,
    http: httpx.Client,
    local_stack: LocalStack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    existing = create_link(http)
    candidates: Iterator[str] = iter([existing["id"], "Fresh567"])
    monkeypatch.setattr(ids, "new_id", lambda: next(candidates))
    content = "x" * (65 * 1024)
    created = spito.create_paste(data=content.encode(), syntax="text", expires_in=60, burn=False)
    assert created.record.id == "Fresh567"
    s3 = local_stack.storage.client("s3")
    bucket = local_stack.storage.bucket
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"pastes/{existing['id']}/")["KeyCount"] == 0
    assert s3.list_objects_v2(Bucket=bucket, Prefix="pastes/Fresh567/")["KeyCount"] == 1


def test_redirect_cache_honours_deletes_elsewhere_within_its_ttl(
    start_service: Callable[..., Any], http: httpx.Client
) -> None:
    other = start_service(SPITO_CACHE_TTL_SECONDS="1")
    link = create_link(http)
    assert httpx.get(f"{other.url}/{link['id']}").status_code == 302  # cached there now
    token = {"X-Delete-Token": link["delete_token"]}
    assert http.delete(f"/api/v1/links/{link['id']}", headers=token).status_code == 204
    time.sleep(1.2)
    assert_problem(httpx.get(f"{other.url}/{link['id']}"), 404)


def test_cache_ttl_0_disables_the_redirect_cache(
    start_service: Callable[..., Any], http: httpx.Client
) -> None:
    uncached = start_service(SPITO_CACHE_TTL_SECONDS="0")
    cached = start_service()  # the default, 30 s
    link = create_link(http)
    for service in (uncached, cached):
        for _ in range(2):  # a second read would be the cached one
            assert httpx.get(f"{service.url}/{link['id']}").status_code == 302
    token = {"X-Delete-Token": link["delete_token"]}
    assert http.delete(f"/api/v1/links/{link['id']}", headers=token).status_code == 204
    assert_problem(httpx.get(f"{uncached.url}/{link['id']}"), 404)  # at once, no TTL to wait
    assert httpx.get(f"{cached.url}/{link['id']}").status_code == 302  # the baseline caches


def test_redirect_cache_keeps_at_most_max_entries_dropping_the_oldest() -> None:
    cache = RedirectCache(ttl_seconds=30, max_entries=2)
    for link_id in ("one", "two", "three"):
        cache.put(link_id, f"https://example.com/{link_id}", seconds_left=None)
    assert cache.get("one") is None
    assert cache.get("two") is not None
    assert cache.get("three") is not None


def test_redirect_cache_entry_never_outlives_the_link() -> None:
    cache = RedirectCache(ttl_seconds=30, max_entries=10)
    cache.put("soon", "https://example.com/", seconds_left=1)
    cache.put("gone", "https://example.com/", seconds_left=0)
    assert cache.get("soon") is not None
    time.sleep(1.1)
    assert cache.get("soon") is None
    assert cache.get("gone") is None
