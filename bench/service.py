"""`make bench` for the service: two ratios, each against a baseline measured in the same run.

1. Hot path: `GET /{id}` of an existing link (answered from the redirect cache) with wrk,
   against nginx answering a static 302, one worker each, same connections and duration. A
   do-nothing ASGI app on the same uvicorn (bench/bare_app.py) is measured alongside,
   so the report shows how much of the gap is the Python server and how much is Spito.
2. Creates/s: `POST /api/v1/links` through the service against dynalite, against a raw boto3
   `put_item` loop on the same dynalite; both driven by the same number of client threads.

Prints both ratios and rewrites the service section of docs/BENCHMARKS.md with the machine.
Needs wrk and nginx (`make bench` installs them).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import boto3
from botocore.config import Config

from devstack import lifeline
from devstack.stack import (
    LOCAL_CREDENTIALS,
    LOCAL_REGION,
    LOOPBACK,
    ROOT,
    LocalStack,
    free_port,
)

BENCHMARKS_MD = ROOT / "docs" / "BENCHMARKS.md"
SECTION_START = "<!-- service-bench:start -->"
SECTION_END = "<!-- service-bench:end -->"
HOT_PATH_TARGET = 0.25
CREATE_TARGET = 0.7
BARE_TARGET = 0.75  # issue 13: a person's cached click against the do-nothing ASGI app
TARGET_URL = "https://example.com/benchmark/target"
# Every wrk request is a person's click: a desktop browser's User-Agent, sent to all three
# servers alike, so Spito's hot path includes classifying it (and finding it human).
HUMAN_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
BENCH_SETTINGS = {
    "SPITO_RATE_LIMIT_BURST": "1000000",
    "SPITO_RATE_LIMIT_PER_MINUTE": "1000000",
    "SPITO_LOG_LEVEL": "WARNING",
}
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
  uwsgi_temp_path {dir}; scgi_temp_path {dir};
  server {{
    listen {host}:{port};
    location / {{
      add_header Cache-Control "private, no-store, max-age=0" always;
      return 302 {target};
    }}
  }}
}}
"""


# The server under test (nginx or Spito) and wrk each get a CPU of their own, so the load
# generator does not steal the server's core; both servers are measured the same way.
SERVER_CPU = 0
LOAD_CPU = 1
PROCESSES = max(2, os.cpu_count() or 1)  # client processes for the create benchmark


def _pin(cpu: int) -> Callable[[], None] | None:
    """A preexec_fn pinning the child to `cpu`, or None on a single-CPU machine."""
    if (os.cpu_count() or 1) < 2:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p99_ms: float


def run_wrk(url: str, *, connections: int, seconds: int) -> WrkResult:
    # wrk from the Debian package, on PATH; the URL is built by this script.
    output = subprocess.run(  # noqa: S603
        [
            *("wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"),
            *("-H", f"User-Agent: {HUMAN_USER_AGENT}", url),
        ],
        check=True,
        capture_output=True,
        text=True,
        preexec_fn=_pin(LOAD_CPU),
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    if not rps or not p99:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    if re.search(r"Non-2xx or 3xx responses", output):
        raise RuntimeError(f"wrk saw error responses:\n{output}")
    return WrkResult(float(rps.group(1)), float(p99.group(1)) * scale)


@contextlib.contextmanager
def running_nginx(work_dir: Path) -> Iterator[str]:
    """nginx with one worker answering every path with a static 302; yields its URL."""
    port = free_port()
    conf = work_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=work_dir, host=LOOPBACK, port=port, target=TARGET_URL))
    # Through lifeline: stopped if the benchmark dies (its master stops its worker).
    nginx = lifeline.spawn(
        [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-p", str(work_dir)],
        preexec=_pin(SERVER_CPU),  # its worker process inherits the affinity
    )
    try:
        url = f"http://{LOOPBACK}:{port}/x"
        _wait_http(url)
        yield url
    finally:
        nginx.terminate()
        nginx.wait()


@contextlib.contextmanager
def running_bare_asgi(work_dir: Path) -> Iterator[str]:
    """bench/bare_app.py under uvicorn with Spito's server options; yields its URL."""
    port = free_port()
    server = lifeline.spawn(
        [
            *(sys.executable, "-m", "uvicorn", "bench.bare_app:app"),
            *("--host", LOOPBACK, "--port", str(port), "--loop", "uvloop"),
            *("--http", "httptools", "--no-access-log", "--no-server-header"),
            *("--log-level", "warning"),
        ],
        cwd=ROOT,
        stdout=(work_dir / "bare.log").open("wb"),
        stderr=subprocess.STDOUT,
        preexec=_pin(SERVER_CPU),
    )
    try:
        url = f"http://{LOOPBACK}:{port}/x"
        _wait_http(url)
        yield url
    finally:
        server.terminate()
        server.wait()


def _median_run(runs: list[tuple[WrkResult, WrkResult]]) -> tuple[WrkResult, WrkResult]:
    """The round whose Spito/baseline ratio is the median."""
    ordered = sorted(
        runs, key=lambda pair: pair[0].requests_per_second / pair[1].requests_per_second
    )
    return ordered[len(ordered) // 2]


def _wait_http(url: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(url.split("/")[2], timeout=1)
            connection.request("GET", "/" + url.split("/", 3)[3])
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def post_json(host: str, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def rate_with_threads(
    make_worker: Callable[[], Callable[[], None]], *, threads: int, seconds: float
) -> float:
    """Operations per second by `threads` threads, each calling its own worker in a loop."""
    counts = [0] * threads
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop(index: int) -> None:
        work = make_worker()
        try:
            while not stop.is_set():
                work()
                counts[index] += 1
        except BaseException as error:  # reported after the run
            errors.append(error)
            stop.set()

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"a benchmark thread failed: {errors[0]!r}")
    return sum(counts) / elapsed


def service_creator(host: str) -> Callable[[], None]:
    connection = http.client.HTTPConnection(host, timeout=10)
    body = json.dumps({"url": TARGET_URL})
    headers = {"Content-Type": "application/json"}

    def create() -> None:
        connection.request("POST", "/api/v1/links", body, headers)
        response = connection.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"create answered {response.status}")

    return create


def boto3_putter(endpoint: str, table: str) -> Callable[[], None]:
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(max_pool_connections=64),
    )

    def put() -> None:
        # The same item and condition the service writes for a new link.
        client.put_item(
            TableName=table,
            Item={
                "id": {"S": "b" + secrets.token_urlsafe(6)},
                "kind": {"S": "link"},
                "url": {"S": TARGET_URL},
                "clicks": {"N": "0"},
                "created_at": {"N": str(int(time.time()))},
                "expires_at": {"N": str(int(time.time()) + 86400)},
                "delete_token_hash": {"S": secrets.token_hex(32)},
            },
            ConditionExpression="attribute_not_exists(id)",
        )

    return put


@dataclass(frozen=True)
class CreateLoad:
    """What one client process runs: service creates over HTTP, or raw boto3 puts."""

    via_service: bool
    service_host: str
    dynamodb_endpoint: str
    table: str
    threads: int
    seconds: float

    def run(self) -> float:
        if self.via_service:
            return rate_with_threads(
                lambda: service_creator(self.service_host),
                threads=self.threads,
                seconds=self.seconds,
            )
        return rate_with_threads(
            lambda: boto3_putter(self.dynamodb_endpoint, self.table),
            threads=self.threads,
            seconds=self.seconds,
        )


def _run_load(load: CreateLoad) -> float:
    return load.run()


def create_rate(load: CreateLoad, processes: int) -> float:
    """Creates/s of `load.threads` threads spread over `processes` client processes.

    Spreading the clients keeps the baseline's boto3 (which signs every request) from being
    bound by one Python process's GIL; both sides are driven the same way.
    """
    share = replace(load, threads=max(1, load.threads // processes))
    with ProcessPoolExecutor(processes) as pool:
        return sum(pool.map(_run_load, [share] * processes))


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs ({cpu}), {system}, Python {platform.python_version()}"


def record(markdown: str, *, start: str = SECTION_START, end: str = SECTION_END) -> None:
    """Replace the section between the `start` and `end` markers of BENCHMARKS.md (or add it)."""
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.parent.mkdir(exist_ok=True)
    BENCHMARKS_MD.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=7, help="alternating runs; median kept")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=16, help="client threads for creates")
    parser.add_argument("--no-record", action="store_true", help="do not edit BENCHMARKS.md")
    args = parser.parse_args()

    hot_runs: list[tuple[WrkResult, WrkResult]] = []
    bare_runs: list[WrkResult] = []
    create_runs: list[tuple[float, float]] = []
    wrk_options = {"connections": args.connections, "seconds": args.seconds}
    with tempfile.TemporaryDirectory(prefix="spito-bench-") as tmp:
        work_dir = Path(tmp)
        stack = LocalStack(
            data_dir=work_dir / "stack",
            service_settings=BENCH_SETTINGS,
            service_log=work_dir / "service.log",
        )
        with running_nginx(work_dir) as nginx_url, running_bare_asgi(work_dir) as bare_url, stack:
            if stack.service.pid is not None:
                # One worker: the event loop thread, and the storage threads it starts later.
                os.sched_setaffinity(stack.service.pid, {SERVER_CPU})
            host = f"{LOOPBACK}:{stack.public_port}"
            status, link = post_json(host, "/api/v1/links", {"url": TARGET_URL})
            if status != 201:
                raise RuntimeError(f"could not create the benchmark link: {status} {link}")
            hot_url = f"{stack.base_url}/{link['id']}"
            for url in (nginx_url, bare_url, hot_url):  # warm-up: cache, connections, threads
                run_wrk(url, connections=args.connections, seconds=1)
            load = CreateLoad(
                via_service=True,
                service_host=host,
                dynamodb_endpoint=stack.storage.dynamodb_endpoint,
                table=stack.storage.table,
                threads=args.threads,
                seconds=args.seconds,
            )
            service_load, boto3_load = load, replace(load, via_service=False)
            for warm_up in (service_load, boto3_load):
                create_rate(replace(warm_up, seconds=1), PROCESSES)
            # Baseline and Spito alternate, so a change in the machine's load hits both alike.
            for _ in range(args.rounds):
                hot_runs.append(
                    (run_wrk(hot_url, **wrk_options), run_wrk(nginx_url, **wrk_options))
                )
                bare_runs.append(run_wrk(bare_url, **wrk_options))
                create_runs.append(
                    (create_rate(service_load, PROCESSES), create_rate(boto3_load, PROCESSES))
                )

    spito, nginx = _median_run(hot_runs)
    service_rate, boto3_rate = sorted(create_runs, key=lambda pair: pair[0] / pair[1])[
        len(create_runs) // 2
    ]
    hot_ratio = spito.requests_per_second / nginx.requests_per_second
    bare = sorted(bare_runs, key=lambda run: run.requests_per_second)[len(bare_runs) // 2]
    bare_ratio = bare.requests_per_second / nginx.requests_per_second
    # Each round's Spito run against the bare app's run beside it: both move with the load.
    of_bare_rounds = [
        run.requests_per_second / bare_run.requests_per_second
        for (run, _), bare_run in zip(hot_runs, bare_runs, strict=True)
    ]
    spito_of_bare = sorted(of_bare_rounds)[len(of_bare_rounds) // 2]
    of_bare_spread = ", ".join(f"{ratio:.2f}" for ratio in of_bare_rounds)
    create_ratio = service_rate / boto3_rate
    hot_spread = ", ".join(
        f"{run.requests_per_second / base.requests_per_second:.2f}" for run, base in hot_runs
    )
    create_spread = ", ".join(f"{run / base:.2f}" for run, base in create_runs)
    lines = [
        f"hot path GET /{{id}}: spito {spito.requests_per_second:,.0f} req/s "
        f"(p99 {spito.p99_ms:.2f} ms) vs nginx 302 {nginx.requests_per_second:,.0f} req/s "
        f"(p99 {nginx.p99_ms:.2f} ms): ratio {hot_ratio:.2f} "
        f"(target >= {HOT_PATH_TARGET}; rounds: {hot_spread})",
        f"ceiling: a do-nothing ASGI app on the same uvicorn {bare.requests_per_second:,.0f} "
        f"req/s, {bare_ratio:.2f} of nginx; a person's cached click on Spito (User-Agent "
        f"classified) reaches {spito_of_bare:.2f} of it "
        f"(target >= {BARE_TARGET}; median of the rounds: {of_bare_spread})",
        f"creates: spito {service_rate:,.0f}/s vs raw boto3 put_item {boto3_rate:,.0f}/s "
        f"on dynalite: ratio {create_ratio:.2f} "
        f"(target >= {CREATE_TARGET}; rounds: {create_spread})",
    ]
    for line in lines:
        print(line)
    hot_row = (
        f"| `GET /{{id}}` (cached link) | {spito.requests_per_second:,.0f} req/s, "
        f"p99 {spito.p99_ms:.2f} ms | nginx `return 302`: {nginx.requests_per_second:,.0f} "
        f"req/s, p99 {nginx.p99_ms:.2f} ms | {hot_ratio:.2f} | >= {HOT_PATH_TARGET} |"
    )
    bare_row = (
        f"| the same 302 from a do-nothing ASGI app on the same uvicorn (the ceiling) "
        f"| {bare.requests_per_second:,.0f} req/s, p99 {bare.p99_ms:.2f} ms | nginx, as above "
        f"| {bare_ratio:.2f} | (reference) |"
    )
    of_bare_row = (
        f"| a person's cached click, against the do-nothing app in the same round "
        f"| {spito.requests_per_second:,.0f} req/s | {bare.requests_per_second:,.0f} req/s "
        f"| {spito_of_bare:.2f} | >= {BARE_TARGET} |"
    )
    create_row = (
        f"| `POST /api/v1/links` | {service_rate:,.0f} creates/s | boto3 `put_item` loop: "
        f"{boto3_rate:,.0f}/s | {create_ratio:.2f} | >= {CREATE_TARGET} |"
    )
    load_average = os.getloadavg()[0]
    if not args.no_record:
        record(
            f"""
## Service

Measured by `make bench` (`bench/service.py`) on {time.strftime("%Y-%m-%d", time.gmtime())},
machine: {machine()}; 1-minute load average {load_average:.1f} at the end.
One uvicorn worker and one nginx worker, each pinned to CPU {SERVER_CPU};
wrk pinned to CPU {LOAD_CPU}, 1 thread, {args.connections} connections.
Spito and its baseline alternate for {args.rounds} rounds of {args.seconds} s each, after a
1 s warm-up, and the round with the median ratio is shown. Creates: {args.threads} client
threads spread over {PROCESSES} processes, Python `http.client` against the service vs boto3
`put_item` straight to dynalite (the same item and condition the service writes). Everything
(wrk, servers, dynalite, clients) shares the same cores, so absolute numbers are low and move
with the machine's load; the ratios are what is tracked.

| benchmark | Spito | baseline | ratio | target |
| --- | --- | --- | --- | --- |
{hot_row}
{bare_row}
{of_bare_row}
{create_row}

Ratios of every round: hot path {hot_spread}; against the do-nothing app {of_bare_spread};
creates {create_spread}. Every wrk request sends a desktop browser's User-Agent, so the hot
path measured is a person's click, classified as one (`service/bots.py`).

Reading the numbers:

- The hot path is one `dict` lookup in front of any routing (`service/app.py`), a 302 with
  no-store headers, an in-memory click increment and one log line. The do-nothing ASGI app on
  the same uvicorn (`bench/bare_app.py`, the same header block) is the ceiling for any
  Python app on this server: it reached {bare_ratio:.2f} of nginx, and Spito {spito_of_bare:.2f}
  of it. So {"most" if bare_ratio < 2 * hot_ratio else "part"} of the gap to nginx is the
  Python server (uvicorn's protocol and the event loop), and the rest Spito's own work per
  redirect.
  Starlette serves every other route.
- Creates: both sides are bound by dynalite (single-threaded Node) and by the Python clients
  that share the same two cores, so the ratio says whether the HTTP layer in front of
  `put_item` costs throughput, not what DynamoDB would do.
- The machine is shared, so rounds spread widely; the median round is the figure, and every
  round is listed so the spread is visible.
- Workers: one uvicorn worker per vCPU (`SPITO_WORKERS`, 2 in the fleet config); each worker
  has its own redirect cache, click buffer and rate-limit buckets.
"""
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
