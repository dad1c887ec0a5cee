"""A local HTTP server standing in for the AWS calls the deploy guard makes.

STS GetCallerIdentity (query protocol, XML) answers with a configured account; SSM
GetParameter (JSON 1.1) answers from parameters kept per region, the region read from the
request's SigV4 credential scope as AWS does; the SSO portal's GetRoleCredentials (REST JSON,
`GET /federation/credentials`, the call botocore makes for an SSO profile) hands out role
credentials, or answers UnauthorizedException as it does once the SSO session has expired.
boto3 reaches it through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/")
_IDENTITY = """<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::{account}:user/deployer</Arn>
    <UserId>AIDAEXAMPLE</UserId>
    <Account>{account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"""


@dataclass
class FakeAws:
    """The account the credentials belong to, SSM parameters by (region, name), calls seen.

    A (region, name) in `denied` answers AccessDeniedException, as for credentials whose policy
    does not allow ssm:GetParameter there. With `sso_session_expired`, the SSO portal refuses
    every access token.
    """

    account: str
    url: str = ""
    parameters: dict[tuple[str, str], str] = field(default_factory=dict)
    denied: set[tuple[str, str]] = field(default_factory=set)
    sso_session_expired: bool = False
    calls: list[str] = field(default_factory=list)


def _handler(state: FakeAws) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads `state.calls` instead."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            scope = _SCOPE.search(self.headers.get("Authorization", ""))
            region = scope["region"] if scope else "?"
            target = self.headers.get("X-Amz-Target", "")
            if target == "AmazonSSM.GetParameter":
                self._get_parameter(region, json.loads(body)["Name"])
            elif parse_qs(body.decode()).get("Action") == ["GetCallerIdentity"]:
                state.calls.append("sts:GetCallerIdentity")
                self._reply(200, "text/xml", _IDENTITY.format(account=state.account))
            else:
                self._reply(400, "text/plain", f"unsupported call {target or body!r}")

        def do_GET(self) -> None:
            if not self.path.startswith("/federation/credentials"):
                self._reply(400, "text/plain", f"unsupported call GET {self.path}")
                return
            state.calls.append("sso:GetRoleCredentials")
            if state.sso_session_expired:
                # GetRoleCredentials' error for a token that is no longer valid: HTTP 401,
                # UnauthorizedException (docs.aws.amazon.com/singlesignon/latest/
                # PortalAPIReference/API_GetRoleCredentials.html).
                error = {"message": "Session token not found or invalid"}
                self._reply(401, "application/json", json.dumps(error), "UnauthorizedException")
                return
            expiration_ms = 4_102_444_800_000  # 2100-01-01
            credentials = {
                "accessKeyId": "ASIAEXAMPLE",
                "secretAccessKey": "example-secret",
                "sessionToken": "example-token",
                "expiration": expiration_ms,
            }
            self._reply(200, "application/json", json.dumps({"roleCredentials": credentials}))

        def _get_parameter(self, region: str, name: str) -> None:
            state.calls.append(f"ssm:GetParameter {region} {name}")
            if (region, name) in state.denied:
                error = {
                    "__type": "AccessDeniedException",
                    "message": f"User: arn:aws:iam::{state.account}:user/deployer is not "
                    f"authorized to perform: ssm:GetParameter on resource: "
                    f"arn:aws:ssm:{region}:{state.account}:parameter{name}",
                }
                self._reply(400, "application/x-amz-json-1.1", json.dumps(error))
                return
            value = state.parameters.get((region, name))
            if value is None:
                error = {"__type": "ParameterNotFound", "message": f"{name} not found"}
                self._reply(400, "application/x-amz-json-1.1", json.dumps(error))
                return
            parameter = {"Name": name, "Type": "String", "Value": value, "Version": 1}
            self._reply(200, "application/x-amz-json-1.1", json.dumps({"Parameter": parameter}))

        def _reply(self, status: int, content_type: str, text: str, error_type: str = "") -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if error_type:
                self.send_header("X-Amzn-ErrorType", error_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def fake_aws(account: str) -> Iterator[FakeAws]:
    """A running fake on a free loopback port, stopped on exit."""
    state = FakeAws(account=account)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
