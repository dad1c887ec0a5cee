"""The canary: walks Spito's public URL the way a user does and reports whether it worked.

Each run creates a link, checks that the short link answers 302 to the target, creates a paste,
reads its raw bytes back, and deletes both with their delete tokens. Whatever fails, it still
tries to delete what it created. The outcome goes out as CloudWatch metrics in Embedded Metric
Format: one JSON line on stdout that CloudWatch Logs turns into metrics, so the function needs
no `cloudwatch:PutMetricData` permission and runs anywhere that can print.

Metrics (namespace `Spito/Canary`, dimension `FunctionName`): `Success` (1 or 0) and one
`<Step>Latency` in milliseconds per step that completed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, TypeVar
from urllib.parse import urlsplit

NAMESPACE = "Spito/Canary"
DIMENSION = "FunctionName"
USER_AGENT = "spito-canary/1"
# Short-lived on purpose: if a delete fails, the service's expiry still cleans up.
EXPIRES_IN_SECONDS = 600
# Where the canary's link points. The service never fetches a target, so nothing is requested.
TARGET_BASE = "https://example.com/spito-canary/"


class UnexpectedAnswerError(Exception):
    """A step got an answer other than the one a working Spito gives."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes


@dataclass
class Created:
    """What the run created, so it can be deleted whatever happens after."""

    kind: str
    id: str
    delete_token: str


@dataclass
class RunResult:
    latency_ms: dict[str, float] = field(default_factory=dict)
    failed_step: str | None = None
    error: str | None = None
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.failed_step is None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back to the caller: the redirect itself is what the canary checks."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """A minimal HTTP client over the standard library (the Lambda runtime has no httpx)."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"SPITO_CANARY_URL must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._opener = urllib.request.build_opener(_NoRedirect)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        data = None if json_body is None else json.dumps(json_body).encode()
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        # The scheme was checked in __init__: only http(s) reaches urlopen.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as answer:
                return Response(answer.status, _lower_keys(answer.headers), answer.read())
        except urllib.error.HTTPError as answer:
            # 3xx (not followed) and 4xx/5xx arrive here; they are answers, not transport errors.
            return Response(answer.code, _lower_keys(answer.headers), answer.read())
        except urllib.error.URLError as error:
            # Report the cause (refused, DNS, TLS, timeout) rather than urllib's wrapper.
            if isinstance(error.reason, OSError):
                raise error.reason from error
            raise


def _lower_keys(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Run every check once, print the metrics, and return a summary of the run."""
    client = Client(
        os.environ["SPITO_CANARY_URL"], float(os.environ.get("SPITO_CANARY_TIMEOUT_SECONDS", "5"))
    )
    result = run(client)
    print(json.dumps(metrics_document(result, os.environ["AWS_LAMBDA_FUNCTION_NAME"])), flush=True)
    return {
        "success": result.success,
        "failed_step": result.failed_step,
        "error": result.error,
        "latency_ms": result.latency_ms,
        "ids": result.ids,
    }


def run(client: Client) -> RunResult:
    """Run the checks in order, stop at the first failure, then delete whatever was created."""
    result = RunResult()
    nonce = secrets.token_urlsafe(12)
    target = TARGET_BASE + nonce
    # Multi-byte characters and surrounding whitespace prove the bytes come back untouched.
    content = f"  spito canary {nonce}\nünïcödé ✓ 🐤\r\n\ttrailing  \n"
    created: list[Created] = []
    try:
        link = _step(result, "CreateLink", _create_link, client, target)
        created.append(link)
        _step(result, "FollowLink", _follow_link, client, link.id, target)
        paste = _step(result, "CreatePaste", _create_paste, client, content)
        created.append(paste)
        _step(result, "ReadPaste", _read_paste, client, paste.id, content)
    except _StepFailedError:
        pass  # recorded in result; the deletes below still run
    for item in created:
        result.ids[item.kind] = item.id
        with contextlib.suppress(_StepFailedError):
            _step(result, f"Delete{item.kind.capitalize()}", _delete, client, item)
    return result


class _StepFailedError(Exception):
    """Raised by `_step` after it recorded a failure, to skip the checks that depend on it."""


_T = TypeVar("_T")
# OSError covers refused connections, DNS and TLS failures and timeouts; HTTPException a broken
# response; ValueError and KeyError an answer that isn't the JSON a working Spito sends.
_STEP_ERRORS = (UnexpectedAnswerError, OSError, http.client.HTTPException, ValueError, KeyError)


def _step(result: RunResult, name: str, check: Callable[..., _T], *args: object) -> _T:
    """Run one check, recording its latency on success and the first failure's step and error."""
    started = time.perf_counter()
    try:
        outcome = check(*args)
    except _STEP_ERRORS as error:
        message = f"{type(error).__name__}: {error}"
        _log("step_failed", step=name, error=message)
        if result.failed_step is None:
            result.failed_step, result.error = name, message
        raise _StepFailedError from error
    result.latency_ms[name] = round((time.perf_counter() - started) * 1000, 3)
    return outcome


def _create_link(client: Client, target: str) -> Created:
    answer = client.request(
        "POST", "/api/v1/links", json_body={"url": target, "expires_in": EXPIRES_IN_SECONDS}
    )
    body = _expect_json(answer, 201)
    return Created("link", str(body["id"]), str(body["delete_token"]))


def _follow_link(client: Client, link_id: str, target: str) -> None:
    answer = client.request("GET", f"/{link_id}")
    if answer.status != 302:
        raise UnexpectedAnswerError(f"GET /{link_id} answered {answer.status}, expected 302")
    location = answer.headers.get("location")
    if location != target:
        raise UnexpectedAnswerError(
            f"GET /{link_id} redirected to {location!r}, expected {target!r}"
        )


def _create_paste(client: Client, content: str) -> Created:
    answer = client.request(
        "POST", "/api/v1/pastes", json_body={"content": content, "expires_in": EXPIRES_IN_SECONDS}
    )
    body = _expect_json(answer, 201)
    return Created("paste", str(body["id"]), str(body["delete_token"]))


def _read_paste(client: Client, paste_id: str, content: str) -> None:
    answer = client.request("GET", f"/{paste_id}/raw")
    if answer.status != 200:
        raise UnexpectedAnswerError(f"GET /{paste_id}/raw answered {answer.status}, expected 200")
    if answer.body != content.encode():
        raise UnexpectedAnswerError(
            f"GET /{paste_id}/raw returned {len(answer.body)} bytes that differ from the "
            f"{len(content.encode())} bytes stored"
        )


def _delete(client: Client, item: Created) -> None:
    path = f"/api/v1/{item.kind}s/{item.id}"
    answer = client.request("DELETE", path, headers={"X-Delete-Token": item.delete_token})
    if answer.status != 204:
        raise UnexpectedAnswerError(f"DELETE {path} answered {answer.status}, expected 204")


def _expect_json(answer: Response, status: int) -> dict[str, Any]:
    if answer.status != status:
        raise UnexpectedAnswerError(
            f"answered {answer.status}, expected {status}: {answer.body[:200]!r}"
        )
    body = json.loads(answer.body)
    if not isinstance(body, dict):
        raise UnexpectedAnswerError(f"expected a JSON object, got {answer.body[:200]!r}")
    return body


def metrics_document(result: RunResult, function_name: str) -> dict[str, Any]:
    """The run as one Embedded Metric Format document (CloudWatch extracts the metrics)."""
    latencies = {f"{step}Latency": ms for step, ms in result.latency_ms.items()}
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": [{"Name": "Success", "Unit": "None"}]
                    + [{"Name": name, "Unit": "Milliseconds"} for name in latencies],
                }
            ],
        },
        DIMENSION: function_name,
        "Success": 1 if result.success else 0,
        **latencies,
        "failed_step": result.failed_step,
        "error": result.error,
        "ids": result.ids,
    }


def _log(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}, default=str), flush=True)
