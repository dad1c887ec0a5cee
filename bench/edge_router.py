"""`make bench` for `make dev`'s local edge router: its rate against the service's own, same run.

`GET /{id}` of an existing link (answered from the service's redirect cache) with wrk, through
the edge router on the public port (devstack/edge_router.py) and straight from the service
behind it, alternating round by round with the same connections and duration. The router
shares the service's CPU (the stack gets one core, wrk the other), so the ratio is the share
of the work per request that is the service's: at 1.00 the router would cost nothing. Issue 14
asks for at least `ROUTER_TARGET`, so a local load test, or the web app, measures the service
and not the router.

Prints the ratio and rewrites the edge router section of docs/BENCHMARKS.md with the machine.
Needs wrk and nginx (`make bench` installs them) and web/dist (`make bench` builds it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.service import (
    BENCH_SETTINGS,
    LOAD_CPU,
    SERVER_CPU,
    TARGET_URL,
    WrkResult,
    machine,
    post_json,
    record,
    run_wrk,
)
from devstack.stack import ROOT, LocalStack

WEB_DIST = ROOT / "web" / "dist"
ROUTER_TARGET = 0.3
SECTION_START = "<!-- edge-bench:start -->"
SECTION_END = "<!-- edge-bench:end -->"


def measure(*, rounds: int, connections: int, seconds: int) -> list[tuple[WrkResult, WrkResult]]:
    """(through the router, the service alone) for each round, on one stack."""
    runs: list[tuple[WrkResult, WrkResult]] = []
    with tempfile.TemporaryDirectory(prefix="spito-bench-edge-") as tmp:
        work_dir = Path(tmp)
        stack = LocalStack(
            data_dir=work_dir / "stack",
            service_settings=BENCH_SETTINGS,
            service_log=work_dir / "service.log",
            web_dist=WEB_DIST,  # the edge router on the public port, as in `make dev`
        )
        with stack:
            assert stack.router is not None  # given web_dist
            for pid in (stack.service.pid, stack.router.pid):
                if pid is not None:  # both on one CPU: one uvicorn worker, one nginx process
                    os.sched_setaffinity(pid, {SERVER_CPU})
            status, link = post_json(
                stack.service.url.removeprefix("http://"), "/api/v1/links", {"url": TARGET_URL}
            )
            if status != 201:
                raise RuntimeError(f"could not create the benchmark link: {status} {link}")
            routed_url = f"{stack.base_url}/{link['id']}"
            direct_url = f"{stack.service.url}/{link['id']}"
            for url in (routed_url, direct_url):  # warm-up: cache, connections
                run_wrk(url, connections=connections, seconds=1)
            # Alternating, so a change in the machine's load hits both alike.
            for _ in range(rounds):
                routed = run_wrk(routed_url, connections=connections, seconds=seconds)
                direct = run_wrk(direct_url, connections=connections, seconds=seconds)
                runs.append((routed, direct))
    return runs


def _ratio(pair: tuple[WrkResult, WrkResult]) -> float:
    return pair[0].requests_per_second / pair[1].requests_per_second


def _row(routed: WrkResult, direct: WrkResult, ratio: float) -> str:
    return (
        f"| `GET /{{id}}` (cached link) | {routed.requests_per_second:,.0f} req/s, "
        f"p99 {routed.p99_ms:.2f} ms | {direct.requests_per_second:,.0f} req/s, "
        f"p99 {direct.p99_ms:.2f} ms | {ratio:.2f} | >= {ROUTER_TARGET} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=7, help="alternating runs; median kept")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--no-record", action="store_true", help="do not edit BENCHMARKS.md")
    args = parser.parse_args()

    runs = measure(rounds=args.rounds, connections=args.connections, seconds=args.seconds)
    routed, direct = sorted(runs, key=_ratio)[len(runs) // 2]
    ratio = _ratio((routed, direct))
    spread = ", ".join(f"{_ratio(pair):.2f}" for pair in runs)
    print(
        f"edge router GET /{{id}}: through make dev's router {routed.requests_per_second:,.0f} "
        f"req/s (p99 {routed.p99_ms:.2f} ms) vs the service alone "
        f"{direct.requests_per_second:,.0f} req/s (p99 {direct.p99_ms:.2f} ms): "
        f"router-to-service ratio {ratio:.2f} (target >= {ROUTER_TARGET}; rounds: {spread})"
    )
    if not args.no_record:
        record(
            f"""
## Local edge router

Measured by `make bench` (`python -m bench.edge_router`) on
{time.strftime("%Y-%m-%d", time.gmtime())}, machine: {machine()}; 1-minute load average
{os.getloadavg()[0]:.1f} at the end. `make dev`'s stack (devstack/stack.py) with its edge router
(nginx configured from the routing table, devstack/edge_router.py) on the public port; the
router's nginx process and the service's one uvicorn worker both pinned to CPU {SERVER_CPU},
wrk pinned to CPU {LOAD_CPU}, 1 thread, {args.connections} connections. Through the router and
straight from the service alternate for {args.rounds} rounds of {args.seconds} s each, after a
1 s warm-up, and the round with the median ratio is shown.

| benchmark | through the router | the service alone | ratio | target |
| --- | --- | --- | --- | --- |
{_row(routed, direct, ratio)}

Ratios of every round: {spread}.

Reading the numbers: the router shares the service's core, so the ratio is the service's
share of the work per request (at 1.00 the router would cost nothing; a round above 1.00 is the
shared machine's noise). The Python proxy it replaces (Starlette and httpx) ran at 0.011 and
0.015 of the service in two runs of the same wrk on this machine (2026-12-04); nginx proxies
over kept-alive connections and serves the web app's files itself. The machine is shared, so
rounds spread; the median round is the figure.
""",
            start=SECTION_START,
            end=SECTION_END,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
