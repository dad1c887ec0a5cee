"""The local stack serves the service over real HTTP against real dynalite and s3rver."""

import httpx


def test_readyz_answers_200_when_storage_runs(base_url: str) -> None:
    assert httpx.get(f"{base_url}/readyz").status_code == 200
