"""Pastes: inline and in the blob bucket, raw reads, burn-after-reading, deletion."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.stack import free_port
from service.validation import SYNTAXES
from tests.service.helpers import assert_problem, create_paste, wait_alive

INLINE_LIMIT = 64 * 1024


def test_create_paste_answers_201_with_every_field(http: httpx.Client, base_url: str) -> None:
    response = http.post("/api/v1/pastes", json={"content": "héllo\n", "syntax": "python"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "url",
        "raw_url",
        "created_at",
        "expires_at",
        "size",
        "delete_token",
    }
    assert body["url"] == f"{base_url}/p/{body['id']}"
    assert body["raw_url"] == f"{base_url}/{body['id']}/raw"
    assert body["size"] == len("héllo\n".encode())  # bytes, not characters


def test_paste_reads_back_exactly_never_trimmed(http: httpx.Client) -> None:
    content = "  \n\tindented\r\nlast line without newline   "
    paste = create_paste(http, content, syntax="text")
    body = http.get(f"/api/v1/pastes/{paste['id']}").json()
    assert body["content"] == content
    assert body["syntax"] == "text"
    assert body["size"] == len(content.encode())
    assert body["burn_after_reading"] is False
    assert body["created_at"] == paste["created_at"]
    assert body["expires_at"] == paste["expires_at"]


def test_default_syntax_is_text(http: httpx.Client) -> None:
    paste = create_paste(http)
    assert http.get(f"/api/v1/pastes/{paste['id']}").json()["syntax"] == "text"


@pytest.mark.parametrize("syntax", ["brainfuck", "PYTHON", "<script>", ""])
def test_syntax_outside_the_allowlist_answers_400(http: httpx.Client, syntax: str) -> None:
    assert_problem(http.post("/api/v1/pastes", json={"content": "x", "syntax": syntax}), 400)


def test_every_allowlisted_syntax_is_accepted(http: httpx.Client) -> None:
    for syntax in SYNTAXES:
        create_paste(http, syntax=syntax)


def test_plain_text_body_creates_a_paste_and_answers_its_url(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/pastes", content=b"from curl\n", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("text/plain")
    url = response.text
    assert url.endswith("\n")
    assert url.count("\n") == 1
    assert response.headers["location"] == url.strip()
    paste_id = urlsplit(url.strip()).path.removeprefix("/p/")
    assert http.get(f"/{paste_id}/raw").content == b"from curl\n"


def test_curl_data_binary_without_a_content_type_creates_the_paste_as_sent(
    http: httpx.Client,
) -> None:
    # curl --data-binary @file sends the form type; the body must not be form-decoded.
    data = b"a=1&b=%20two+three\n\ttabbed line\n"
    response = http.post(
        "/api/v1/pastes",
        content=data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("text/plain")
    paste_id = urlsplit(response.text.strip()).path.removeprefix("/p/")
    assert http.get(f"/{paste_id}/raw").content == data


def test_plain_text_paste_can_be_deleted_with_the_header_token(http: httpx.Client) -> None:
    response = http.post("/api/v1/pastes", content=b"x", headers={"Content-Type": "text/plain"})
    paste_id = urlsplit(response.text.strip()).path.removeprefix("/p/")
    token = {"X-Delete-Token": response.headers["x-delete-token"]}
    assert http.delete(f"/api/v1/pastes/{paste_id}", headers=token).status_code == 204


def test_raw_answers_the_bytes_with_safe_headers(http: httpx.Client) -> None:
    content = "<script>alert(1)</script>\n€"
    paste = create_paste(http, content)
    response = http.get(f"/{paste['id']}/raw")
    assert response.status_code == 200
    assert response.content == content.encode()
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert response.headers["content-disposition"] == f'inline; filename="{paste["id"]}.txt"'


def test_following_a_paste_redirects_to_its_page(http: httpx.Client, base_url: str) -> None:
    paste = create_paste(http)
    response = http.get(f"/{paste['id']}")
    assert response.status_code == 302
    assert response.headers["location"] == f"{base_url}/p/{paste['id']}"


def test_empty_content_answers_400(http: httpx.Client) -> None:
    assert_problem(http.post("/api/v1/pastes", json={"content": ""}), 400)
    assert_problem(
        http.post("/api/v1/pastes", content=b"", headers={"Content-Type": "text/plain"}), 400
    )


def test_invalid_utf8_answers_400(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/pastes", content=b"\xff\xfe bad", headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 400)


def test_lone_surrogate_in_json_answers_400(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/pastes",
        content=b'{"content": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400)


def test_paste_over_64_kib_is_stored_in_the_bucket_and_streamed_back(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str, local_stack: Any
) -> None:
    content = ("0123456789abcdef" * 4096 + "é") * 3  # ~196 KiB
    paste = create_paste(http, content)
    item = aws_client("dynamodb").get_item(TableName=spito_table, Key={"id": {"S": paste["id"]}})
    assert "content" not in item["Item"]
    blob_key = item["Item"]["blob_key"]["S"]
    assert blob_key.startswith(f"pastes/{paste['id']}/")
    stored = aws_client("s3").get_object(Bucket=local_stack.storage.bucket, Key=blob_key)
    assert stored["Body"].read() == content.encode()
    assert http.get(f"/{paste['id']}/raw").content == content.encode()
    assert http.get(f"/api/v1/pastes/{paste['id']}").json()["content"] == content


def test_paste_of_exactly_64_kib_stays_inline(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    paste = create_paste(http, "a" * INLINE_LIMIT)
    item = aws_client("dynamodb").get_item(TableName=spito_table, Key={"id": {"S": paste["id"]}})
    assert "blob_key" not in item["Item"]
    assert paste["size"] == INLINE_LIMIT


def test_deleting_a_large_paste_removes_its_blob(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str, local_stack: Any
) -> None:
    paste = create_paste(http, "b" * (INLINE_LIMIT + 1))
    item = aws_client("dynamodb").get_item(TableName=spito_table, Key={"id": {"S": paste["id"]}})
    blob_key = item["Item"]["blob_key"]["S"]
    token = {"X-Delete-Token": paste["delete_token"]}
    assert http.delete(f"/api/v1/pastes/{paste['id']}", headers=token).status_code == 204
    listing = aws_client("s3").list_objects_v2(Bucket=local_stack.storage.bucket, Prefix=blob_key)
    assert listing.get("KeyCount", 0) == 0
    assert_problem(http.get(f"/{paste['id']}/raw"), 404)


def test_paste_over_the_maximum_answers_413(start_service: Callable[..., Any]) -> None:
    service = start_service(SPITO_PASTE_MAX_BYTES="1000")
    assert create_at(service.url, "x" * 1000).status_code == 201
    assert assert_problem(create_at(service.url, "x" * 1001), 413)["field"] == "content"
    plain = httpx.post(
        f"{service.url}/api/v1/pastes", content=b"x" * 1001, headers={"Content-Type": "text/plain"}
    )
    assert assert_problem(plain, 413)["field"] == "content"


def test_inline_limit_comes_from_the_settings(
    start_service: Callable[..., Any], aws_client: Callable[[str], Any], spito_table: str
) -> None:
    service = start_service(SPITO_PASTE_INLINE_MAX_BYTES="100")
    for size, in_bucket in ((100, False), (101, True)):
        paste = create_at(service.url, "i" * size).json()
        key = {"id": {"S": paste["id"]}}
        item = aws_client("dynamodb").get_item(TableName=spito_table, Key=key)["Item"]
        assert ("blob_key" in item, "content" in item) == (in_bucket, not in_bucket)
        assert httpx.get(f"{service.url}/{paste['id']}/raw").content == b"i" * size


def test_json_body_over_the_cap_answers_413_whatever_its_content(
    start_service: Callable[..., Any],
) -> None:
    # Cap: 3 x 1000 bytes of content + 64 KiB for the rest of the document.
    service = start_service(SPITO_PASTE_MAX_BYTES="1000")
    padded = b'{"content": "x"' + b" " * (3 * 1000 + 64 * 1024) + b"}"
    response = httpx.post(
        f"{service.url}/api/v1/pastes",
        content=padded,
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 413)


def create_at(url: str, content: str) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/pastes", json={"content": content})


def test_body_cap_is_enforced_while_streaming(start_service: Callable[..., Any]) -> None:
    """A chunked body that never ends is refused once past the cap, not read to its end."""
    service = start_service(SPITO_PASTE_MAX_BYTES="1000")
    host, port = urlsplit(service.url).hostname, urlsplit(service.url).port
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/pastes HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 500
        for _ in range(4):  # 2000 bytes sent, and the body is never terminated
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_declared_length_over_the_cap_is_refused_before_reading(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(SPITO_PASTE_MAX_BYTES="1000")
    host, port = urlsplit(service.url).hostname, urlsplit(service.url).port
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/pastes HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 1000000\r\n\r\n"
        )
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


# Burn after reading


def test_burn_paste_metadata_hides_content_and_does_not_burn(http: httpx.Client) -> None:
    paste = create_paste(http, "secret", burn_after_reading=True)
    for _ in range(2):
        body = http.get(f"/api/v1/pastes/{paste['id']}").json()
        assert body["content"] is None
        assert body["burn_after_reading"] is True


def test_following_a_burn_paste_link_does_not_burn_it(http: httpx.Client) -> None:
    # What a chat app's link preview does: follow the short link, fetch the page.
    paste = create_paste(http, "secret", burn_after_reading=True)
    assert http.get(f"/{paste['id']}").status_code == 302
    assert http.get(f"/api/v1/pastes/{paste['id']}").status_code == 200
    assert http.post(f"/api/v1/pastes/{paste['id']}/open").json()["content"] == "secret"


def test_raw_of_a_burn_paste_answers_409(http: httpx.Client) -> None:
    paste = create_paste(http, "secret", burn_after_reading=True)
    assert_problem(http.get(f"/{paste['id']}/raw"), 409)


def test_open_returns_the_content_once_then_404(http: httpx.Client) -> None:
    paste = create_paste(http, "secret\n", burn_after_reading=True)
    first = http.post(f"/api/v1/pastes/{paste['id']}/open")
    assert first.status_code == 200
    assert first.json()["content"] == "secret\n"
    assert_problem(http.post(f"/api/v1/pastes/{paste['id']}/open"), 404)
    assert_problem(http.get(f"/api/v1/pastes/{paste['id']}"), 404)


def test_concurrent_opens_deliver_the_paste_exactly_once(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        paste = create_paste(client, "only once", burn_after_reading=True)
    statuses: list[int] = []

    def open_paste() -> None:
        with httpx.Client(base_url=base_url) as client:
            statuses.append(client.post(f"/api/v1/pastes/{paste['id']}/open").status_code)

    threads = [threading.Thread(target=open_paste) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [404] * 7


def test_opening_a_large_burn_paste_returns_it_and_removes_its_blob(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str, local_stack: Any
) -> None:
    content = "z" * (INLINE_LIMIT * 2)
    paste = create_paste(http, content, burn_after_reading=True)
    item = aws_client("dynamodb").get_item(TableName=spito_table, Key={"id": {"S": paste["id"]}})
    blob_key = item["Item"]["blob_key"]["S"]
    assert http.post(f"/api/v1/pastes/{paste['id']}/open").json()["content"] == content
    listing = aws_client("s3").list_objects_v2(Bucket=local_stack.storage.bucket, Prefix=blob_key)
    assert listing.get("KeyCount", 0) == 0


def test_opening_a_large_burn_paste_while_the_bucket_is_down_keeps_it(
    http: httpx.Client, start_service: Callable[..., Any]
) -> None:
    # An instance whose bucket does not answer, on the same table as the others.
    cut_off = start_service(wait_ready=False, SPITO_S3_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    wait_alive(cut_off.url)
    content = "large secret " * (INLINE_LIMIT // 10)
    paste = create_paste(http, content, burn_after_reading=True)
    response = httpx.post(f"{cut_off.url}/api/v1/pastes/{paste['id']}/open")
    assert_problem(response, 503)
    assert http.get(f"/api/v1/pastes/{paste['id']}").json()["burn_after_reading"] is True
    assert http.post(f"/api/v1/pastes/{paste['id']}/open").json()["content"] == content
    assert_problem(http.post(f"/api/v1/pastes/{paste['id']}/open"), 404)


def test_open_of_a_normal_paste_answers_409_and_keeps_it(http: httpx.Client) -> None:
    paste = create_paste(http, "kept")
    assert_problem(http.post(f"/api/v1/pastes/{paste['id']}/open"), 409)
    assert http.get(f"/{paste['id']}/raw").content == b"kept"


def test_delete_paste_needs_its_token(http: httpx.Client) -> None:
    paste = create_paste(http)
    path = f"/api/v1/pastes/{paste['id']}"
    assert_problem(http.delete(path), 403)
    assert_problem(http.delete(path, headers={"X-Delete-Token": "nope"}), 403)
    assert http.delete(path, headers={"X-Delete-Token": paste["delete_token"]}).status_code == 204
    assert_problem(http.get(path), 404)
    assert_problem(http.get(f"/{paste['id']}/raw"), 404)
    assert_problem(http.get(f"/{paste['id']}"), 404)


def test_paste_ids_are_not_links(http: httpx.Client) -> None:
    paste = create_paste(http)
    assert_problem(http.get(f"/api/v1/links/{paste['id']}"), 404)
    assert_problem(
        http.delete(
            f"/api/v1/links/{paste['id']}", headers={"X-Delete-Token": paste["delete_token"]}
        ),
        404,
    )


def test_paste_expiry_defaults_to_seven_days(http: httpx.Client) -> None:
    paste = create_paste(http)
    assert paste["expires_at"] == paste["created_at"] + 7 * 86400


def test_paste_expires_in_sets_expires_at(http: httpx.Client) -> None:
    paste = create_paste(http, expires_in=60)
    assert paste["expires_at"] == paste["created_at"] + 60


def test_paste_expires_in_below_the_minimum_answers_400(http: httpx.Client) -> None:
    assert_problem(http.post("/api/v1/pastes", json={"content": "x", "expires_in": 10}), 400)


@pytest.mark.parametrize("burn", [False, True])
def test_expired_paste_answers_404_on_every_route_before_ttl_deletion(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str, burn: bool
) -> None:
    paste_id = f"expired-paste-{burn}".lower()
    aws_client("dynamodb").put_item(
        TableName=spito_table,
        Item={
            "id": {"S": paste_id},
            "kind": {"S": "paste"},
            "syntax": {"S": "text"},
            "size": {"N": "3"},
            "burn_after_reading": {"BOOL": burn},
            "content": {"S": "old"},
            "created_at": {"N": str(int(time.time()) - 100)},
            "expires_at": {"N": str(int(time.time()) - 1)},
            "delete_token_hash": {"S": hashlib.sha256(b"token").hexdigest()},
        },
    )
    for response in (
        http.get(f"/{paste_id}"),
        http.get(f"/{paste_id}/raw"),
        http.get(f"/api/v1/pastes/{paste_id}"),
        http.post(f"/api/v1/pastes/{paste_id}/open"),
        http.delete(f"/api/v1/pastes/{paste_id}", headers={"X-Delete-Token": "token"}),
    ):
        assert_problem(response, 404)
