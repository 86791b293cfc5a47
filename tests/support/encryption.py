"""Payload encryption as the tests switch it on: keys, settings with them, and the encrypted stack."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import Client

from settings import Settings

CODEC_TOKEN = "codec-token-for-tests"
UI_ORIGIN = "http://temporal-ui.test"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def with_keys(settings: Settings, keys: dict[str, str], active: str, **changes: Any) -> Settings:
    """The test's settings with payload keys (validated the way the environment would be)."""
    values = settings.model_dump() | changes
    values["payload_keys"] = ",".join(f"{kid}:{key}" for kid, key in keys.items())
    values["payload_key_id"] = active
    values["codec_auth_token"] = changes.get("codec_auth_token", CODEC_TOKEN)
    for name in ("secret_key", "payment_secret", "zalo_app_secret", "zalo_oa_secret", "zalo_refresh_token"):
        values[name] = SecretStr(getattr(settings, name).get_secret_value())
    values.pop("local_api_key", None)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Encrypted:
    """The API and the worker with payload keys (tests/security/conftest.py `encrypted`)."""

    settings: Settings
    client: Client  # with the codec: the API and the worker
    plain: Client  # without it: what Temporal's database and an unconfigured UI see
    api: httpx.AsyncClient
