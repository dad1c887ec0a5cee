"""`make faults`: run the five fault scenarios, each on a fresh local fleet, one line each.

Exits 1 when any scenario's promise breaks, and keeps that run's logs for reading.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from faults.scenarios import SCENARIOS, ScenarioResult, Timing, run_in_fresh_fleet


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short form `make test` runs")
    parser.add_argument(
        "--only",
        type=int,
        action="append",
        choices=range(1, len(SCENARIOS) + 1),
        help="run only this scenario number (repeatable)",
    )
    parser.add_argument("--instances", type=int, default=3, choices=(2, 3, 4))
    parser.add_argument("--keep-logs", action="store_true", help="keep logs of passing runs too")
    args = parser.parse_args()
    # A SIGTERM (Ctrl-C's cousin from CI) unwinds like an exception, so every child is stopped.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    timing = Timing.short() if args.short else Timing()
    chosen = args.only or list(range(1, len(SCENARIOS) + 1))
    failed = False
    for number in chosen:
        workdir = Path(tempfile.mkdtemp(prefix=f"spito-faults-{number}-"))
        result = _run(number, workdir, timing, args.instances)
        print(result.line(), flush=True)
        failed = failed or not result.kept
        if result.kept and not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"    logs kept in {workdir}", flush=True)
    return 1 if failed else 0


def _run(number: int, workdir: Path, timing: Timing, instances: int) -> ScenarioResult:
    scenario = SCENARIOS[number - 1]
    try:
        return run_in_fresh_fleet(scenario, workdir=workdir, timing=timing, instances=instances)
    except Exception as error:  # a harness or fleet failure is reported as that scenario's FAIL
        result = ScenarioResult(number, scenario.__name__.replace("_", " "))
        result.check(False, f"crashed: {type(error).__name__}: {error}")
        return result


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
