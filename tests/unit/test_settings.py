"""Settings: local defaults just work; production refuses placeholders and missing Zalo credentials."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from settings import Settings

PG = "postgresql+psycopg://tracker@db:5432/tracker"
KEY = "k1:" + base64.b64encode(bytes(range(32))).decode()
LIVE_ZALO = {
    "zalo_app_id": "1234567890",
    "zalo_app_secret": "app-secret",
    "zalo_oa_secret": "oa-secret",
    "zalo_refresh_token": "refresh-token",
}


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_local_mode_runs_on_defaults_with_the_fake_zalo() -> None:
    local = settings()
    assert local.app_env == "local"
    assert local.effective_zalo_mode == "fake"
    assert local.is_sqlite


def test_production_refuses_placeholder_secrets_and_missing_zalo_credentials() -> None:
    with pytest.raises(ValidationError) as refused:
        settings(app_env="production", database_url=PG)
    message = str(refused.value)
    assert "SECRET_KEY is a placeholder" in message
    assert "PAYMENT_SECRET is a placeholder" in message
    assert "ZALO_APP_ID is missing" in message
    assert "PAYLOAD_KEYS is missing" in message


def test_production_refuses_sqlite() -> None:
    with pytest.raises(ValidationError, match="production runs on PostgreSQL"):
        settings(app_env="production", secret_key="s" * 32, payment_secret="p" * 32, **LIVE_ZALO)


def test_production_starts_with_real_secrets_and_zalo_credentials() -> None:
    production = settings(
        app_env="production",
        database_url=PG,
        secret_key="s" * 32,
        payment_secret="p" * 32,
        payload_keys=KEY,
        **LIVE_ZALO,
    )
    assert production.effective_zalo_mode == "live"


def test_production_never_runs_the_fake_zalo() -> None:
    with pytest.raises(ValidationError, match="ZALO_MODE=fake"):
        settings(
            app_env="production",
            database_url=PG,
            secret_key="s" * 32,
            payment_secret="p" * 32,
            payload_keys=KEY,
            zalo_mode="fake",
            **LIVE_ZALO,
        )


def test_every_knob_is_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASK_QUEUE", "dossiers-h21")
    monkeypatch.setenv("QUIET_HOURS_START", "21:30")
    monkeypatch.setenv("OFFICER_ZALO_IDS", '{"H21.65": {"officer": ["u1", "u2"]}}')
    from_env = settings()
    assert from_env.task_queue == "dossiers-h21"
    assert from_env.quiet_hours_start.isoformat() == "21:30:00"
    assert from_env.officer_zalo_ids == {"H21.65": {"officer": ["u1", "u2"]}}
