"""`make bench` for the CDK app: full synth wall time against an empty CDK Python app's.

All run the way the CDK CLI runs an app (a fresh `python` process, the context in
CDK_CONTEXT_JSON, the output directory in CDK_OUTDIR), interleaved, `--runs` times each; the
medians and their ratio are printed (target: at most 2x), the full synth's templates are compared
across runs (synth must be deterministic), and docs/BENCHMARKS.md's synth section is rewritten.

The target's baseline is an empty app as `cdk init` writes it, with the CDK's built-in template
validation on. Spito turns that validation off (cfn-lint runs the same rules; app.new_app), so a
second baseline, an empty app with it off as well, shows what Spito's own constructs cost.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.service import machine

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "docs" / "BENCHMARKS.md"
SECTION_START = "<!-- synth-bench:start -->"
SECTION_END = "<!-- synth-bench:end -->"
TARGET_RATIO = 2.0
EMPTY_APP = "from aws_cdk import App; App().synth()"
EMPTY_APP_WITHOUT_VALIDATION = (
    "from aws_cdk import App; App(builtin_cloud_formation_validation=False).synth()"
)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # user + system of the app and its Node (jsii) child


def run_synth(command: list[str], outdir: Path, context: dict[str, object]) -> Timing:
    """Wall and CPU seconds for one synth, as the CLI would run it; raises if the app fails."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": os.environ.get(
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20"
        ),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - our interpreter and our app
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall=elapsed, cpu=cpu)


def templates_digest(outdir: Path) -> str:
    digest = hashlib.sha256()
    for template in sorted(outdir.glob("*.template.json")):
        digest.update(template.name.encode())
        digest.update(template.read_bytes())
    return digest.hexdigest()


def record(markdown: str) -> None:
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    block = f"{SECTION_START}\n{markdown.strip()}\n{SECTION_END}"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        text = before + block + rest.split(SECTION_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="synths of each app")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--no-record", action="store_true", help="do not edit BENCHMARKS.md")
    args = parser.parse_args()

    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], "stage": args.stage}
    full: list[Timing] = []
    baselines: dict[str, list[Timing]] = {EMPTY_APP: [], EMPTY_APP_WITHOUT_VALIDATION: []}
    digests: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="spito-bench-synth-") as tmp:
        for run in range(args.runs):
            outdir = Path(tmp) / f"full{run}"
            full.append(run_synth([sys.executable, "app.py"], outdir, context))
            digests.add(templates_digest(outdir))
            for index, (code, timings) in enumerate(baselines.items()):
                empty_outdir = Path(tmp) / f"empty{index}-{run}"
                timings.append(run_synth([sys.executable, "-c", code], empty_outdir, {}))
    deterministic = len(digests) == 1
    rows = []
    for code, baseline, target in (
        (EMPTY_APP, "empty CDK Python app", f"<= {TARGET_RATIO:g}"),
        (EMPTY_APP_WITHOUT_VALIDATION, "empty app, validation off too", "(like for like)"),
    ):
        for label, measure in (("wall", "wall"), ("CPU (user + sys)", "cpu")):
            full_s = statistics.median(getattr(timing, measure) for timing in full)
            empty_s = statistics.median(getattr(timing, measure) for timing in baselines[code])
            rows.append(
                f"| full synth (`app.py`), {label} | {full_s:.1f} s "
                f"| {baseline}: {empty_s:.1f} s | {full_s / empty_s:.2f} | {target} |"
            )
    row = "\n".join(rows)
    markdown = f"""
## Synth

Measured by `make bench` (`bench/synth.py`) on {time.strftime("%Y-%m-%d")},
machine: {machine()}. Median of {args.runs} interleaved runs each, every run a fresh
`python` process as the CDK CLI starts it; stage `{args.stage}`, cdk-nag included. Wall time
is the target; CPU time is shown too because other work on the machine inflates wall time.

| benchmark | Spito | baseline | ratio | target |
| --- | --- | --- | --- | --- |
{row}

Templates identical across the {args.runs} runs: {"yes" if deterministic else "NO"}.

How to read it: most of an empty app's synth is the CDK's built-in template validation starting
(a WASM build of cfn-lint's rules inside aws-cdk-lib). Spito turns that validation off, because
`make synth`, `make test`, `make diff` and `make deploy` run cfn-lint itself (`app.new_app`), so
its synth costs about what an empty app's does. Like for like, with the validation off in both,
the second pair of rows is what loading and building Spito's constructs costs.
"""
    print(markdown.strip())
    if not args.no_record:
        record(markdown)
    return 0 if deterministic else 1


if __name__ == "__main__":
    sys.exit(main())
