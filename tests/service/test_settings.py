"""service/settings.py: defaults, and messages that name the variable and the fix."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError

REQUIRED = {"SPITO_TABLE": "links", "SPITO_BUCKET": "bodies"}


def test_only_the_table_and_bucket_are_required() -> None:
    settings = Settings.from_env(REQUIRED)
    assert (settings.table, settings.bucket) == ("links", "bodies")
    assert settings.port == 8080
    assert settings.client_ip_position == 0
    assert settings.paste_max_bytes == 10 * 1024 * 1024
    assert settings.cache_ttl_seconds == 30


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "70000"),
        ("SPITO_CACHE_TTL_SECONDS", "31"),
        ("SPITO_DRAIN_SECONDS", "45"),
        ("SPITO_PASTE_INLINE_MAX_BYTES", "70000"),
        ("SPITO_PUBLIC_URL", "https://spito.example.com/path"),
        ("SPITO_DYNAMODB_ENDPOINT", "localhost:8000"),
        ("SPITO_ALLOW_NEVER_EXPIRE", "maybe"),
        ("SPITO_WORKERS", "two"),
    ],
)
def test_invalid_value_is_refused_naming_the_variable_and_the_fix(
    variable: str, value: str
) -> None:
    with pytest.raises(SettingsError, match=f"{variable}=.*set it to"):
        Settings.from_env({**REQUIRED, variable: value})


def test_default_expiry_outside_the_limits_is_refused() -> None:
    with pytest.raises(SettingsError, match="SPITO_PASTE_EXPIRES_DEFAULT_SECONDS"):
        Settings.from_env({**REQUIRED, "SPITO_EXPIRES_MAX_SECONDS": "3600"})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"PORT": "x"})
    message = str(raised.value)
    for variable in ("PORT", "SPITO_TABLE", "SPITO_BUCKET"):
        assert variable in message
