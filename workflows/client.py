"""How the API, the worker and the tools reach Temporal: one place for address, namespace and converter."""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.service import RPCError

from settings import Settings

log = logging.getLogger(__name__)


def data_converter(settings: Settings) -> DataConverter:
    """The default converter (dataclasses round-trip as JSON); a payload codec goes on top when configured."""
    return DataConverter.default


async def connect(settings: Settings, *, attempts: int = 1, delay: float = 1.0) -> Client:
    """A client for the configured server; with `attempts` > 1 it waits for a server that is starting."""
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=data_converter(settings),
            )
        except (RPCError, RuntimeError) as err:
            if attempt == attempts:
                raise
            log.info("temporal not reachable yet (%s), retrying", err)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
