"""The harness's own parts, checked without a fleet: the balancer config and the statistics."""

from __future__ import annotations

import subprocess
from pathlib import Path

from scripts.faults.haproxy import HealthCheck, haproxy_binary, render_config
from scripts.faults.load import percentile
from scripts.faults.processes import EPHEMERAL_RANGE, free_port


def test_rendered_haproxy_config_passes_haproxys_own_check(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        render_config(
            bind_host="127.0.0.1",
            port=free_port(),
            admin_socket=tmp_path / "admin.sock",
            servers={"s1": free_port(), "s2": free_port()},
            health_check=HealthCheck(),
        )
    )
    check = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.50), percentile(values, 0.99), percentile([], 0.99)) == (
        50.0,
        99.0,
        0.0,
    )


def test_free_ports_lie_below_the_ephemeral_range_outgoing_connections_use() -> None:
    ephemeral_start = int(EPHEMERAL_RANGE.read_text().split()[0])
    assert all(free_port() < ephemeral_start for _ in range(20))
