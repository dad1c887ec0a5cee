"""A local HTTP server standing in for GitHub's issue-comments REST API.

It keeps comments in memory and answers the three calls the PR workflow makes (list with
pagination, create, edit), refusing any request without the expected token, so the comment
poster is tested over real HTTP.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "test-token"
_LIST = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<pr>\d+)/comments$")
_EDIT = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/comments/(?P<id>\d+)$")


@dataclass
class FakeGitHub:
    """Comments per pull request, and every request seen as `METHOD path`."""

    url: str = ""
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    next_id: int = 1000

    def add_comment(self, pr: int, body: str) -> int:
        self.next_id += 1
        self.comments.setdefault(pr, []).append({"id": self.next_id, "body": body})
        return self.next_id


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads `state.requests` instead."""

        def do_GET(self) -> None:
            path = urlsplit(self.path)
            match = _LIST.match(path.path)
            if not self._authorized("GET", path.path) or not match:
                return
            query = parse_qs(path.query)
            per_page, page = int(query["per_page"][0]), int(query["page"][0])
            comments = state.comments.get(int(match["pr"]), [])
            self._reply(200, comments[(page - 1) * per_page : page * per_page])

        def do_POST(self) -> None:
            match = _LIST.match(self.path)
            if not self._authorized("POST", self.path) or not match:
                return
            comment_id = state.add_comment(int(match["pr"]), self._body()["body"])
            self._reply(201, {"id": comment_id})

        def do_PATCH(self) -> None:
            match = _EDIT.match(self.path)
            if not self._authorized("PATCH", self.path) or not match:
                return
            for comments in state.comments.values():
                for comment in comments:
                    if comment["id"] == int(match["id"]):
                        comment["body"] = self._body()["body"]
                        self._reply(200, comment)
                        return
            self._reply(404, {"message": "Not Found"})

        def _authorized(self, method: str, path: str) -> bool:
            state.requests.append(f"{method} {path}")
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(401, {"message": "Bad credentials"})
                return False
            return True

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            body: dict[str, Any] = json.loads(self.rfile.read(length))
            return body

        def _reply(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    """A running fake on a free loopback port, stopped on exit."""
    state = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
