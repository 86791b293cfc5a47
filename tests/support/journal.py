"""A dossier's transitions over the API and the texts its notices reached the fake Zalo with: what the
workflow tests of one dossier's path read (online submission, supplement deadline)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from db.agencies import set_agency
from db.clients import create_client
from db.engine import SessionFactory
from db.models import Notice
from domain.notices import NoticeKind
from server import create_app
from settings import Settings
from tests.conftest import eventually, zalo_messages
from tests.support.api import bearer

SENT = {"sent", "delivered"}
SAMPLE_AGENCIES = Path(__file__).resolve().parents[2] / "deploy" / "agencies.sample.json"


@dataclass
class Tthc:
    app: FastAPI  # on the ordinary dev server (pages may share it)
    api: httpx.AsyncClient  # the TTHC system (an H21.65 key), on the ordinary dev server
    timed: httpx.AsyncClient  # the same, on the time-skipping dev server


@asynccontextmanager
async def tthc_clients(
    settings: Settings,
    session_factory: SessionFactory,
    ordinary: WorkflowEnvironment,
    time_skipping: WorkflowEnvironment,
) -> AsyncIterator[Tthc]:
    """The H21.65 TTHC system on both dev servers, with the sample agency directory loaded."""
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
        for entry in json.loads(SAMPLE_AGENCIES.read_text(encoding="utf-8")):
            await set_agency(session, entry.pop("code"), entry)
    app = create_app(settings, temporal=ordinary.client, session_factory=session_factory)
    timed_app = create_app(settings, temporal=time_skipping.client, session_factory=session_factory)
    headers = bearer(key)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://a.test", headers=headers
        ) as api,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=timed_app), base_url="http://a.test", headers=headers
        ) as timed,
    ):
        yield Tthc(app, api, timed)


async def post(client: httpx.AsyncClient, code: str, route: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/v1/dossiers/{code}/{route}", json=body)


async def ok(client: httpx.AsyncClient, code: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
    """The transition, which must answer 200: the dossier's view."""
    response = await post(client, code, route, body)
    assert response.status_code == 200, (route, response.text)
    view: dict[str, Any] = response.json()
    return view


async def sent_text(
    session_factory: SessionFactory, fake_zalo: httpx.AsyncClient, code: str, kind: NoticeKind
) -> list[str]:
    """The texts the fake Zalo received for the dossier's notices of `kind` (once they are all sent)."""

    async def rows() -> list[Notice]:
        async with session_factory() as session:
            found = (
                await session.exec(
                    select(Notice)
                    .where(Notice.dossier_code == code, Notice.kind == kind.value)
                    .order_by(col(Notice.id))
                )
            ).all()
        return list(found) if found and all(row.status in SENT for row in found) else []

    sent = await eventually(rows, seconds=30)
    journal = {m["message_id"]: m for m in await zalo_messages(fake_zalo)}
    return [journal[row.zalo_message_id]["text"] for row in sent]
