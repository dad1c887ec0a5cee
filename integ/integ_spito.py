"""`make integ`'s test app: a throwaway copy of a Spito stage, and what it must do on AWS.

Run by @aws-cdk/integ-runner (package.json), with aws-cdk.integ-tests-alpha's assertions
(requirements-dev.txt). The copy is the stage `SPITO_INTEG_BASE` (default dev) under the name
`SPITO_INTEG_NAME` (integ/run.py makes a unique one; the checked-in snapshot uses `integ`),
destroyed with its data, without a custom domain (its DNS names belong to the real stage) and
without an alarm e-mail. After deploying, the assertions prove through the public URL and AWS
APIs what the offline suite can only assume:

- /healthz and /readyz answer 200 through CloudFront (the fleet reached its table and bucket);
- a link is shortened (201), read back, and followed (the redirect leads to its target);
- a small and a large paste are created; the large one's body lands in the blob bucket;
- the SPA route /p/{id} is served from the bucket (200);
- an alarm delivers: its state is set to ALARM and the message reaches a temporary SQS queue
  subscribed to the alarm topic (topic policy and key admit CloudWatch);
- the canary's alarm is OK (its runs succeed), and service logs reach their log group.

integ-runner destroys every stack afterwards.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from aws_cdk import Duration, Environment, RemovalPolicy, Stack  # noqa: E402
from aws_cdk import aws_cloudwatch as cloudwatch  # noqa: E402
from aws_cdk import aws_sns as sns  # noqa: E402
from aws_cdk import aws_sqs as sqs  # noqa: E402
from aws_cdk.integ_tests_alpha import ExpectedResult, IApiCall, IntegTest, Match  # noqa: E402

import app as spito_app  # noqa: E402
from infra.config import CONTEXT_KEY, load_config  # noqa: E402
from infra.nag import acknowledge  # noqa: E402

BASE_STAGE = os.environ.get("SPITO_INTEG_BASE", "dev")
NAME = os.environ.get("SPITO_INTEG_NAME", "integ")
WEB_DIST = Path(os.environ.get("SPITO_INTEG_WEB_DIST", REPO_ROOT / "tests/edge/fixture_web_dist"))
LARGE_PASTE_BYTES = 200_000  # above the inline limit (64 KiB): stored in the blob bucket
WAIT = Duration.minutes(10)


def throwaway_context() -> dict[str, Any]:
    """cdk.json's context with a stage `NAME`: `BASE_STAGE`'s settings, deleted with its data."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    stages = context[CONTEXT_KEY]["stages"]
    stage = copy.deepcopy(stages[BASE_STAGE])
    stage["data"] = {"removal_policy": "destroy", "deletion_protection": False}
    stage["domain"] = {"domain_name": None, "hosted_zone_id": None}
    stage.setdefault("monitoring", {})["alarm_email"] = None
    stages[NAME] = stage
    context[spito_app.WEB_DIST_CONTEXT_KEY] = str(WEB_DIST)
    return context


def main() -> None:
    context = throwaway_context()
    config = load_config(context, NAME)
    application = spito_app.new_app(context=context)
    (stage,) = spito_app.build(application, [config])
    environment = Environment(account=config.account, region=config.region)
    probe = Stack(application, f"Spito-{NAME}-IntegProbe", env=environment)
    queue = sqs.Queue(
        probe,
        "AlarmMessages",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        removal_policy=RemovalPolicy.DESTROY,
    )
    sns.Subscription(
        probe,
        "AlarmSubscription",
        topic=stage.api.alarm_topic,
        protocol=sns.SubscriptionProtocol.SQS,
        endpoint=queue.queue_arn,
        raw_message_delivery=True,
    )
    queue.grant_send_messages(_sns_principal(stage.api.alarm_topic))
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        "make integ's throwaway queue, read once by the alarm assertion and destroyed with its "
        "stack: a dead-letter queue would hold nothing anyone reads.",
    )
    test = IntegTest(
        application,
        f"Spito-{NAME}-Integ",
        test_cases=[s for s in _stacks(stage) if s is not None] + [probe],
        assertion_stack=Stack(application, f"Spito-{NAME}-IntegAssertions", env=environment),
        regions=[config.region],
    )
    _assert_serving(test, stage)
    _assert_alarm_delivers(test, stage, queue)
    _assert_jobs_and_logs(test, stage)
    application.synth()


def _sns_principal(topic: sns.ITopic) -> Any:
    from aws_cdk import aws_iam as iam

    return iam.ServicePrincipal("sns.amazonaws.com").with_conditions(
        {"ArnEquals": {"aws:SourceArn": topic.topic_arn}}
    )


def _stacks(stage: spito_app.SpitoStacks) -> list[Stack | None]:
    return [
        stage.network,
        stage.data,
        stage.api,
        stage.edge,
        stage.jobs,
        stage.certificate,
        stage.edge_global,
    ]


def _ok(status: int) -> ExpectedResult:
    return ExpectedResult.object_like({"status": status})


@dataclass(frozen=True)
class HttpCheck:
    """One request to the public URL and what must come back: a status, and optionally fields
    of the JSON body. `redirects_to`: the answer is a redirect there (AWS's fetch follows it and
    sees the target's 200; tests/infra/test_integ.py, which replays these checks against the
    local stack, sees the 302 itself)."""

    method: str
    path: str
    status: int
    body: dict[str, str] | None = None
    body_like: dict[str, str] | None = None
    redirects_to: str | None = None


SLUG = f"it-{NAME}"
TARGET = "https://example.com/"
# In order: the link must exist before it is read and followed.
HTTP_CHECKS = (
    HttpCheck("GET", "/healthz", 200),
    HttpCheck("GET", "/readyz", 200),
    HttpCheck("POST", "/api/v1/links", 201, body={"url": TARGET, "slug": SLUG}),
    HttpCheck("GET", f"/api/v1/links/{SLUG}", 200, body_like={"url": TARGET}),
    HttpCheck("GET", f"/{SLUG}", 200, redirects_to=TARGET),
    HttpCheck("POST", "/api/v1/pastes", 201, body={"content": "hello from make integ\n"}),
    HttpCheck("POST", "/api/v1/pastes", 201, body={"content": "x" * LARGE_PASTE_BYTES}),
)


def _http_assertion(test: IntegTest, url: str, check: HttpCheck) -> IApiCall:
    call = test.assertions.http_api_call(
        f"{url}{check.path}",
        method=check.method,
        headers={"Content-Type": "application/json"} if check.body is not None else None,
        body=json.dumps(check.body) if check.body is not None else None,
    )
    expected: dict[str, Any] = {"status": check.status}
    if check.body_like is not None:
        expected["body"] = Match.object_like(check.body_like)
    call.expect(ExpectedResult.object_like(expected))
    return call


def _assert_serving(test: IntegTest, stage: spito_app.SpitoStacks) -> None:
    url = stage.edge.public_url
    checks = test.assertions
    calls = [_http_assertion(test, url, check) for check in HTTP_CHECKS]
    for before, after in itertools.pairwise(calls):
        before.next(after)
    blobs = checks.aws_api_call(
        "S3", "listObjectsV2", {"Bucket": stage.data.blob_bucket.bucket_name}
    )
    blobs.expect(
        ExpectedResult.object_like(
            {"Contents": Match.array_with([Match.object_like({"StorageClass": "STANDARD"})])}
        )
    )
    calls[-1].next(blobs)  # after the large paste
    checks.http_api_call(f"{url}/p/any-paste-id").expect(_ok(200))


def _assert_alarm_delivers(
    test: IntegTest, stage: spito_app.SpitoStacks, queue: sqs.IQueue
) -> None:
    (alarm, *_) = [c for c in stage.api.node.find_all() if isinstance(c, cloudwatch.Alarm)]
    set_state = test.assertions.aws_api_call(
        "CloudWatch",
        "setAlarmState",
        {
            "AlarmName": alarm.alarm_name,
            "StateValue": "ALARM",
            "StateReason": "make integ: proving the alarm topic delivers",
        },
    )
    received = test.assertions.aws_api_call(
        "SQS", "receiveMessage", {"QueueUrl": queue.queue_url, "WaitTimeSeconds": 20}
    )
    received.expect(
        ExpectedResult.object_like(
            {
                "Messages": Match.array_with(
                    [
                        Match.object_like(
                            {"Body": Match.string_like_regexp('"NewStateValue":"ALARM"')}
                        )
                    ]
                )
            }
        )
    )
    received.wait_for_assertions(total_timeout=WAIT, interval=Duration.seconds(30))
    set_state.next(received)


def _assert_jobs_and_logs(test: IntegTest, stage: spito_app.SpitoStacks) -> None:
    canary = test.assertions.aws_api_call(
        "CloudWatch", "describeAlarms", {"AlarmNames": [stage.jobs.canary.alarm.alarm_name]}
    )
    canary.expect(
        ExpectedResult.object_like(
            {"MetricAlarms": Match.array_with([Match.object_like({"StateValue": "OK"})])}
        )
    )
    canary.wait_for_assertions(total_timeout=WAIT, interval=Duration.minutes(1))
    logs = test.assertions.aws_api_call(
        "CloudWatchLogs",
        "filterLogEvents",
        {"logGroupName": stage.api.fleet.log_group.log_group_name, "limit": 1},
    )
    logs.expect(
        ExpectedResult.object_like(
            {
                "events": Match.array_with(
                    [Match.object_like({"message": Match.string_like_regexp(".")})]
                )
            }
        )
    )
    logs.wait_for_assertions(total_timeout=WAIT, interval=Duration.minutes(1))


if __name__ == "__main__":
    main()
