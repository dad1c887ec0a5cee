"""The five fault scenarios. Each runs against a live Fleet and returns one result line.

A scenario measures, then checks the promise it stands for; every broken promise is listed
in its result, so `make faults` and the short form in `make test` fail on it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scripts.faults.abuse import (
    FLOOD_MAX_SECONDS,
    AbuseReport,
    flood_creates,
    oversized_bodies,
    slow_clients,
)
from scripts.faults.fleet import Fleet
from scripts.faults.load import (
    ANSWER_CUT_OFF,
    CREATE_LINK,
    CREATE_PASTE,
    REQUEST_TIMEOUT_SECONDS,
    AckedWrite,
    LoadGenerator,
    LoadRecord,
    LoadShape,
    Outcome,
    paste_content,
    read_back,
    route_stats,
)

PROBLEM_JSON = "application/problem+json"


@dataclass
class ScenarioResult:
    """A scenario's one-line summary and the promises it found broken (none means PASS)."""

    number: int
    name: str
    summary: str = ""
    broken: list[str] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return not self.broken

    def check(self, promise_holds: bool, broken_promise: str) -> None:
        if not promise_holds:
            self.broken.append(broken_promise)

    def line(self) -> str:
        verdict = "PASS" if self.kept else "FAIL: " + "; ".join(self.broken)
        return f"[{self.number}] {self.name}: {self.summary} -> {verdict}"


@dataclass(frozen=True, kw_only=True)
class Timing:
    """How long each scenario runs: the full form for `make faults`, a short one for tests."""

    steady_s: float = 30.0
    around_fault_s: float = 5.0  # load before and after each fault
    storage_outage_s: float = 4.0
    abuse_s: float = 8.0
    concurrency: int = 8

    @classmethod
    def short(cls) -> Timing:
        return cls(steady_s=4.0, around_fault_s=2.0, storage_outage_s=2.0, abuse_s=4.0)


def describe_failures(failures: Sequence[Outcome]) -> str:
    return describe_counts(Counter(o.describe() for o in failures))


def describe_counts(counts: Counter[str]) -> str:
    return ", ".join(f"{what} x{n}" for what, n in counts.most_common(4)) or "none"


async def check_read_back(fleet: Fleet, record: LoadRecord, result: ScenarioResult) -> str:
    lost = await read_back(fleet.base_url, record.acked)
    result.check(bool(record.acked), "no write was acknowledged, so none could be read back")
    result.check(
        not lost,
        f"{len(lost)} acknowledged writes lost, e.g. "
        + ", ".join(f"{x.write.id} ({x.reason})" for x in lost[:3]),
    )
    return f"{len(record.acked) - len(lost)}/{len(record.acked)} acknowledged writes read back"


async def steady_load(fleet: Fleet, timing: Timing) -> ScenarioResult:
    """1. Steady load: no request fails; rate and latency per route for the record."""
    result = ScenarioResult(1, "steady load")
    load = LoadGenerator(fleet.base_url)
    started = time.monotonic()
    await load.run(LoadShape(concurrency=timing.concurrency, duration_s=timing.steady_s))
    elapsed = time.monotonic() - started
    outcomes = load.record.outcomes
    failures = load.record.failures()
    result.check(bool(outcomes), "no requests were sent")
    result.check(not failures, f"failed requests: {describe_failures(failures)}")
    routes = "; ".join(
        f"{s.route} n={s.count} p50 {s.p50_ms:.0f} ms p99 {s.p99_ms:.0f} ms"
        for s in route_stats(outcomes)
    )
    read_back_summary = await check_read_back(fleet, load.record, result)
    result.summary = (
        f"{elapsed:.0f} s at {timing.concurrency} connections: {len(outcomes)} requests, "
        f"{len(outcomes) / elapsed:.0f} req/s, errors {len(failures)} "
        f"({100 * len(failures) / max(1, len(outcomes)):.2f}%); {routes}; {read_back_summary}"
    )
    return result


async def kill_one_instance(fleet: Fleet, timing: Timing) -> ScenarioResult:
    """2. kill -9 one instance mid-load: no acked write lost, reads survive, failover is quick."""
    result = ScenarioResult(2, "kill -9 one instance")
    victim = sorted(fleet.instances)[-1]
    load = LoadGenerator(fleet.base_url)
    shape = LoadShape(concurrency=timing.concurrency, duration_s=2 * timing.around_fault_s)
    load_task = asyncio.create_task(load.run(shape))
    await asyncio.sleep(timing.around_fault_s)
    kill_sent = time.monotonic()
    await asyncio.to_thread(fleet.kill_instance, victim)
    killed = time.monotonic()
    down = killed + await asyncio.to_thread(fleet.balancer.wait_for_status, victim, "DOWN", 10.0)
    await load_task
    failures = load.record.failures()
    # Until the balancer marks the instance down it still sends it requests. A write sent to it
    # fails (it may have been applied, so it is never replayed); so does a read whose answer
    # had begun. A read with no answer yet is replayed on another instance.
    unexpected = [
        o
        for o in failures
        if not (
            o.started < down + DOWN_POLL_SLACK_S
            and (o.route.startswith("POST") or o.error == ANSWER_CUT_OFF)
        )
    ]
    result.check(
        not unexpected,
        "unexpected failures: "
        + ", ".join(f"{o.describe()} at {o.started - kill_sent:+.3f} s" for o in unexpected),
    )
    answered_after_kill = [
        o for o in load.record.outcomes if o.server == victim and o.started > killed
    ]
    result.check(not answered_after_kill, "the dead instance answered after the kill")
    read_back_summary = await check_read_back(fleet, load.record, result)
    result.summary = (
        f"{victim} killed under {timing.concurrency} connections; "
        f"{len(failures)}/{len(load.record.outcomes)} requests failed "
        f"({describe_failures(failures)}); balancer marked it DOWN {down - kill_sent:.2f} s "
        f"after the kill; {read_back_summary}"
    )
    return result


# The runtime API is polled every 10 ms; a request may start just before the poll sees DOWN.
DOWN_POLL_SLACK_S = 0.05


async def rolling_restart(fleet: Fleet, timing: Timing) -> ScenarioResult:
    """3. Rolling SIGTERM restart, one instance at a time: no request fails."""
    result = ScenarioResult(3, "rolling restart with SIGTERM")
    load = LoadGenerator(fleet.base_url)
    stop = asyncio.Event()
    shape = LoadShape(concurrency=timing.concurrency, duration_s=300)
    load_task = asyncio.create_task(load.run(shape, stop))
    await asyncio.sleep(timing.around_fault_s)
    exit_codes: dict[str, int] = {}
    slow_creates: dict[str, str] = {}
    restarted_at: dict[str, float] = {}
    try:
        for name in sorted(fleet.instances):
            exit_codes[name], slow_creates[name] = await _restart_one(fleet, name, load.record)
            restarted_at[name] = time.monotonic()
        await asyncio.sleep(timing.around_fault_s)
    finally:
        stop.set()
        await load_task
    failures = load.record.failures()
    result.check(not failures, f"failed requests: {describe_failures(failures)}")
    result.check(set(exit_codes.values()) == {0}, f"exit codes on SIGTERM: {exit_codes}")
    result.check(
        set(slow_creates.values()) == {"201"},
        f"creates in flight at SIGTERM were not finished: {slow_creates}",
    )
    idle = [
        name
        for name, at in restarted_at.items()
        if not any(o.server == name and o.started > at for o in load.record.outcomes)
    ]
    result.check(not idle, f"restarted instances never served again: {', '.join(idle)}")
    read_back_summary = await check_read_back(fleet, load.record, result)
    result.summary = (
        f"{len(restarted_at)} instances drained, SIGTERMed and restarted one at a time under "
        f"{timing.concurrency} connections: exit codes {sorted(exit_codes.values())}, a create "
        f"in flight at each SIGTERM answered {sorted(slow_creates.values())}; "
        f"{len(failures)}/{len(load.record.outcomes)} requests failed; {read_back_summary}"
    )
    return result


# A create whose body is still arriving when SIGTERM lands: the service must finish it.
SLOW_CREATE_HEAD_START_S = 0.3
SLOW_CREATE_PAUSE_S = 1.0


async def _restart_one(fleet: Fleet, name: str, record: LoadRecord) -> tuple[int, str]:
    """What a deploy does to one instance. Returns (exit code, answer to the slow create).

    Drain is the ALB's target deregistration: no new requests, in-flight ones continue. The
    SIGTERM follows at once, not after a deregistration delay, so a create still in flight
    (sent straight to the instance) has to be finished by the service's graceful shutdown.
    """
    slow_create = asyncio.create_task(_create_slowly(fleet.instance_url(name), record))
    await asyncio.sleep(SLOW_CREATE_HEAD_START_S)
    exit_code = await asyncio.to_thread(_drain_and_terminate, fleet, name)
    answer = await slow_create
    await asyncio.to_thread(_start_and_enable, fleet, name)
    return exit_code, answer


def _drain_and_terminate(fleet: Fleet, name: str) -> int:
    fleet.balancer.set_state(name, "drain")
    return fleet.terminate_instance(name, timeout_s=35)


def _start_and_enable(fleet: Fleet, name: str) -> None:
    fleet.start_instance(name)
    fleet.balancer.set_state(name, "ready")
    fleet.balancer.wait_for_status(name, "UP", timeout_s=10)


async def _create_slowly(instance_url: str, record: LoadRecord) -> str:
    """POST a paste whose body arrives in two halves SLOW_CREATE_PAUSE_S apart."""
    content = paste_content(secrets.token_hex(8), 2000)
    body = json.dumps({"content": content}).encode()

    async def halves() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        await asyncio.sleep(SLOW_CREATE_PAUSE_S)
        yield body[len(body) // 2 :]

    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        try:
            response = await client.post(
                f"{instance_url}/api/v1/pastes",
                content=halves(),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as error:
            return type(error).__name__
    if response.status_code == 201:
        digest = hashlib.sha256(content.encode()).hexdigest()
        record.acknowledge(AckedWrite(id=response.json()["id"], kind="paste", expected=digest))
    return str(response.status_code)


async def storage_restart(fleet: Fleet, timing: Timing) -> ScenarioResult:
    """4. Storage restarted under load: 503 problem JSON, /readyz 503, recovery by itself."""
    result = ScenarioResult(4, "storage restarted under load")
    load = LoadGenerator(fleet.base_url)
    stop = asyncio.Event()
    shape = LoadShape(concurrency=timing.concurrency, duration_s=300)
    load_task = asyncio.create_task(load.run(shape, stop))
    try:
        await asyncio.sleep(timing.around_fault_s)
        await asyncio.to_thread(fleet.storage.stop)
        outage_started = time.monotonic()
        not_ready_after = await wait_for_readiness(fleet, 503, timeout_s=15)
        await asyncio.sleep(max(0.0, timing.storage_outage_s - not_ready_after))
        restart_called = time.monotonic()
        await asyncio.to_thread(fleet.storage.start)
        storage_back = time.monotonic()
        ready_after = await wait_for_readiness(fleet, 200, timeout_s=30)
        recovered = time.monotonic()
        await asyncio.sleep(timing.around_fault_s)
        statuses_in_rotation = {s.status for s in fleet.balancer.servers().values()}
    finally:
        stop.set()
        await load_task
    during = [o for o in load.record.between(outage_started, recovered) if not o.ok]
    served = Counter(o.route for o in load.record.between(outage_started, restart_called) if o.ok)
    after = [o for o in load.record.between(recovered, time.monotonic()) if not o.ok]
    bad_errors = [
        o
        for o in during
        if not (o.status == 503 and o.error is None and o.content_type.startswith(PROBLEM_JSON))
    ]
    slowest = max((o.latency_s for o in load.record.outcomes), default=0.0)
    result.check(not_ready_after >= 0, "/readyz never turned 503")
    result.check(ready_after >= 0, "/readyz never came back to 200")
    result.check(
        not bad_errors, f"errors other than 503 problem JSON: {describe_failures(bad_errors)}"
    )
    result.check(not after, f"failures after recovery: {describe_failures(after)}")
    result.check(statuses_in_rotation == {"UP"}, f"instances left rotation: {statuses_in_rotation}")
    read_back_summary = await check_read_back(fleet, load.record, result)
    result.summary = (
        f"dynalite and s3rver down {storage_back - outage_started:.1f} s under "
        f"{timing.concurrency} connections: {len(during)} answers 503 problem+json "
        f"({len(bad_errors)} other errors), {describe_counts(served)} served while it was down, "
        f"slowest answer {slowest:.2f} s; /readyz 503 on every "
        f"instance {not_ready_after:.2f} s after the stop, 200 again {ready_after:.2f} s after "
        f"the restart with no instance restarted; {len(after)} failures after recovery; "
        f"{read_back_summary}"
    )
    return result


async def wait_for_readiness(fleet: Fleet, status: int, *, timeout_s: float) -> float:
    """Seconds until every instance's /readyz answers status, or -1 after timeout_s."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() - started < timeout_s:
            answers = await asyncio.gather(
                *(client.get(f"{fleet.instance_url(n)}/readyz") for n in fleet.instances),
                return_exceptions=True,
            )
            codes = {a.status_code if isinstance(a, httpx.Response) else None for a in answers}
            if codes == {status}:
                return time.monotonic() - started
            await asyncio.sleep(0.05)
    return -1.0


async def abusive_clients(fleet: Fleet, timing: Timing) -> ScenarioResult:
    """5. A flooder gets 429, slow and oversized clients get nothing; the rest are served."""
    result = ScenarioResult(5, "abusive clients")
    baseline = LoadGenerator(fleet.base_url)
    polite = LoadShape(concurrency=4, duration_s=timing.around_fault_s)
    await baseline.run(polite)
    others = LoadGenerator(fleet.base_url)
    abuse_over = asyncio.Event()

    async def abuse_then_stop_others() -> AbuseReport:
        try:
            return await run_abuse(
                fleet.base_url,
                duration_s=timing.abuse_s,
                paste_max_bytes=fleet.service_settings().paste_max_bytes,
            )
        finally:
            abuse_over.set()

    # The others run for as long as the abuse lasts, within the flood's own bound.
    during = LoadShape(concurrency=4, duration_s=FLOOD_MAX_SECONDS + 5)
    abuse: AbuseReport
    _, abuse = await asyncio.gather(others.run(during, abuse_over), abuse_then_stop_others())
    before_p99 = _p99_ms(baseline.record.outcomes)
    during_p99 = _p99_ms(others.record.outcomes)
    failures = others.record.failures()
    result.check(abuse.flood_429 > 0, "the flooding client never got 429")
    result.check(
        abuse.flood_429_without_retry_after == 0, "a 429 came without a Retry-After header"
    )
    result.check(
        abuse.flood_other == 0, f"the flooder got other answers: {abuse.flood_other_kinds}"
    )
    result.check(not failures, f"other clients failed: {describe_failures(failures)}")
    result.check(
        during_p99 < max(STARVED_P99_FLOOR_MS, 10 * before_p99),
        f"other clients' p99 rose from {before_p99:.0f} ms to {during_p99:.0f} ms",
    )
    result.check(
        abuse.oversized_413 == abuse.oversized_sent,
        f"oversized bodies: {abuse.oversized_413}/{abuse.oversized_sent} answered 413 "
        f"({abuse.oversized_other_kinds})",
    )
    creates = [o for o in others.record.outcomes if o.route in {CREATE_LINK, CREATE_PASTE}]
    read_back_summary = await check_read_back(fleet, others.record, result)
    result.summary = (
        f"flooder {abuse.flood_sent} creates: {abuse.flood_201} x 201, {abuse.flood_429} x 429 "
        f"with Retry-After; {abuse.slow_connections} slow-loris + {abuse.slow_bodies} slow-body "
        f"connections ({describe_counts(abuse.slow_endings)}); "
        f"{abuse.oversized_413}/{abuse.oversized_sent} bodies over the "
        f"paste limit answered 413; other clients {len(others.record.outcomes)} requests "
        f"({len(creates)} creates), {len(failures)} failed, p99 {during_p99:.0f} ms "
        f"(before {before_p99:.0f} ms); {read_back_summary}"
    )
    return result


# Other clients count as starved when their p99 passes both this and 10 times their p99
# before the attack: the floor keeps a busy shared machine from passing for starvation.
STARVED_P99_FLOOR_MS = 2000.0


async def run_abuse(base_url: str, *, duration_s: float, paste_max_bytes: int) -> AbuseReport:
    report = AbuseReport()
    await asyncio.gather(
        flood_creates(base_url, report, duration_s=duration_s),
        slow_clients(base_url, report, duration_s=duration_s),
        oversized_bodies(base_url, report, max_bytes=paste_max_bytes),
    )
    return report


def _p99_ms(outcomes: Sequence[Outcome]) -> float:
    stats = route_stats(outcomes)
    return max((s.p99_ms for s in stats), default=0.0)


Scenario = Callable[[Fleet, Timing], Coroutine[None, None, ScenarioResult]]


def run_in_fresh_fleet(
    scenario: Scenario, *, workdir: Path, timing: Timing, instances: int = 3
) -> ScenarioResult:
    """Start a fleet in workdir, run one scenario against it, stop the fleet."""
    with Fleet(workdir, instances=instances) as fleet:
        return asyncio.run(scenario(fleet, timing))


SCENARIOS: tuple[Scenario, ...] = (
    steady_load,
    kill_one_instance,
    rolling_restart,
    storage_restart,
    abusive_clients,
)
