"""A dossier's transitions over the API and the texts its notices reached the fake Zalo with: what the
workflow tests of one dossier's path read (online submission, supplement deadline)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import col, select

from db.engine import SessionFactory
from db.models import Notice
from domain.notices import NoticeKind
from tests.conftest import eventually, zalo_messages

SENT = {"sent", "delivered"}


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
