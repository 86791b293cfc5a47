"""Satisfaction ratings, on the real path: a dossier driven to `returned` over the machine API on the real
Temporal dev server, the rating link taken from the rating invite as the fake Zalo received it, the rating
given on the page, and what it leaves: the workflow's timeline and end, the `rated` row, the agency
head's notice of a low rating in the fake Zalo's journal, the statistics page. And the refusals: forged,
reused and expired links, a rating without a score, a flood of guesses; none writes anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.clients import create_client
from db.engine import SessionFactory
from db.models import DossierEvent, Notice
from db.types import utcnow
from domain import zns_templates
from domain.codes import workflow_id
from domain.notices import NoticeKind
from server import create_app
from settings import Settings
from tests.conftest import eventually, zalo_messages
from tests.support.api import registration
from tests.support.builders import Moments
from tests.support.pages import hidden, seed_officer, sign_in


@dataclass
class Office:
    app: FastAPI
    api: httpx.AsyncClient  # the TTHC system
    web: httpx.AsyncClient  # a citizen's phone, later an officer's browser
    zalo: httpx.AsyncClient
    env: WorkflowEnvironment
    sessions: SessionFactory

    async def returned(self) -> str:
        """A dossier registered, its result ready, returned; its code once the rating invite went out."""
        t = Moments()
        code = (await self.api.post("/api/v1/dossiers", json=registration(received_at=t(0)))).json()["code"]
        base = f"/api/v1/dossiers/{code}"
        ready = {"event_id": "r-1", "at": t(1).isoformat(), "pickup": {"place": "Quầy số 3"}}
        assert (await self.api.post(f"{base}/result", json=ready)).status_code == 200
        back = {"event_id": "r-2", "at": t(1.5).isoformat(), "to": "Chủ hồ sơ"}
        answer = await self.api.post(f"{base}/return", json=back)
        assert answer.status_code == 200, answer.text
        return code

    async def rating_link(self, code: str) -> str:
        """The rating button's address, from the rating invite the citizen's phone received (ZNS)."""
        template = zns_templates.TEMPLATES[NoticeKind.RATING_INVITE.value]

        async def invite() -> dict[str, Any] | None:
            return next(
                (
                    m
                    for m in await zalo_messages(self.zalo)
                    if m.get("template_id") == zns_templates.fake_template_id(template.key)
                    and m["template_data"]["dossier_code"] == code
                ),
                None,
            )

        message = await eventually(invite)
        assert "Mời ông/bà đánh giá mức độ hài lòng" in message["text"]
        token = message["template_data"]["rating_token"]
        return template.button_path.replace("<rating_token>", token)

    async def events(self, code: str) -> list[DossierEvent]:
        async with self.sessions() as session:
            found = await session.exec(
                select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(col(DossierEvent.seq))
            )
            return list(found.all())

    async def running(self, code: str) -> bool:
        description = await self.env.client.get_workflow_handle(workflow_id(code)).describe()
        return description.close_time is None


@pytest.fixture
async def office(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    worker: Worker,
    fake_zalo: httpx.AsyncClient,
) -> AsyncIterator[Office]:
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
    app = create_app(settings, temporal=workflow_env.client, session_factory=session_factory)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers={"Authorization": f"Bearer {key}"}
        ) as api,
        httpx.AsyncClient(transport=transport, base_url="http://api.test") as web,
    ):
        yield Office(app, api, web, fake_zalo, workflow_env, session_factory)


async def test_a_low_rating_from_the_notice_link_is_recorded_told_to_the_head_and_counted(
    office: Office,
) -> None:
    code = await office.returned()
    link = await office.rating_link(code)
    assert await office.running(code)  # waiting for the rating (a timer), not ended

    form = await office.web.get(link)
    assert form.status_code == 200, form.text
    assert code in form.text
    assert "Rất hài lòng" in form.text
    sent = await office.web.post(
        link,
        data={"form_token": hidden(form.text, "form_token"), "score": "2", "comment": "Phải đi lại ba lần."},
    )
    assert sent.status_code == 303, sent.text
    thanks = await office.web.get(sent.headers["location"])
    assert thanks.status_code == 200
    assert "Cảm ơn ông/bà đã đánh giá" in thanks.text

    # The workflow recorded it on the timeline, projected it, and ended.
    rated = [e for e in await office.events(code) if e.kind == "rated"]
    assert [(e.by, e.detail) for e in rated] == [("citizen", {"score": 2, "comment": "Phải đi lại ba lần."})]
    await eventually(lambda: _not(office.running(code)))
    timeline = (await office.api.get(f"/api/v1/dossiers/{code}")).json()["timeline"]
    assert timeline[-1]["kind"] == "rated"

    # The agency head (director-1 in the test settings) was told, over the OA.
    async def head_notice() -> list[str]:
        return [
            m["text"]
            for m in await zalo_messages(office.zalo)
            if m.get("user_id") == "director-1" and code in (m.get("text") or "")
        ]

    [text] = await eventually(head_notice)
    assert "[ĐÁNH GIÁ CHƯA HÀI LÒNG]" in text
    assert "2/5 (Không hài lòng)" in text
    assert "Phải đi lại" not in text  # the comment stays on the dossier page

    # The reused link is refused, and writes nothing.
    before = len(await office.events(code))
    again = await office.web.get(link)
    assert again.status_code == 409
    assert "đã được đánh giá" in again.text
    reused = await office.web.post(link, data={"form_token": hidden(form.text, "form_token"), "score": "5"})
    assert reused.status_code == 409
    assert len(await office.events(code)) == before

    # The statistics page counts it per agency and per procedure.
    await seed_officer(office.sessions)
    await sign_in(office.web)
    figures = await office.web.get("/can-bo/thong-ke")
    assert figures.status_code == 200
    assert "Mức độ hài lòng theo cơ quan" in figures.text
    # Once, in the page's body (a template slip once printed the section in <title> as well).
    assert figures.text.count('id="hai-long-thu-tuc"') == 1
    assert figures.text.split("<title>")[1].split("</title>")[0].startswith("Thống kê · ")
    assert "Mức độ hài lòng theo thủ tục" in figures.text
    row = figures.text.split('id="hai-long-thu-tuc"')[1].split("</tr>")[1]
    assert "Cấp giấy phép xây dựng" in row
    assert '<td class="num">1</td><td class="num">2.0/5</td><td class="num">0</td>' in row
    assert '<td class="num">0%</td><td class="num">1</td>' in row


async def _not(check: Any) -> bool:
    return not await check


async def test_forged_expired_and_scoreless_ratings_are_refused_and_write_nothing(
    office: Office, session_factory: SessionFactory
) -> None:
    code = await office.returned()
    link = await office.rating_link(code)
    before = len(await office.events(code))

    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    for path in (forged, "/danh-gia/H21.65-261123-0001.zzzzzz.abc", "/danh-gia/khong-hop-le"):
        page = await office.web.get(path)
        assert page.status_code == 404, path
        assert "Liên kết đánh giá không hợp lệ" in page.text
    assert (await office.web.post(forged, data={"score": "5"})).status_code == 404

    form = await office.web.get(link)
    token = hidden(form.text, "form_token")
    scoreless = await office.web.post(link, data={"form_token": token, "score": "9"})
    assert scoreless.status_code == 422
    assert "từ 1 đến 5 sao" in scoreless.text
    too_long = await office.web.post(link, data={"form_token": token, "score": "4", "comment": "x" * 1001})
    assert too_long.status_code == 422
    no_form_token = await office.web.post(link, data={"score": "4"})
    assert no_form_token.status_code == 403

    # Eight days on, by the app's clock: the link has expired.
    office.app.state.clock = lambda: utcnow() + timedelta(days=8)
    expired = await office.web.get(link)
    assert expired.status_code == 410
    assert "đã hết hạn" in expired.text
    assert (await office.web.post(link, data={"form_token": token, "score": "5"})).status_code == 410

    assert len(await office.events(code)) == before
    assert await office.running(code)
    async with session_factory() as session:
        heads = (await session.exec(select(Notice).where(Notice.kind == NoticeKind.LOW_RATING.value))).all()
    assert heads == []


async def test_guessing_links_in_bulk_slows_down(office: Office) -> None:
    statuses = [
        (await office.web.get(f"/danh-gia/H21.65-261123-{n:04d}.zzzzzz.guess")).status_code for n in range(12)
    ]
    assert statuses[:10] == [404] * 10
    assert statuses[-1] == 429
