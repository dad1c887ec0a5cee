"""Marks every answer of the service `no-store` unless its handler chose a Cache-Control itself.

CloudFront's API behaviours use a cache policy that caches (it must, for CloudFront to normalize
Accept-Encoding into the cache key and compress answers: "Serving compressed files", CloudFront
Developer Guide), with a default TTL of 0, so an answer that says nothing is not kept. Errors are
the exception: CloudFront keeps a 4xx/5xx that has no Cache-Control for the error caching minimum
TTL, 10 s by default ("How CloudFront processes HTTP 4xx and 5xx status codes from your origin",
same guide). Every answer of this service is per request (click counts, burn after reading,
delete tokens, HTML or JSON by Accept), so rather than rely on each handler remembering, this
layer adds `Cache-Control: no-store` to any response that has no Cache-Control of its own:
"If the origin returns no-store ... CloudFront doesn't cache the object" ("Manage how long
content stays in the cache (expiration)", same guide). infra/distribution.py holds the policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = (b"cache-control", b"no-store")


def never_cached_unless_marked(app: ASGIApp) -> ASGIApp:
    """`app`, with `Cache-Control: no-store` on each response that sets no Cache-Control."""

    async def marked(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == NO_STORE[0] for name, _ in headers):
                    message["headers"] = [*headers, NO_STORE]
            await send(message)

        await app(scope, receive, send_marked)

    return marked
