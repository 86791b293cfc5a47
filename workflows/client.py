"""How the API, the worker and the tools reach Temporal: one place for address, namespace, security
(TLS, mTLS, API key) and converter."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import RPCError, TLSConfig

from settings import Settings
from workflows.codec import EncryptionCodec

log = logging.getLogger(__name__)


def payload_codec(settings: Settings, *, strict: bool = False) -> EncryptionCodec | None:
    """The encryption codec when PAYLOAD_KEYS is set (docs/pii.md), else None. Strict: what is not ours
    (a plaintext signal from the UI or the CLI) is refused, not read."""
    active = settings.payload_encryption_key_id
    return EncryptionCodec(settings.payload_keyring(), active, strict=strict) if active else None


def data_converter(settings: Settings) -> DataConverter:
    """The default converter (dataclasses round-trip as JSON), with the payload codec on top when configured.

    With a codec, failure messages and stack traces are encoded too: an error text may quote a phone number;
    and the codec is strict: once keys are configured, the worker and the clients read only payloads
    encrypted for the workflow they belong to.
    """
    codec = payload_codec(settings, strict=True)
    if codec is None:
        return DataConverter.default
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def connect_options(settings: Settings) -> dict[str, Any]:
    """How to reach the configured cluster, as `Client.connect` keywords: plaintext (the compose network),
    TLS with the server's CA, mTLS with a client certificate, or an API key (Temporal Cloud). Certificate
    files are read here, at connection time, so a renewed one is picked up by a restart."""
    if not settings.temporal_uses_tls:
        return {"tls": False}
    tls = TLSConfig(
        server_root_ca_cert=_read(settings.temporal_tls_server_ca_cert),
        domain=settings.temporal_tls_server_name or None,
        client_cert=_read(settings.temporal_tls_client_cert),
        client_private_key=_read(settings.temporal_tls_client_key),
    )
    options: dict[str, Any] = {"tls": tls}
    api_key = settings.temporal_api_key.get_secret_value()
    if api_key:
        options["api_key"] = api_key
    return options


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


async def connect(
    settings: Settings, *, attempts: int = 1, delay: float = 1.0, runtime: Runtime | None = None
) -> Client:
    """A client for the configured server; with `attempts` > 1 it waits for a server that is starting.

    `runtime` carries the worker's metrics exporter (see worker.py); the SDK's default runtime otherwise.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=data_converter(settings),
                runtime=runtime,
                **connect_options(settings),
            )
        except (RPCError, RuntimeError) as err:
            if attempt == attempts:
                raise
            log.info("temporal not reachable yet (%s), retrying", err)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


class TemporalConnection:
    """A client made on first use, so a process starts (and says it is not ready) while Temporal is down.

    `get()` raises what `connect` raises (RPCError, RuntimeError) while the server cannot be reached.
    """

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await connect(self._settings)
        return self._client
