"""The HTTP server's own answers: a request its parser rejects gets problem JSON too.

uvicorn parses requests with httptools and answers those it cannot parse (a malformed request
line or header, a bad Content-Length, a method llhttp does not know) with a plain-text 400
before the app ever runs. `ProblemHttpToolsProtocol` makes that answer problem JSON, like every
other error. It overrides `send_400_response`, which is not uvicorn's public API:
tests/service/test_protocol.py pins the behaviour, so an upgrade that changes it fails there.

It also refuses a request with more than one Host header, as RFC 9112 section 3.2 requires:
two proxies could each route on a different one. An exception raised in an httptools callback
fails the parse (httptools raises HttpParserCallbackError, an HttpParserError), so uvicorn
answers it through `send_400_response` like any malformed request.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.problems import PROBLEM_CONTENT_TYPE, Problem

_MALFORMED = Problem(
    400,
    "The HTTP request is malformed (request line, headers or framing).",
    slug="malformed-request",
).body()


class _SecondHostHeaderError(ValueError):
    """A request carried two Host headers."""


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering unparseable requests with a 400 problem."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._seen_host = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"host":
            if self._seen_host:
                raise _SecondHostHeaderError
            self._seen_host = True
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        # The parser's state is unknown after an error: answer, then close the connection.
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head += [b"%s: %s\r\n" % header for header in self.server_state.default_headers]
        head += [
            b"content-type: " + PROBLEM_CONTENT_TYPE.encode() + b"\r\n",
            b"content-length: " + str(len(_MALFORMED)).encode() + b"\r\n",
            b"cache-control: no-store\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + _MALFORMED)
        self.transport.close()
