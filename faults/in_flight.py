"""A create that is in flight for certain, for as long as the harness wants: scenario 3 SIGTERMs
an instance while it is.

It is a paste POSTed straight to an instance over a raw socket with `Expect: 100-continue`.
uvicorn answers `100 Continue` only when the application starts reading the body, so once that
line has arrived the request is inside the service's handler. Half the body follows at once,
the other half only when `finish` is called: until then the handler waits for it.

Used by scenario 3 in faults/scenarios.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets

from faults.load import REQUEST_TIMEOUT_SECONDS, AckedWrite, paste_content

LOOPBACK = "127.0.0.1"
PASTE_BYTES = 2000


class InFlightCreate:
    """`await begin()`, do something to the instance, then `await finish()` for the answer."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._content = paste_content(secrets.token_hex(8), PASTE_BYTES)
        self._body = json.dumps({"content": self._content}).encode()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._failure: str | None = None
        self.acked: AckedWrite | None = None

    async def begin(self) -> None:
        """Send the headers, wait for 100 Continue, then send the first half of the body."""
        head = (
            f"POST /api/v1/pastes HTTP/1.1\r\nHost: {LOOPBACK}:{self._port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(self._body)}\r\n"
            "Expect: 100-continue\r\n\r\n"
        )
        try:
            reader, writer = await asyncio.open_connection(LOOPBACK, self._port)
            self._streams = reader, writer
            writer.write(head.encode())
            await writer.drain()
            status, _ = await asyncio.wait_for(_read_head(reader), REQUEST_TIMEOUT_SECONDS)
            if status != 100:
                self._failure = f"{status} instead of 100 Continue"
                return
            writer.write(self._body[: len(self._body) // 2])
            await writer.drain()
        except (OSError, EOFError, TimeoutError, ValueError) as error:
            self._failure = f"{type(error).__name__} before the body"

    async def finish(self) -> str:
        """Send the rest of the body; the answer's status, or what went wrong instead.

        A 201 is acknowledged in `acked`, to be read back like every other acknowledged write.
        """
        if self._failure is not None or self._streams is None:
            await self._close()
            return self._failure or "never begun"
        reader, writer = self._streams
        try:
            writer.write(self._body[len(self._body) // 2 :])
            await writer.drain()
            status, headers = await asyncio.wait_for(_read_head(reader), REQUEST_TIMEOUT_SECONDS)
            length = int(headers.get("content-length", "0"))
            answer = await asyncio.wait_for(reader.readexactly(length), REQUEST_TIMEOUT_SECONDS)
        except (OSError, EOFError, TimeoutError, ValueError) as error:
            return type(error).__name__
        finally:
            await self._close()
        if status == 201:
            digest = hashlib.sha256(self._content.encode()).hexdigest()
            self.acked = AckedWrite(id=json.loads(answer)["id"], kind="paste", expected=digest)
        return str(status)

    async def _close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            writer.close()
            with contextlib.suppress(OSError):  # the instance already hung up: closed anyway
                await writer.wait_closed()
            self._streams = None


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status and headers (names lower-cased) of the next answer on the connection."""
    status_line = await reader.readuntil(b"\r\n")
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError(f"not an HTTP status line: {status_line!r}")
    headers = {}
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers
