"""The fleet's shared storage: one dynalite (DynamoDB) and one s3rver (S3), restartable in place.

Data lives on disk under the fleet's work directory, so a restarted dynalite comes back with
every item written before it stopped, as DynamoDB itself would.
"""

from __future__ import annotations

import time
from pathlib import Path

import boto3

from scripts.faults.processes import ManagedProcess, free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
TABLE = "spito-faults"
BUCKET = "spito-faults-blobs"
REGION = "us-east-1"
# s3rver accepts only these credentials; dynalite accepts any.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"}


class LocalStorage:
    """dynalite + s3rver on free loopback ports, with the table and bucket the service needs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.dynamodb_port = free_port()
        self.s3_port = free_port()
        self._dynalite: ManagedProcess | None = None
        self._s3rver: ManagedProcess | None = None

    @property
    def dynamodb_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.dynamodb_port}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def service_env(self) -> dict[str, str]:
        return {
            "SPITO_TABLE": TABLE,
            "SPITO_BUCKET": BUCKET,
            "AWS_REGION": REGION,
            "SPITO_DYNAMODB_ENDPOINT": self.dynamodb_endpoint,
            "SPITO_S3_ENDPOINT": self.s3_endpoint,
            **LOCAL_CREDENTIALS,
        }

    def start(self) -> None:
        (self.directory / "s3").mkdir(parents=True, exist_ok=True)
        self._s3rver = ManagedProcess.start(
            "s3rver",
            [
                str(NODE_BIN / "s3rver"),
                *("-d", str(self.directory / "s3"), "-a", "127.0.0.1", "-p", str(self.s3_port)),
                *("--silent", "--configure-bucket", BUCKET),
            ],
            log_path=self.directory / "s3rver.log",
        )
        self.start_dynamodb()
        wait_for_port(self.s3_port, timeout_s=20, process=self._s3rver)
        self._create_table()

    def start_dynamodb(self) -> None:
        """Start (or restart) dynalite on the same port over the same data."""
        self._dynalite = ManagedProcess.start(
            "dynalite",
            [
                str(NODE_BIN / "dynalite"),
                *("--host", "127.0.0.1", "--port", str(self.dynamodb_port)),
                *("--path", str(self.directory / "dynamodb"), "--createTableMs", "0"),
            ],
            log_path=self.directory / "dynalite.log",
        )
        wait_for_port(self.dynamodb_port, timeout_s=20, process=self._dynalite)

    def stop_dynamodb(self) -> None:
        if self._dynalite is not None:
            self._dynalite.stop()

    def stop(self) -> None:
        self.stop_dynamodb()
        if self._s3rver is not None:
            self._s3rver.stop()

    def _create_table(self) -> None:
        client = boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_endpoint,
            region_name=REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        if TABLE in client.list_tables()["TableNames"]:
            return
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        deadline = time.monotonic() + 10
        while client.describe_table(TableName=TABLE)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {TABLE} never became ACTIVE")
            time.sleep(0.05)
