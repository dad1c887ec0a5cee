"""`python -m service`: serve Spito with uvicorn, as on every EC2 instance and in `make dev`."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import uvicorn

from service.http_server import ProblemHttpToolsProtocol
from service.settings import Settings, SettingsError


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"spito: {error}", file=sys.stderr)
        return 2
    # uvicorn drains on SIGTERM, then re-raises the signal under the handler it found: make
    # that handler a clean exit, so a drained shutdown ends with status 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=settings.bind_host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http=ProblemHttpToolsProtocol,  # httptools, with problem JSON for unparseable requests
        lifespan="on",
        access_log=False,  # the app writes its own JSON line per request
        log_config=None,  # keep the JSON logging configured above
        proxy_headers=False,  # client addresses come from SPITO_CLIENT_IP_POSITION only
        server_header=False,
        timeout_graceful_shutdown=settings.drain_seconds,
        timeout_keep_alive=settings.keep_alive_seconds,
    )
    return 0


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
