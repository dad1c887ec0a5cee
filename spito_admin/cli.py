"""`spito-admin`: the operator's tool for reports, takedowns, the blocklist and the audit trail.

Run from the repository's folder. Against the local stack by default (`make dev`'s data: the
storage it started writes its endpoint to `.local/storage.json`, or
`$SPITO_DEV_DATA_DIR/storage.json`), or against a deployed stage's table with `--stage NAME`:
the table name is read from the `Spito-NAME-Data` stack's `TableName` output, in the stage's
region (cdk.json), with the user's own AWS credentials. Every action that changes something
writes an audit record (who: the AWS caller's ARN, or `local:USER`; what; when; why) to the
same table.

Bad arguments get a message naming the fix and exit status 2, before anything is written;
an action on an id that is not there exits 1.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from service.blocklist import normalize_domain
from service.storage_errors import StorageUnavailableError
from spito_admin.feeds import FORMATS, parse
from spito_admin.operations import Operations

# Run from the repository's folder, installed or not: make dev's data and cdk.json are there.
LOCAL_DATA_DIR = Path(".local")
CDK_JSON = Path("cdk.json")
STORAGE_FILE = "storage.json"  # written by devstack/stack.py when local storage starts
# dynalite accepts any credentials; this is the local stack's (devstack/stack.py).
LOCAL_KEY = "S3RVER"
LOCAL_REGION = "us-east-1"
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A bad argument: the message names the fix; exit 2, nothing written."""


class ActionFailedError(Exception):
    """The action could not be done (no such item, storage unreachable): exit 1."""


@dataclass(frozen=True)
class Target:
    operations: Operations
    actor: str  # who the audit records name
    where: str  # said in messages: "the local stack" or "stage dev (table ...)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _check_arguments(args)
        target = _target(args.stage)
        args.run(target, args)
    except UsageError as error:
        parser.error(str(error))  # prints usage and the message; exits 2
    except ActionFailedError as error:
        print(f"spito-admin: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (StorageUnavailableError, BotoCoreError, ClientError) as error:
        print(f"spito-admin: storage did not answer: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spito-admin",
        description="Review reports, take items down, manage the domain blocklist.",
    )
    parser.add_argument(
        "--stage",
        help="a deployed stage of cdk.json (its table, your AWS credentials); "
        "default: the local stack of make dev",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[Target, argparse.Namespace], None], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(run=run)
        return sub

    reports = command("reports", _reports, "list reports, newest first")
    reports.add_argument("--pending", action="store_true", help="only those not yet decided on")
    command("show", _show, "show a link or paste, its state and its reports").add_argument("id")
    takedown = command("takedown", _takedown, "take a link or paste down (410 everywhere)")
    takedown.add_argument("id")
    takedown.add_argument("--reason", required=True, help="shown to visitors, kept in the audit")
    command("restore", _restore, "serve a held or taken-down item again").add_argument("id")
    command("block", _block, "block a domain and its subdomains").add_argument("domain")
    command("unblock", _unblock, "remove a domain from the blocklist").add_argument("domain")
    blocklist = command("blocklist", _blocklist, "list the blocklist, or import a file into it")
    blocklist.add_argument("--import", dest="import_file", metavar="FILE", type=Path)
    blocklist.add_argument("--format", choices=FORMATS, help="the imported file's format")
    command("stats", _stats, "counts of items, reports, removals and blocked domains")
    command("audit", _audit, "every recorded action, oldest first")
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    """Everything about the arguments that argparse does not check, before any storage call."""
    if args.command in ("block", "unblock"):
        try:
            args.domain = normalize_domain(args.domain)
        except ValueError as error:
            raise UsageError(f"{args.command}: {error}") from None
    if args.command == "takedown" and not args.reason.strip():
        raise UsageError("takedown: --reason must say why, in words a visitor understands")
    if args.command == "blocklist":
        if (args.import_file is None) != (args.format is None):
            raise UsageError("blocklist: --import FILE and --format hosts|urlhaus go together")
        if args.import_file is not None:
            try:
                text = args.import_file.read_text(encoding="utf-8", errors="replace")
            except OSError as error:
                raise UsageError(f"blocklist: cannot read {args.import_file}: {error}") from None
            args.feed = parse(text, args.format)
            if not args.feed.domains:
                raise UsageError(
                    f"blocklist: no domains found in {args.import_file} as {args.format}: "
                    "check the file and --format"
                )


def _target(stage: str | None) -> Target:
    if stage is None:
        return _local_target()
    return _stage_target(stage)


def _local_target() -> Target:
    data_dir = Path(os.environ.get("SPITO_DEV_DATA_DIR") or LOCAL_DATA_DIR)
    try:
        storage = json.loads((data_dir / STORAGE_FILE).read_text())
    except (OSError, ValueError):
        raise ActionFailedError(
            f"no local stack found ({data_dir / STORAGE_FILE} is missing): start it with "
            "make dev, or pass --stage NAME for a deployed stage"
        ) from None
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=storage["dynamodb_endpoint"],
        region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_KEY,
        aws_secret_access_key=LOCAL_KEY,
    )
    return Target(
        Operations(client, storage["table"]),
        actor=f"local:{getpass.getuser()}",
        where="the local stack",
    )


def _stage_target(stage: str) -> Target:
    # infra.config is the stages' one definition (cdk.json); imported here so the local
    # default does not need the CDK app's files.
    from infra.config import ConfigError, load_config

    try:
        context = json.loads(CDK_JSON.read_text())["context"]
    except (OSError, ValueError, KeyError):
        raise UsageError(
            f"--stage {stage}: no readable cdk.json here; run spito-admin from the repository's "
            "folder"
        ) from None
    try:
        config = load_config(context, stage)
    except ConfigError as error:
        raise UsageError(f"--stage {stage}: {error}") from None
    session = boto3.session.Session(region_name=config.region)
    stack = f"Spito-{stage}-Data"
    try:
        outputs = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        table = next(
            output["OutputValue"]
            for output in outputs.get("Outputs", [])
            if output["OutputKey"] == "TableName"
        )
        actor = session.client("sts").get_caller_identity()["Arn"]
    except (ClientError, BotoCoreError, StopIteration) as error:
        raise ActionFailedError(
            f"cannot read the table of stage {stage} from stack {stack} in {config.region}: "
            f"{error or 'no TableName output'}; is it deployed, and are your AWS credentials "
            "for its account?"
        ) from None
    return Target(
        Operations(session.client("dynamodb"), table),
        actor=actor,
        where=f"stage {stage} (table {table})",
    )


# Commands


def _reports(target: Target, args: argparse.Namespace) -> None:
    reports = target.operations.reports(pending_only=args.pending)
    if not reports:
        print("No pending reports." if args.pending else "No reports.")
        return
    print(f"{'reported (UTC)':<17} {'id':<12} {'reason':<10} {'state':<9} details")
    for report in reports:
        state = "pending" if report.pending else "reviewed"
        details = report.details.replace("\n", " ")[:60]
        print(
            f"{_when(report.created_at):<17} {report.item_id:<12} {report.reason:<10} "
            f"{state:<9} {details}"
        )


def _show(target: Target, args: argparse.Namespace) -> None:
    item = target.operations.item(args.id)
    if item is None or item.get("kind", {}).get("S") not in ("link", "paste"):
        raise ActionFailedError(f"no link or paste {args.id} in {target.where}")
    kind = item["kind"]["S"]
    lines = [("id", args.id), ("kind", kind), ("created", _when(int(item["created_at"]["N"])))]
    if "expires_at" in item:
        lines.append(("expires", _when(int(item["expires_at"]["N"]))))
    if kind == "link":
        lines += [
            ("url", item["url"]["S"]),
            ("clicks", item.get("clicks", {"N": "0"})["N"]),
            ("bot fetches", item.get("bot_fetches", {"N": "0"})["N"]),
        ]
    else:
        lines += [("size", f"{item['size']['N']} bytes"), ("syntax", item["syntax"]["S"])]
    reporters = item.get("reports", {"N": "0"})["N"]
    lines.append(("reported by", f"{reporters} clients (since it was last restored)"))
    removal = item.get("removal", {}).get("M")
    if removal:
        state, reason = removal["state"]["S"], removal["reason"]["S"]
        when = _when(int(removal["at"]["N"]))
        lines.append(("state", f"{state} since {when}: {reason}"))
    else:
        lines.append(("state", "served"))
    for label, value in lines:
        print(f"{label + ':':<13} {value}")
    for report in target.operations.reports(item_id=args.id):
        print(f"  report {_when(report.created_at)} {report.reason}: {report.details}")


def _takedown(target: Target, args: argparse.Namespace) -> None:
    if not target.operations.take_down(args.id, reason=args.reason.strip(), now=int(time.time())):
        raise ActionFailedError(f"no link or paste {args.id} in {target.where}")
    _record(target, "takedown", args.id, args.reason.strip())
    print(f"Took {args.id} down: it answers 410 everywhere within 30 s.")


def _restore(target: Target, args: argparse.Namespace) -> None:
    if not target.operations.restore(args.id):
        raise ActionFailedError(f"{args.id} is neither held nor taken down in {target.where}")
    _record(target, "restore", args.id, "")
    print(f"Restored {args.id}: it is served again within 30 s.")


def _block(target: Target, args: argparse.Namespace) -> None:
    target.operations.block([args.domain])
    _record(target, "block", args.domain, "")
    print(f"Blocked {args.domain} and its subdomains: every worker honours it within 60 s.")


def _unblock(target: Target, args: argparse.Namespace) -> None:
    if args.domain not in target.operations.blocked_domains():
        raise ActionFailedError(f"{args.domain} is not on the blocklist of {target.where}")
    target.operations.unblock([args.domain])
    _record(target, "unblock", args.domain, "")
    print(f"Unblocked {args.domain}.")


def _blocklist(target: Target, args: argparse.Namespace) -> None:
    if args.import_file is None:
        for domain in sorted(target.operations.blocked_domains()):
            print(domain)
        return
    feed = args.feed
    known = target.operations.blocked_domains()
    target.operations.block(feed.domains)
    what = f"{len(feed.domains)} domains from {args.import_file.name} ({args.format})"
    _record(target, "import", what, "")
    print(
        f"Imported {what}: {len(feed.domains - known)} new, {len(feed.domains & known)} "
        f"already blocked; {feed.skipped} entries were not domains and were skipped."
    )
    busiest = ", ".join(f"{domain} ({count})" for domain, count in feed.busiest)
    print(f"Most entries: {busiest}. Unblock any shared host with spito-admin unblock DOMAIN.")


def _stats(target: Target, _: argparse.Namespace) -> None:
    counts = target.operations.counts()
    removed = target.operations.removed_count()
    pending = len(target.operations.reports(pending_only=True))
    rows = [
        ("links", counts.get("link", 0)),
        ("pastes", counts.get("paste", 0)),
        ("reports", counts.get("report", 0)),
        ("pending reports", pending),
        ("held", removed.get("held", 0)),
        ("taken down", removed.get("taken-down", 0)),
        ("blocked domains", len(target.operations.blocked_domains())),
        ("audit records", counts.get("audit", 0)),
    ]
    for label, value in rows:
        print(f"{label + ':':<17} {value}")


def _audit(target: Target, _: argparse.Namespace) -> None:
    records = target.operations.audit_records()
    if not records:
        print("No actions recorded.")
    for record in records:
        why = f": {record.reason}" if record.reason else ""
        print(f"{_when(record.at)}  {record.actor}  {record.action} {record.target}{why}")


def _record(target: Target, action: str, subject: str, reason: str) -> None:
    target.operations.audit(
        actor=target.actor, action=action, target=subject, reason=reason, now=time.time()
    )


def _when(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M")
