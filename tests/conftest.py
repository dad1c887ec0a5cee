"""Shared fixtures live in tests/fixtures/, one module per concern, registered here."""

pytest_plugins = [
    "tests.fixtures.local_stack",  # dynalite, local S3 and the real service over HTTP
    "tests.fixtures.cdk_app",  # the CDK app, synthesized once per session
]
