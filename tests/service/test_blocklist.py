"""The domain blocklist over real HTTP against the local stack: refused at creation, 410 at
redirect, honoured by cached redirects after a refresh, and never read on a cached redirect."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from devstack.stack import LocalStack, ServiceProcess
from service.blocklist import Blocklist, is_blocked, normalize_domain
from service.moderation import Moderation
from spito_admin.operations import Operations
from tests.service.helpers import BROWSER_USER_AGENT, assert_problem, create_link


@pytest.fixture
def moderation(aws_client: Callable[[str], Any], spito_table: str) -> Iterator[Operations]:
    moderation = Operations(aws_client("dynamodb"), spito_table)
    yield moderation
    moderation.unblock(moderation.blocked_domains())


@pytest.fixture
def service(start_service: Callable[..., ServiceProcess]) -> ServiceProcess:
    return start_service(SPITO_BLOCKLIST_REFRESH_SECONDS="0.5")


def _until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the blocklist change was not honoured in time"
        time.sleep(0.2)


def test_a_blocked_domain_and_its_subdomains_are_refused_and_stop_redirecting(
    service: ServiceProcess, moderation: Operations
) -> None:
    with httpx.Client(base_url=service.url, headers={"User-Agent": BROWSER_USER_AGENT}) as client:
        link = create_link(client, "https://login.evil.example/bank")
        assert client.get(f"/{link['id']}").status_code == 302  # now cached
        moderation.block(["evil.example"])
        _until(lambda: client.get(f"/{link['id']}").status_code == 410)
        problem = assert_problem(client.get(f"/{link['id']}"), 410)
        assert problem["type"] == "urn:spito:problem:blocked"
        for url in ("https://evil.example/", "http://a.b.EVIL.example./x"):
            refused = assert_problem(client.post("/api/v1/links", json={"url": url}), 400)
            assert refused["field"] == "url"
            assert "blocked domain" in refused["detail"]
        create_link(client, "https://notevil.example/")  # a label boundary, not a substring
        page = client.get(f"/{link['id']}", headers={"Accept": "text/html"})
        assert page.status_code == 410
        assert "This link or paste is blocked" in page.text
        assert "login.evil.example" not in page.text
        moderation.unblock(["evil.example"])
        _until(lambda: client.get(f"/{link['id']}").status_code == 302)
        create_link(client, "https://evil.example/")


def test_a_cached_redirect_makes_no_storage_call(
    service: ServiceProcess, moderation: Operations, local_stack: LocalStack
) -> None:
    moderation.block(["blocked.example"])
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client, "https://fine.example/")
        blocked = {"url": "https://blocked.example/"}
        _until(lambda: client.post("/api/v1/links", json=blocked).status_code == 400)
        assert client.get(f"/{link['id']}").status_code == 302  # cached from here on
        with local_stack.storage.outage():
            time.sleep(1)  # refreshes fail meanwhile; the list in memory stays
            for _ in range(5):
                assert client.get(f"/{link['id']}").status_code == 302


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Example.COM.", "example.com"),
        ("  bücher.example ", "xn--bcher-kva.example"),
        ("192.0.2.7", "192.0.2.7"),
        ("[2001:db8::1]", "2001:db8::1"),
    ],
)
def test_domains_are_normalized_like_link_hosts(raw: str, normalized: str) -> None:
    assert normalize_domain(raw) == normalized


@pytest.mark.parametrize("raw", ["", "localhost", "exa mple.com", "-bad.example", "a..b"])
def test_what_is_not_a_domain_is_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(ValueError, match="domain"):
        normalize_domain(raw)


def test_an_ip_address_blocks_only_itself() -> None:
    assert is_blocked("192.0.2.7", frozenset({"192.0.2.7"}))
    assert not is_blocked("10.192.0.2", frozenset({"0.2"}))
    assert is_blocked("x.y.example.org", frozenset({"example.org"}))
    assert not is_blocked("example.org", frozenset({"org"}))


def test_a_change_empties_the_redirect_cache_on_the_event_loop_thread(
    aws_client: Callable[[str], Any], spito_table: str, moderation: Operations
) -> None:
    # Redirects check the list and cache themselves on the event loop. Emptied from a worker
    # thread, the cache could take a redirect checked against the old list just after it was
    # emptied (a blocked link served from it until its TTL), or have an entry deleted under a
    # lookup of the hot path (KeyError: a 500).
    emptied_on: list[int] = []
    blocklist = Blocklist(
        Moderation(aws_client("dynamodb"), spito_table),
        on_change=lambda: emptied_on.append(threading.get_ident()),
    )
    moderation.block(["thread.example"])

    async def refresh_once() -> int:
        task = asyncio.create_task(blocklist.run(3600))
        while not emptied_on:
            await asyncio.sleep(0.05)
        task.cancel()
        return threading.get_ident()

    # The loop in a thread of its own: a worker that ran the browser tests keeps Playwright's
    # event loop running on its main thread, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as thread:
        loop_thread = thread.submit(
            asyncio.run, asyncio.wait_for(refresh_once(), timeout=30)
        ).result()
    assert emptied_on == [loop_thread]
    assert blocklist.blocks("https://a.thread.example/")
