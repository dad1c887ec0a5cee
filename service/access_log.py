"""Logging as JSON lines on stdout: one line per request, plus the service's own events.

Request lines carry method, route template, status, latency and request id, and never a
client address. They are written to stdout's buffer and flushed by a background task, so the
hot path does no system call per request.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time

REQUEST_ID_BYTES = 8  # 64 random bits: unique enough to find one request in the logs
IDS_PER_DRAW = 512


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # botocore reports at INFO where it found credentials, on every client: noise.
    logging.getLogger("botocore").setLevel(logging.WARNING)


class RequestLog:
    """One per worker process (each builds its own app after the fork, so no two workers ever
    share a draw of random ids)."""

    def __init__(self) -> None:
        self._ids = ""
        self._next = 0

    def new_request_id(self) -> str:
        """16 random hex digits: a counter or a per-process part would tell clients how busy
        Spito is and how many workers it runs. Drawn from the OS `IDS_PER_DRAW` at a time: one
        system call per that many requests instead of one per request on the hot path."""
        if self._next >= len(self._ids):
            self._ids = secrets.token_hex(REQUEST_ID_BYTES * IDS_PER_DRAW)
            self._next = 0
        start = self._next
        self._next = start + 2 * REQUEST_ID_BYTES
        return self._ids[start : self._next]

    @staticmethod
    def write(method: str, route: str, status: int, started: float, request_id: str) -> None:
        # Every value is either ours or an HTTP token (the parser rejects quotes and control
        # characters in methods), so the line is built without a JSON encoder.
        latency_ms = (time.perf_counter() - started) * 1000
        sys.stdout.write(
            f'{{"time":{time.time():.3f},"method":"{method}","route":"{route}",'
            f'"status":{status},"latency_ms":{latency_ms:.3f},"request_id":"{request_id}"}}\n'
        )

    @staticmethod
    def write_redirect(started: float, request_id: str) -> None:
        """`write` for the hot path's cached redirect, with its constant fields pre-formatted."""
        latency_ms = (time.perf_counter() - started) * 1000
        sys.stdout.write(
            f'{{"time":{time.time():.3f},"method":"GET","route":"/{{id}}","status":302,'
            f'"latency_ms":{latency_ms:.3f},"request_id":"{request_id}"}}\n'
        )

    @staticmethod
    def flush() -> None:
        sys.stdout.flush()
