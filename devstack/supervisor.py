"""`make dev`: Spito on http://127.0.0.1:$PORT with data under .local/, until Ctrl-C.

SPITO_DEV_DATA_DIR puts the data elsewhere (the test of `make dev` uses a temporary one).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

from devstack.stack import LOOPBACK, ROOT, LocalStack

DEFAULT_DATA_DIR = ROOT / ".local"
WEB_DIST = ROOT / "web" / "dist"  # built by `make web`, which `make dev` runs first


def main() -> int:
    port = int(os.environ.get("PORT", "8080"))
    data_dir = Path(os.environ.get("SPITO_DEV_DATA_DIR") or DEFAULT_DATA_DIR)
    # Short URLs name where Spito really is, never what a request's Host header claims.
    public_url = {"SPITO_PUBLIC_URL": f"http://{LOOPBACK}:{port}"}
    stack = LocalStack(
        data_dir=data_dir, public_port=port, web_dist=WEB_DIST, service_settings=public_url
    )

    def stop(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Both explicitly: a shell that starts `make dev` in the background ignores SIGINT.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        stack.start()
        print(f"Spito is serving {stack.base_url} (data in {data_dir}); Ctrl-C stops it.")
        sys.stdout.flush()
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping Spito...", file=sys.stderr)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
