"""`make dev`: Spito on http://127.0.0.1:$PORT with data under .local/, until Ctrl-C.

SPITO_DEV_DATA_DIR puts the data elsewhere (the tests of `make dev` use temporary ones).

Ctrl-C, SIGTERM and SIGHUP (a closed terminal) stop the parts in order: the router, the service
(it finishes requests in flight and saves its click counts), storage. Another Ctrl-C while it
stops kills the router and the service at once (requests in flight are cut off, clicks of the
last few seconds are not counted; links and pastes are stored before they are acknowledged), and
storage then stops as always. If this process dies without stopping them (kill -9, the OOM
killer), its parts stop with it (devstack/lifeline.py), and the next `make dev` takes over
(devstack/datadir.py). What a user can cause ends with one message and a non-zero status,
never a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

from devstack.errors import StackError
from devstack.stack import LOOPBACK, ROOT, LocalStack

DEFAULT_DATA_DIR = ROOT / ".local"
WEB_DIST = ROOT / "web" / "dist"  # built by `make web`, which `make dev` runs first
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(BaseException):  # not an error: nothing may catch it on the way
    """The first stop signal: unwinds whatever the main thread is doing to the stop."""


def say(message: str) -> None:
    """One line to the terminal, if there is one still: after SIGHUP writes to it fail."""
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:
        # Send everything after this (Python's own flush at exit included) nowhere, so a
        # closed terminal is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)


def _port() -> int | None:
    raw = os.environ.get("PORT", "8080")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 65536 else None


def main() -> int:
    port = _port()
    if port is None:
        say(f"make dev: PORT must be a port number (1-65535), not {os.environ['PORT']!r}")
        return 2
    data_dir = Path(os.environ.get("SPITO_DEV_DATA_DIR") or DEFAULT_DATA_DIR)
    # Short URLs name where Spito really is, never what a request's Host header claims.
    public_url = {"SPITO_PUBLIC_URL": f"http://{LOOPBACK}:{port}"}
    stack = LocalStack(
        data_dir=data_dir, public_port=port, web_dist=WEB_DIST, service_settings=public_url
    )
    stopping = False

    def on_stop_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise StopRequested
        say("Stopping now: requests in flight are cut off.")
        stack.stop_now()

    # Explicitly, SIGINT too: a shell that starts `make dev` in the background ignores it.
    for sig in STOP_SIGNALS:
        signal.signal(sig, on_stop_signal)
    try:
        stack.start()
        if stack.leftovers_stopped:
            pids = ", ".join(map(str, stack.leftovers_stopped))
            say(f"Stopped what an earlier make dev left running on {data_dir} (PIDs {pids}).")
        say(f"Spito is serving {stack.base_url} (data in {data_dir}); Ctrl-C stops it.")
        while True:
            signal.pause()
    except StackError as error:  # start() has stopped whatever it started
        stopping = True  # a Ctrl-C now has nothing left to stop
        say(f"make dev: {error}")
        return 1
    except StopRequested:
        stopping = True  # a signal during the stop below kills at once
        say("Stopping Spito...")
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
