"""The ALB target group's health check as plain numbers, with no CDK import.

infra/api_fleet.py builds the target group from these, and the fault harness (faults)
gives HAProxy the same path and counts, so the stand-in marks instances down and up as the ALB
does. The ALB does not retry a request on another target: a lost instance fails its share of
requests until the check notices, so it checks at the ALB's fastest, every 5 s with 2
failures (about 10 s to detect).
"""

from __future__ import annotations

PATH = "/healthz"
HEALTHY_HTTP_CODES = "200"
INTERVAL_SECONDS = 5
TIMEOUT_SECONDS = 4
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 2
