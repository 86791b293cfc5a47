"""Notices that really failed: dossiers registered through the API while the fake Zalo refuses, so the send
activity itself records the failure (fixtures: conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import col, select

from db.engine import SessionFactory
from db.models import Notice
from tests.conftest import eventually
from tests.support.builders import Moments, new_code

# Zalo's answer when the ZNS template id is not (yet) approved: permanent, retrying cannot help.
TEMPLATE_REFUSED = -109


async def zalo_refuses_zns(fake_zalo: httpx.AsyncClient) -> None:
    """Every ZNS call is refused for good until `zalo_accepts_again` (an outage of ten minutes)."""
    response = await fake_zalo.post(
        "/_fake/faults", json={"target": "zns", "error": TEMPLATE_REFUSED, "seconds": 600}
    )
    assert response.status_code == 201, response.text


async def zalo_accepts_again(fake_zalo: httpx.AsyncClient) -> None:
    """The cause is fixed (the template approved): the fake Zalo accepts messages again."""
    assert (await fake_zalo.delete("/_fake/faults")).status_code == 204


def registration(code: str, agency: str) -> dict[str, Any]:
    return {
        "code": code,
        "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
        "agency_code": agency,
        "applicant": {"name": "Nguyễn Văn A", "phone": "0905 123 456", "zalo_user_id": None},
        "received_at": Moments()(0).isoformat(),
        "channel": "online",
    }


async def notice_row(session_factory: SessionFactory, code: str, kind: str) -> Notice | None:
    async with session_factory() as session:
        found = await session.exec(
            select(Notice)
            .where(col(Notice.dossier_code) == code, col(Notice.kind) == kind)
            .order_by(col(Notice.id))
            .execution_options(populate_existing=True)
        )
        return found.first()


async def failed_notice(session_factory: SessionFactory, code: str, kind: str) -> Notice:
    """The notice of `kind` once the worker has given it up (failed-permanent)."""

    async def given_up() -> Notice | None:
        row = await notice_row(session_factory, code, kind)
        return row if row is not None and row.status == "failed-permanent" else None

    return await eventually(given_up)


async def refused_receipt_notice(
    api: httpx.AsyncClient,
    fake_zalo: httpx.AsyncClient,
    session_factory: SessionFactory,
    headers: dict[str, str],
    agency: str = "H21.65",
) -> Notice:
    """A dossier registered while Zalo refuses ZNS: its `received` notice to the citizen, failed for good."""
    await zalo_refuses_zns(fake_zalo)
    code = new_code(agency)
    created = await api.post("/api/v1/dossiers", json=registration(code, agency), headers=headers)
    assert created.status_code == 201, created.text
    row = await failed_notice(session_factory, code, "received")
    assert row.last_error is not None
    assert row.last_error.startswith(f"zalo_refused: zalo {TEMPLATE_REFUSED} (permanent)")
    return row


async def messages_for(fake_zalo: httpx.AsyncClient, tracking_or_user: str) -> list[dict[str, Any]]:
    """What the fake Zalo accepted for one ZNS tracking id or one OA user id."""
    journal: list[dict[str, Any]] = (await fake_zalo.get("/_fake/messages")).json()
    return [m for m in journal if tracking_or_user in (m.get("tracking_id"), m.get("user_id"))]
