"""Helpers for the page tests: dossiers written straight into the projection, officers, signed-in clients."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import httpx

from db.engine import SessionFactory
from db.models import Dossier, DossierEvent, Notice
from db.officers import create_officer
from db.types import utcnow
from domain.access import DeskRole
from domain.timefmt import to_office
from tests.support.builders import due_after

_serial = count(5000)

PASSWORD = "mat-khau-rat-dai-1"
PHONE = "84905123456"  # last 4: 3456


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


async def seed_dossier(
    sessions: SessionFactory,
    *,
    code: str | None = None,
    agency: str = "H21.65",
    procedure: tuple[str, str] = ("1.001234", "Cấp giấy phép xây dựng"),
    status: str = "received",
    received_at: datetime | None = None,
    due_at: datetime | None = None,
    overdue: bool = False,
    detail: dict[str, Any] | None = None,
    events: list[tuple[str, dict[str, Any]]] | None = None,
    notices: list[dict[str, Any]] | None = None,
    finished_at: datetime | None = None,
    on_time: bool | None = None,
    applicant_name: str = "Nguyễn Văn A",
) -> str:
    """A dossier as the workflow would have projected it, without running one."""
    code = code or f"{agency}-261123-{next(_serial):04d}"
    received = received_at or hours_ago(48)
    async with sessions() as session:
        session.add(
            Dossier(
                code=code,
                agency_code=agency,
                procedure_code=procedure[0],
                procedure_name=procedure[1],
                working_days=15,
                channel="online",
                applicant_name=applicant_name,
                applicant_phone=PHONE,
                received_at=received,
                fingerprint="0" * 64,
                status=status,
                due_at=due_at if due_at is not None or status != "received" else due_after(received),
                overdue=overdue,
                detail=detail or {},
                finished_at=finished_at,
                on_time=on_time,
                last_seq=1 + len(events or []),
            )
        )
        await session.flush()
        session.add(
            DossierEvent(
                dossier_code=code, seq=1, at=received, kind="received", by="tthc", detail={"working_days": 15}
            )
        )
        for seq, (kind, event_detail) in enumerate(events or [], start=2):
            session.add(
                DossierEvent(
                    dossier_code=code,
                    seq=seq,
                    at=received + timedelta(minutes=seq),
                    kind=kind,
                    by="tthc",
                    detail=event_detail,
                )
            )
        for index, notice in enumerate(notices or []):
            session.add(
                Notice(
                    key=f"dossier-{code}:{index}:{notice['kind']}",
                    dossier_code=code,
                    seq=1,
                    audience=notice.get("audience", "citizen"),
                    **{k: v for k, v in notice.items() if k != "audience"},
                )
            )
        await session.commit()
    return code


async def seed_officer(
    sessions: SessionFactory,
    username: str = "lan.nt",
    agencies: list[str] | None = None,
    role: DeskRole = DeskRole.OFFICER,
    display_name: str = "Nguyễn Thị Lan",
) -> None:
    async with sessions() as session:
        await create_officer(session, username, display_name, PASSWORD, agencies or ["*"], role)


def hidden(html: str, name: str) -> str:
    """The value of a hidden input in a page."""
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, username: str = "lan.nt", password: str = PASSWORD) -> str:
    """Signs the client in through the login form; returns the CSRF token of the new session."""
    form = await client.get("/can-bo/dang-nhap")
    assert form.status_code == 200
    response = await client.post(
        "/can-bo/dang-nhap",
        data={
            "username": username,
            "password": password,
            "csrf_token": hidden(form.text, "csrf_token"),
            "next": "/can-bo",
        },
    )
    assert response.status_code == 303, response.text
    desk = await client.get("/can-bo")
    assert desk.status_code == 200
    return hidden(desk.text, "csrf_token")


async def review(
    client: httpx.AsyncClient, csrf: str, code: str, slug: str, **fields: str
) -> tuple[httpx.Response, dict[str, str]]:
    """An officer opens the action's form, fills it in (the time: now, unless given) and asks for the
    review; the review page and the form's fields."""
    path = f"/can-bo/ho-so/{code}/xu-ly/{slug}"
    form = await client.get(path)
    assert form.status_code == 200, form.text
    data = {
        "csrf_token": csrf,
        "event_id": hidden(form.text, "event_id"),
        "at": to_office(utcnow()).strftime("%Y-%m-%dT%H:%M:%S"),
        "step": "review",
        **fields,
    }
    return await client.post(path, data=data), data


async def act(client: httpx.AsyncClient, csrf: str, code: str, slug: str, **fields: str) -> httpx.Response:
    """An officer's action as the desk does it: the form, its review, then the confirmation."""
    page, data = await review(client, csrf, code, slug, **fields)
    assert page.status_code == 200, page.text
    done = await client.post(f"/can-bo/ho-so/{code}/xu-ly/{slug}", data=data | {"step": "confirm"})
    assert done.status_code == 303, done.text
    return done
