"""The five fault scenarios. Each runs against a live Fleet and returns one result line.

A scenario measures, then checks the promise it stands for; every broken promise is listed
in its result, so `make faults` and the short form in `make test` fail on it.

Used by `make faults` (faults/__main__.py) and the short form in tests/faults/.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from faults.abuse import (
    FLOOD_MAX_SECONDS,
    SLOW_BODY_CONNECTIONS,
    SLOW_LORIS_CONNECTIONS,
    AbuseReport,
    flood_creates,
    oversized_bodies,
    slow_clients,
)
from faults.fleet import Fleet
from faults.in_flight import InFlightCreate
from faults.load import (
    ANSWER_CUT_OFF,
    CONNECTION_LOST,
    AckedWrite,
    LoadGenerator,
    LoadRecord,
    LoadShape,
    Outcome,
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
    before_fault_s: float = 5.0  # load before each fault, and the baseline of scenario 5
    after_fault_s: float = 5.0  # load after each fault
    storage_outage_s: float = 4.0
    abuse_s: float = 8.0
    concurrency: int = 8

    @classmethod
    def short(cls) -> Timing:
        return cls(
            steady_s=3.0, before_fault_s=1.5, after_fault_s=1.0, storage_outage_s=1.5, abuse_s=3.0
        )


def describe_failures(failures: Sequence[Outcome]) -> str:
    return describe_counts(Counter(o.describe() for o in failures))


def describe_counts(counts: Counter[str]) -> str:
    return ", ".join(f"{what} x{n}" for what, n in counts.most_common(4)) or "none"


async def check_read_back(fleet: Fleet, acked: Sequence[AckedWrite], result: ScenarioResult) -> str:
    lost = await read_back(fleet.base_url, acked)
    result.check(bool(acked), "no write was acknowledged, so none could be read back")
    result.check(
        not lost,
        f"{len(lost)} acknowledged writes lost, e.g. "
        + ", ".join(f"{x.write.id} ({x.reason})" for x in lost[:3]),
    )
    return f"{len(acked) - len(lost)}/{len(acked)} acknowledged writes read back"


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
    read_back_summary = await check_read_back(fleet, load.record.acked, result)
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
    stop = asyncio.Event()
    load_task = asyncio.create_task(load.run(_until_stopped(timing), stop))
    try:
        await asyncio.sleep(timing.before_fault_s)
        kill_sent = time.monotonic()
        await asyncio.to_thread(fleet.kill_instance, victim)
        killed = time.monotonic()
        down = killed + await asyncio.to_thread(
            fleet.balancer.wait_for_status, victim, "DOWN", 10.0
        )
        await asyncio.sleep(timing.after_fault_s)
    finally:
        stop.set()
        await load_task
    failures = load.record.failures()
    unexpected = [o for o in failures if not explained_by_failover(o, down)]
    result.check(
        not unexpected,
        "unexpected failures: "
        + ", ".join(f"{o.describe()} at {o.started - kill_sent:+.3f} s" for o in unexpected),
    )
    rescued = sum(1 for r in fleet.balancer_log() if r.retried and 0 < r.status < 500)
    read_back_summary = await check_read_back(fleet, load.record.acked, result)
    result.summary = (
        f"{victim} killed under {timing.concurrency} connections; "
        f"{len(failures)}/{len(load.record.outcomes)} requests failed "
        f"({describe_failures(failures)}), {rescued} more rescued by HAProxy's retries (the "
        f"ALB would have failed them); balancer marked it DOWN {down - kill_sent:.2f} s "
        f"after the kill; {read_back_summary}"
    )
    return result


# The runtime API is polled every 10 ms; a request may start just before the poll sees DOWN.
DOWN_POLL_SLACK_S = 0.05
# What the balancer itself answers when the instance it chose hung up (502) or none is left
# (503); the service's own errors are problem JSON.
BALANCER_ERRORS = frozenset({502, 503})


def explained_by_failover(outcome: Outcome, down: float) -> bool:
    """Whether a failure is one the promise allows until the balancer marks the victim DOWN.

    A write sent to the dead instance fails (it may have been applied, so it is never
    replayed): its connection breaks, or the balancer answers 502. A read whose answer had begun
    is cut off. A read with no answer yet is replayed on another instance, so it never fails;
    and nothing fails with a status the service chose, a timeout, or after the DOWN mark.
    """
    if outcome.started >= down + DOWN_POLL_SLACK_S:
        return False
    if outcome.error == ANSWER_CUT_OFF:
        return True
    if not outcome.route.startswith("POST"):
        return False
    balancer_answer = outcome.status in BALANCER_ERRORS and not outcome.content_type.startswith(
        PROBLEM_JSON
    )
    return outcome.error in CONNECTION_LOST or (outcome.error is None and balancer_answer)


def _until_stopped(timing: Timing) -> LoadShape:
    """Load that runs until the scenario sets its stop event (within the count bound)."""
    return LoadShape(concurrency=timing.concurrency, duration_s=300)


@dataclass(frozen=True)
class Restart:
    """What restarting one instance showed."""

    shutdown_logged: bool  # every worker logged its shutdown before the in-flight body ended
    in_flight_answer: str  # the in-flight create's status, or what went wrong instead
    exit_code: int

    def describe(self) -> str:
        logged = "" if self.shutdown_logged else ", shutdown never logged"
        return f"exit {self.exit_code}, in-flight create {self.in_flight_answer}{logged}"


async def rolling_restart(fleet: Fleet, timing: Timing) -> ScenarioResult:
    """3. Rolling SIGTERM restart, one instance at a time: no request fails."""
    result = ScenarioResult(3, "rolling restart with SIGTERM")
    load = LoadGenerator(fleet.base_url)
    stop = asyncio.Event()
    load_task = asyncio.create_task(load.run(_until_stopped(timing), stop))
    restarts: dict[str, Restart] = {}
    restarted_at: dict[str, float] = {}
    try:
        await asyncio.sleep(timing.before_fault_s)
        for name in sorted(fleet.instances):
            restarts[name] = await _restart_one(fleet, name, load.record)
            restarted_at[name] = time.monotonic()
        await asyncio.sleep(timing.after_fault_s)
    finally:
        stop.set()
        await load_task
    failures = load.record.failures()
    retried = [r for r in fleet.balancer_log() if r.retried]
    per_instance = {name: restart.describe() for name, restart in restarts.items()}
    result.check(not failures, f"failed requests: {describe_failures(failures)}")
    # A retry would hide a failure the ALB, which does not retry, would pass on to the client.
    result.check(
        not retried,
        f"HAProxy retried {len(retried)} requests, e.g. "
        + ", ".join(f"{r.server} {r.status} {r.termination}" for r in retried[:3]),
    )
    result.check(
        all(r.shutdown_logged for r in restarts.values()),
        f"an instance did not log its shutdown after SIGTERM: {per_instance}",
    )
    result.check(
        all(r.exit_code == 0 for r in restarts.values()), f"exit codes on SIGTERM: {per_instance}"
    )
    result.check(
        all(r.in_flight_answer == "201" for r in restarts.values()),
        f"creates in flight at SIGTERM were not finished: {per_instance}",
    )
    idle = [
        name
        for name, at in restarted_at.items()
        if not any(o.server == name and o.started > at for o in load.record.outcomes)
    ]
    result.check(not idle, f"restarted instances never served again: {', '.join(idle)}")
    read_back_summary = await check_read_back(fleet, load.record.acked, result)
    result.summary = (
        f"{len(restarts)} instances drained, SIGTERMed and restarted one at a time under "
        f"{timing.concurrency} connections: {per_instance}; "
        f"{len(failures)}/{len(load.record.outcomes)} requests failed, {len(retried)} retried "
        f"by HAProxy; {read_back_summary}"
    )
    return result


async def _restart_one(fleet: Fleet, name: str, record: LoadRecord) -> Restart:
    """What a deploy does to one instance, with a create in flight at the SIGTERM.

    Drain is the ALB's target deregistration: no new requests, in-flight ones continue. The
    SIGTERM follows at once, not after a deregistration delay, so the create in flight (sent
    straight to the instance) has to be finished by the service's graceful shutdown. Its body
    is completed only once every worker has logged that it is shutting down.
    """
    workers = fleet.service_settings().workers
    create = InFlightCreate(fleet.instance_ports[name])
    await create.begin()
    log_offset = fleet.instance_log_size(name)
    await asyncio.to_thread(fleet.balancer.set_state, name, "drain")
    fleet.terminate_instance(name)
    shutdown_logged = await asyncio.to_thread(
        fleet.wait_for_log_message,
        name,
        "Shutting down",
        count=workers,
        offset=log_offset,
        timeout_s=SHUTDOWN_LOG_TIMEOUT_S,
    )
    answer = await create.finish()
    if create.acked is not None:
        record.acknowledge(create.acked)
    exit_code = await asyncio.to_thread(fleet.wait_for_exit, name, EXIT_TIMEOUT_S)
    await asyncio.to_thread(_start_and_enable, fleet, name)
    return Restart(shutdown_logged=shutdown_logged, in_flight_answer=answer, exit_code=exit_code)


SHUTDOWN_LOG_TIMEOUT_S = 10.0
EXIT_TIMEOUT_S = 35.0  # above the service's longest drain (30 s)


def _start_and_enable(fleet: Fleet, name: str) -> None:
    fleet.start_instance(name)
    fleet.balancer.set_state(name, "ready")
    fleet.balancer.wait_for_status(name, "UP", timeout_s=10)


@dataclass(frozen=True)
class OutageMarks:
    """When (monotonic seconds) each step of a storage outage happened."""

    stop_called: float
    all_not_ready: float | None  # every /readyz answered 503; None if they never did
    restart_called: float
    storage_back: float
    all_ready: float | None  # every /readyz answered 200 again; None if they never did


def stage_storage_outage(fleet: Fleet, hold_s: float) -> OutageMarks:
    """Stop storage for hold_s (at least until every /readyz says so), then start it again."""
    stop_called = time.monotonic()
    with fleet.storage.outage():
        all_not_ready = wait_for_readiness(fleet, 503, timeout_s=15)
        # Holds the outage open for its planned length; nothing waits on this for a state.
        time.sleep(max(0.0, stop_called + hold_s - time.monotonic()))
        restart_called = time.monotonic()
    storage_back = time.monotonic()
    all_ready = wait_for_readiness(fleet, 200, timeout_s=30)
    return OutageMarks(stop_called, all_not_ready, restart_called, storage_back, all_ready)


# An answer during the outage may take every storage attempt at its full timeout, plus the
# retry backoff between attempts (botocore's standard mode waits up to 1 s) and the scheduling
# delays of a loaded machine. Anything slower counts as a hang.
STORAGE_ANSWER_SLACK_S = 2.0


async def storage_restart(fleet: Fleet, timing: Timing) -> ScenarioResult:
    """4. Storage restarted under load: 503 problem JSON, /readyz 503, recovery by itself."""
    result = ScenarioResult(4, "storage restarted under load")
    settings = fleet.service_settings()
    load = LoadGenerator(fleet.base_url)
    stop = asyncio.Event()
    load_task = asyncio.create_task(load.run(_until_stopped(timing), stop))
    try:
        await asyncio.sleep(timing.before_fault_s)
        marks = await asyncio.to_thread(stage_storage_outage, fleet, timing.storage_outage_s)
        await asyncio.sleep(timing.after_fault_s)
        statuses_in_rotation = {s.status for s in fleet.balancer.servers().values()}
    finally:
        stop.set()
        await load_task
    outcomes = load.record.outcomes
    failed = OutageFailures.of(outcomes, marks)
    before, during, after = failed.before, failed.during, failed.after
    bad_errors = failed.not_problem_503()
    served = Counter(
        o.route for o in load.record.between(marks.stop_called, marks.restart_called) if o.ok
    )
    slowest = max((o.latency_s for o in outcomes), default=0.0)
    slowest_allowed = (
        settings.storage_timeout_seconds * settings.storage_max_attempts + STORAGE_ANSWER_SLACK_S
    )
    result.check(marks.all_not_ready is not None, "/readyz never turned 503")
    result.check(marks.all_ready is not None, "/readyz never came back to 200")
    result.check(not before, f"failures before the outage: {describe_failures(before)}")
    result.check(
        not bad_errors, f"errors other than 503 problem JSON: {describe_failures(bad_errors)}"
    )
    result.check(not after, f"failures after recovery: {describe_failures(after)}")
    result.check(
        slowest < slowest_allowed,
        f"slowest answer {slowest:.2f} s, not under {slowest_allowed:.1f} s (storage timeout "
        f"{settings.storage_timeout_seconds:g} s x {settings.storage_max_attempts} attempts "
        f"+ {STORAGE_ANSWER_SLACK_S:g} s)",
    )
    result.check(statuses_in_rotation == {"UP"}, f"instances left rotation: {statuses_in_rotation}")
    read_back_summary = await check_read_back(fleet, load.record.acked, result)
    result.summary = (
        f"dynalite and s3rver down {marks.storage_back - marks.stop_called:.1f} s under "
        f"{timing.concurrency} connections: {len(during)} answers 503 problem+json "
        f"({len(bad_errors)} other errors), {describe_counts(served)} served while it was down, "
        f"slowest answer {slowest:.2f} s (limit {slowest_allowed:.1f} s); /readyz 503 on every "
        f"instance {_after(marks.all_not_ready, marks.stop_called)} after the stop was called, "
        f"200 again {_after(marks.all_ready, marks.storage_back)} after storage was back, with "
        f"no instance restarted; {len(before)} failures before, {len(after)} after; "
        f"{read_back_summary}"
    )
    return result


@dataclass(frozen=True)
class OutageFailures:
    """A storage outage's failed requests, by when they happened."""

    before: list[Outcome]  # ended before the stop was called: nothing may fail
    during: list[Outcome]  # overlapped the outage or the recovery: only 503 problem JSON
    after: list[Outcome]  # sent once every instance was ready again: nothing may fail

    @classmethod
    def of(cls, outcomes: Sequence[Outcome], marks: OutageMarks) -> OutageFailures:
        recovered = marks.all_ready if marks.all_ready is not None else float("inf")
        failed = cls([], [], [])
        for o in outcomes:
            if o.ok:
                continue
            if o.started + o.latency_s < marks.stop_called:
                failed.before.append(o)
            elif o.started >= recovered:
                failed.after.append(o)
            else:
                failed.during.append(o)
        return failed

    def not_problem_503(self) -> list[Outcome]:
        """Failures during the outage that are not the promised 503 with problem JSON."""
        return [
            o
            for o in self.during
            if not (o.status == 503 and o.error is None and o.content_type.startswith(PROBLEM_JSON))
        ]


def _after(mark: float | None, since: float) -> str:
    return "never" if mark is None else f"{mark - since:.2f} s"


def wait_for_readiness(fleet: Fleet, status: int, *, timeout_s: float) -> float | None:
    """When (monotonic) every instance's /readyz answers status; None after timeout_s."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            codes = set()
            for name in fleet.instances:
                try:
                    codes.add(client.get(f"{fleet.instance_url(name)}/readyz").status_code)
                except httpx.HTTPError:
                    codes.add(-1)
            if codes == {status}:
                return time.monotonic()
            time.sleep(0.05)
    return None


async def abusive_clients(fleet: Fleet, timing: Timing) -> ScenarioResult:
    """5. A flooder gets 429, slow and oversized clients get nothing; the rest are served."""
    result = ScenarioResult(5, "abusive clients")
    baseline = LoadGenerator(fleet.base_url)
    polite = LoadShape(concurrency=4, duration_s=timing.before_fault_s)
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
    starved_above = STARVED_P99_FACTOR * before_p99 + STARVED_P99_SLACK_MS
    failures = others.record.failures()
    result.check(abuse.flood_429 > 0, "the flooding client never got 429")
    result.check(
        abuse.flood_429_without_retry_after == 0, "a 429 came without a Retry-After header"
    )
    result.check(
        abuse.flood_other == 0, f"the flooder got other answers: {abuse.flood_other_kinds}"
    )
    result.check(
        abuse.slow_connections == SLOW_LORIS_CONNECTIONS
        and abuse.slow_bodies == SLOW_BODY_CONNECTIONS,
        f"slow clients opened {abuse.slow_connections}/{SLOW_LORIS_CONNECTIONS} slow-loris and "
        f"{abuse.slow_bodies}/{SLOW_BODY_CONNECTIONS} slow-body connections",
    )
    result.check(not failures, f"other clients failed: {describe_failures(failures)}")
    result.check(
        during_p99 <= starved_above,
        f"other clients' p99 rose from {before_p99:.0f} ms to {during_p99:.0f} ms, over "
        f"{starved_above:.0f} ms",
    )
    result.check(
        abuse.oversized_413 == abuse.oversized_sent,
        f"oversized bodies: {abuse.oversized_413}/{abuse.oversized_sent} answered 413 "
        f"({abuse.oversized_other_kinds})",
    )
    creates = [o for o in others.record.outcomes if o.route.startswith("POST")]
    acked = [*baseline.record.acked, *others.record.acked, *abuse.flood_acked]
    read_back_summary = await check_read_back(fleet, acked, result)
    result.summary = (
        f"flooder {abuse.flood_sent} creates: {abuse.flood_201} x 201, {abuse.flood_429} x 429 "
        f"with Retry-After; {abuse.slow_connections} slow-loris + {abuse.slow_bodies} slow-body "
        f"connections opened, {abuse.slow_drips} drips sent "
        f"({describe_counts(abuse.slow_endings)}); "
        f"{abuse.oversized_413}/{abuse.oversized_sent} bodies over the "
        f"paste limit answered 413; other clients {len(others.record.outcomes)} requests "
        f"({len(creates)} creates), {len(failures)} failed, p99 {during_p99:.0f} ms "
        f"(before {before_p99:.0f} ms, starved above {starved_above:.0f} ms); "
        f"{read_back_summary} (baseline, others and flooder)"
    )
    return result


# Other clients count as starved when their p99 during the attack passes 5 times their p99
# just before it, plus 500 ms. The attack adds real work on the same cores (the flood alone
# doubles the request rate, and the oversized bodies are read before they are refused), and
# queueing turns that into a few times the baseline's tail; the 500 ms absorbs a scheduling
# stall of a shared machine. Starvation costs more: a request queued behind the slow clients
# waits for HAProxy's 5 s header timeout or for a body trickling in, seconds.
STARVED_P99_FACTOR = 5.0
STARVED_P99_SLACK_MS = 500.0


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
