"""Each fault scenario, in its short form, on a fresh fleet of two instances behind HAProxy.

A test fails when the scenario's promise breaks: a lost acknowledged write, a failed request
that the promise rules out, a wrong status, or a fleet that does not recover by itself. The
assertion message is the scenario's result line, which names every broken promise.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from faults.scenarios import (
    Scenario,
    Timing,
    abusive_clients,
    kill_one_instance,
    rolling_restart,
    run_in_fresh_fleet,
    steady_load,
    storage_restart,
)

pytestmark = pytest.mark.faults


def run_short(scenario: Scenario, workdir: Path) -> None:
    # Two instances, not make faults' three: the fewest that still fail over, on shared cores.
    # In a thread of its own: a worker that ran the browser tests keeps Playwright's event loop
    # running on its main thread, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as thread:
        result = thread.submit(
            run_in_fresh_fleet, scenario, workdir=workdir, timing=Timing.short(), instances=2
        ).result()
    assert result.kept, result.line()


def test_steady_load_fails_no_request_and_loses_no_write(tmp_path: Path) -> None:
    run_short(steady_load, tmp_path)


def test_kill_9_of_an_instance_fails_only_writes_in_flight_and_loses_no_acked_write(
    tmp_path: Path,
) -> None:
    run_short(kill_one_instance, tmp_path)


def test_rolling_sigterm_restart_fails_no_request(tmp_path: Path) -> None:
    run_short(rolling_restart, tmp_path)


def test_storage_restart_answers_503_problem_json_and_recovers_by_itself(tmp_path: Path) -> None:
    run_short(storage_restart, tmp_path)


def test_abusive_clients_get_429_or_413_while_others_are_served(tmp_path: Path) -> None:
    run_short(abusive_clients, tmp_path)
