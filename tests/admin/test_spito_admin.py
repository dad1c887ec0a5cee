"""`python -m spito_admin` end to end against the local stack (dynalite) and the real service.

Each subcommand is run as the operator runs it, in a process of its own, finding the local
stack through the storage file it writes; the service is then asked over HTTP whether the
action took effect. Bad arguments exit 2 and write nothing.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.stack import ROOT, LocalStack, ServiceProcess
from tests.service.helpers import BROWSER_USER_AGENT, assert_problem, create_link, create_paste

HOSTS_FILE = """\
# A hosts-format blocklist
127.0.0.1 localhost
0.0.0.0 0.0.0.0
0.0.0.0 tracker.hosts.example
0.0.0.0 ads.hosts.example  # a comment
plain.hosts.example
0.0.0.0 not_a_domain!
"""
URLHAUS_FILE = """\
################################################################
# abuse.ch URLhaus Database Dump (CSV - online URLs only)      #
################################################################
#
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
"3000001","2026-12-01 10:00:00","http://malware.urlhaus.example/bin.sh","online","2026-12-04 09:00:00","malware_download","elf","https://urlhaus.abuse.ch/url/3000001/","someone"
"3000002","2026-12-01 11:00:00","https://cdn.urlhaus.example:8443/a.exe","online","2026-12-04 09:00:00","malware_download","exe","https://urlhaus.abuse.ch/url/3000002/","someone"
"3000003","2026-12-01 12:00:00","http://198.51.100.23/x","online","2026-12-04 09:00:00","malware_download","","https://urlhaus.abuse.ch/url/3000003/","someone"
"""


def _admin(local_stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spito_admin", *args],
        cwd=ROOT,
        env={**os.environ, "SPITO_DEV_DATA_DIR": str(local_stack.data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _ok(local_stack: LocalStack, *args: str) -> str:
    result = _admin(local_stack, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _scan(aws_client: Callable[[str], Any], table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws_client("dynamodb").scan(TableName=table)["Items"]
    return sorted(items, key=lambda item: item["id"]["S"])


@pytest.fixture
def service(start_service: Callable[..., ServiceProcess]) -> ServiceProcess:
    # Distinct clients by X-Forwarded-For; the blocklist re-read quickly.
    return start_service(SPITO_CLIENT_IP_POSITION="1", SPITO_BLOCKLIST_REFRESH_SECONDS="0.5")


def _until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the change was not honoured in time"
        time.sleep(0.2)


def test_reports_show_takedown_restore_and_audit(
    local_stack: LocalStack, service: ServiceProcess
) -> None:
    with httpx.Client(base_url=service.url, headers={"User-Agent": BROWSER_USER_AGENT}) as client:
        paste = create_paste(client, "a phishing kit\n")
        for number in (1, 2, 3):
            response = client.post(
                "/api/v1/reports",
                json={"id": paste["id"], "reason": "phishing", "details": f"report {number}"},
                headers={"X-Forwarded-For": f"192.0.2.{number}"},
            )
            assert response.status_code == 202
        assert_problem(client.get(f"/api/v1/pastes/{paste['id']}"), 410)

        pending = _ok(local_stack, "reports", "--pending")
        assert pending.count(paste["id"]) == 3
        assert "phishing" in pending
        shown = _ok(local_stack, "show", paste["id"])
        assert "reported by:  3 clients" in shown
        assert "state:        held since" in shown
        assert "report 3" in shown

        _ok(local_stack, "takedown", paste["id"], "--reason", "a phishing kit for a bank")
        problem = assert_problem(client.get(f"/{paste['id']}/raw"), 410)
        assert problem["detail"].endswith(
            "removed by Spito's operators: a phishing kit for a bank."
        )
        assert paste["id"] not in _ok(local_stack, "reports", "--pending")
        assert paste["id"] in _ok(local_stack, "reports")

        _ok(local_stack, "restore", paste["id"])
        assert client.get(f"/api/v1/pastes/{paste['id']}").json()["content"] == "a phishing kit\n"

    audit = _ok(local_stack, "audit")
    actor = f"local:{getpass.getuser()}"
    assert f"{actor}  takedown {paste['id']}: a phishing kit for a bank" in audit
    assert f"{actor}  restore {paste['id']}" in audit
    stats = _ok(local_stack, "stats")
    assert "pending reports:" in stats
    assert "audit records:" in stats


def test_block_unblock_and_import_take_effect_on_the_service(
    local_stack: LocalStack, service: ServiceProcess, tmp_path: Path
) -> None:
    with httpx.Client(base_url=service.url, headers={"User-Agent": BROWSER_USER_AGENT}) as client:
        link = create_link(client, "https://www.Admin-Blocked.example/page")
        _ok(local_stack, "block", "ADMIN-BLOCKED.example.")
        assert "admin-blocked.example" in _ok(local_stack, "blocklist").splitlines()
        _until(lambda: client.get(f"/{link['id']}").status_code == 410)
        _ok(local_stack, "unblock", "admin-blocked.example")
        _until(lambda: client.get(f"/{link['id']}").status_code == 302)

        hosts = tmp_path / "hosts.txt"
        hosts.write_text(HOSTS_FILE)
        imported = _ok(local_stack, "blocklist", "--import", str(hosts), "--format", "hosts")
        assert "Imported 3 domains" in imported
        assert "1 entries were not domains" in imported
        urlhaus = tmp_path / "csv.txt"
        urlhaus.write_text(URLHAUS_FILE)
        _ok(local_stack, "blocklist", "--import", str(urlhaus), "--format", "urlhaus")
        listed = set(_ok(local_stack, "blocklist").splitlines())
        assert {
            "tracker.hosts.example",
            "ads.hosts.example",
            "plain.hosts.example",
            "malware.urlhaus.example",
            "cdn.urlhaus.example",
            "198.51.100.23",
        } <= listed
        assert not {"localhost", "0.0.0.0", "127.0.0.1"} & listed
        refused = {"url": "https://x.tracker.hosts.example/"}
        _until(lambda: client.post("/api/v1/links", json=refused).status_code == 400)
    audit = _ok(local_stack, "audit")
    assert "block admin-blocked.example" in audit
    assert "unblock admin-blocked.example" in audit
    assert "import 3 domains from hosts.txt (hosts)" in audit
    for domain in listed:  # leave the shared stack's blocklist as it was
        _ok(local_stack, "unblock", domain)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required: COMMAND"),
        (["frobnicate"], "invalid choice"),
        (["takedown", "abc123"], "--reason"),
        (["takedown", "abc123", "--reason", "  "], "--reason must say why"),
        (["block", "not a domain"], "not a domain name"),
        (["unblock", ""], "a domain is needed"),
        (["blocklist", "--import", "/no/such/file", "--format", "hosts"], "cannot read"),
        (["blocklist", "--import", "x.txt"], "go together"),
        (["blocklist", "--format", "hosts"], "go together"),
        (["blocklist", "--import", "x.txt", "--format", "csv"], "invalid choice"),
        (["--stage", "nosuchstage", "stats"], "unknown stage 'nosuchstage'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_and_write_nothing(
    local_stack: LocalStack,
    aws_client: Callable[[str], Any],
    spito_table: str,
    args: list[str],
    message: str,
) -> None:
    before = _scan(aws_client, spito_table)
    result = _admin(local_stack, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert _scan(aws_client, spito_table) == before


def test_an_import_of_a_file_without_domains_exits_2(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("# nothing here\n")
    result = _admin(local_stack, "blocklist", "--import", str(empty), "--format", "urlhaus")
    assert result.returncode == 2
    assert "no domains found" in result.stderr


def test_actions_on_missing_items_exit_1(local_stack: LocalStack) -> None:
    for args in (
        ("show", "nosuchitem1"),
        ("takedown", "nosuchitem1", "--reason", "spam"),
        ("restore", "nosuchitem1"),
        ("unblock", "never-blocked.example"),
    ):
        result = _admin(local_stack, *args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("spito-admin: "), result.stderr


def test_without_a_local_stack_it_says_how_to_start_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spito_admin", "stats"],
        cwd=ROOT,
        env={**os.environ, "SPITO_DEV_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "make dev" in result.stderr


def test_a_stage_needs_the_repositorys_folder(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spito_admin", "--stage", "dev", "stats"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "run spito-admin from the repository's folder" in result.stderr
