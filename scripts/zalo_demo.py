"""One dossier's notices through the fake Zalo, with a token expiry and a 5-minute outage on the way.

`python -m scripts.zalo_demo` prints what the fake Zalo received (as the citizen would read it) and the
delivery log. Everything runs in-process: a throw-away SQLite file, the fake behind httpx.ASGITransport,
the real token store, client, send activity and webhook route; Temporal's retries are played by a loop
that waits as long as the activity asks (on a simulated clock).
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from sqlmodel import SQLModel, col, select
from temporalio.exceptions import ApplicationError

import db.models  # noqa: F401  (registers every table)
from activities.notices import NoticeActivities
from api.routes.zalo import router
from db.engine import make_engine, make_session_factory
from db.models import Dossier, Notice
from db.zalo_tokens import ZaloTokenStore
from domain.codes import workflow_id
from domain.notices import NoticeKind, notice_key
from settings import Settings
from workflows.contracts import NoticeBatch
from zalo.client import ZaloClient
from zalo.config import zalo_config
from zalo.fake_server import FakeZalo, FaultSpec, create_fake_zalo_app
from zalo.webhook import signature_header

ICT = timezone(timedelta(hours=7))
CODE = "H21.65-261123-0001"
USER = "2512000000000000001"
OFFICER = "2512000000000000777"
BASE = {"code": CODE, "procedure_name": "Cấp giấy phép xây dựng nhà ở riêng lẻ", "agency_code": "H21.65"}


class DemoClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


STEPS: list[tuple[datetime, NoticeKind, dict[str, Any]]] = [
    (datetime(2026, 11, 23, 9, 16, tzinfo=ICT), NoticeKind.RECEIVED, {"due_at": "2026-12-14T16:00:00+07:00"}),
    (
        datetime(2026, 11, 24, 14, 0, tzinfo=ICT),
        NoticeKind.SUPPLEMENT_REQUIRED,
        {
            "items": ["Bản vẽ thiết kế mặt bằng (02 bản)", "Bản sao Giấy chứng nhận quyền sử dụng đất"],
            "note": "Nộp tại quầy số 3 hoặc trên Cổng Dịch vụ công.",
        },
    ),
    (
        datetime(2026, 11, 27, 10, 0, tzinfo=ICT),
        NoticeKind.FEE_DUE,
        {
            "items": [
                {"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 75000},
                {"name": "Phí thẩm định hồ sơ", "amount_vnd": 1175000},
            ],
            "total_vnd": 1250000,
            "pay_url": "https://thanhtoan.gialai.example/p/H21.65-261123-0001",
            "pay_by": "2026-12-02T17:00:00+07:00",
        },
    ),
    (
        datetime(2026, 12, 1, 8, 0, tzinfo=ICT),
        NoticeKind.FEE_REMINDER,
        {"total_vnd": 1250000, "pay_url": None, "pay_by": "2026-12-02T17:00:00+07:00", "reminder_no": 1},
    ),
    (
        datetime(2026, 12, 1, 15, 20, tzinfo=ICT),
        NoticeKind.PAYMENT_CONFIRMED,
        {
            "amount_vnd": 1250000,
            "transaction_id": "VNPT-20261201-883412",
            "due_at": "2026-12-24T16:00:00+07:00",
        },
    ),
    (
        datetime(2026, 12, 23, 9, 0, tzinfo=ICT),
        NoticeKind.DUE_SOON,
        {"due_at": "2026-12-24T16:00:00+07:00"},
    ),
    (
        datetime(2026, 12, 23, 16, 0, tzinfo=ICT),
        NoticeKind.APOLOGY,
        {
            "reason": "Cần thêm thời gian lấy ý kiến của cơ quan quản lý đê điều.",
            "old_due_at": "2026-12-24T16:00:00+07:00",
            "new_due_at": "2026-12-30T16:00:00+07:00",
        },
    ),
    (
        datetime(2026, 12, 29, 10, 30, tzinfo=ICT),
        NoticeKind.RESULT_READY,
        {"pickup": {"place": "Quầy số 3, Bộ phận Một cửa UBND huyện Chư Păh", "note": "Mang theo CCCD."}},
    ),
    (
        datetime(2027, 1, 5, 8, 0, tzinfo=ICT),
        NoticeKind.PICKUP_REMINDER,
        {"pickup": {"place": "Quầy số 3, Bộ phận Một cửa UBND huyện Chư Păh", "note": None}},
    ),
]


async def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp:
        await run(Path(tmp) / "demo.db")


async def run(path: Path) -> None:
    settings = Settings(
        _env_file=None,
        app_env="local",
        zalo_mode="fake",
        fake_zalo_url="http://fake-zalo",
        public_base_url="https://dichvucong.gialai.example",
        notice_office_name="Bộ phận Một cửa UBND huyện Chư Păh",
    )
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    session_factory = make_session_factory(engine)
    clock = DemoClock(STEPS[0][0])
    fake = FakeZalo(clock=clock)
    config = zalo_config(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_fake_zalo_app(fake))) as http:
        zalo = ZaloClient(config, http, ZaloTokenStore(session_factory, config, http, clock=clock))
        acts = NoticeActivities(session_factory, zalo, settings, clock=clock)
        api = FastAPI()
        api.include_router(router)
        api.state.settings, api.state.session_factory, api.state.zalo = settings, session_factory, zalo
        api.state.clock = clock  # events are fresh by the demo's clock
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api") as web:
            async with session_factory() as session:
                session.add(
                    Dossier(
                        code=CODE,
                        agency_code="H21.65",
                        procedure_code="1.001234",
                        procedure_name=BASE["procedure_name"],
                        working_days=15,
                        channel="online",
                        applicant_name="Nguyễn Văn An",
                        applicant_phone="84905123456",
                        received_at=STEPS[0][0],
                        fingerprint="0" * 64,
                        due_at=datetime(2026, 12, 14, 16, 0, tzinfo=ICT),
                    )
                )
                await session.commit()
            for seq, (at, kind, extra) in enumerate(STEPS, start=1):
                clock.now = at
                if kind is NoticeKind.SUPPLEMENT_REQUIRED:
                    # The citizen follows the OA and sends the dossier code; a one-time code goes by ZNS
                    # to the registered phone; sent back, it links the phone: later notices go by OA.
                    await webhook(web, fake, "follow", follower={"id": USER})
                    await says(web, fake, "m1", CODE)
                    [otp] = [
                        m["template_data"]["otp"]
                        for m in fake.messages
                        if "otp" in m.get("template_data", {})
                    ]
                    await says(web, fake, "m2", otp)
                if kind is NoticeKind.PAYMENT_CONFIRMED:
                    # Zalo drops the access token we refreshed at 08:00 (still 18 h to live by our clock).
                    fake.expire_access_tokens()
                if kind is NoticeKind.APOLOGY:
                    fake.add_fault(FaultSpec(http_status=503, seconds=300))  # Zalo is down for 5 minutes
                await record(session_factory, seq, kind, at, extra)
                await send_like_temporal(acts, clock, NoticeBatch(CODE, seq, kind.value, workflow_time=at))

        print("\n=== What the fake Zalo received, oldest first ===\n")
        for message in fake.messages:
            when = (
                datetime.fromisoformat(message["received_at"]).astimezone(ICT).strftime("%d/%m/%Y %H:%M:%S")
            )
            if message["channel"] == "oa":
                print(f"--- #{message['id']} {when} OA → {message['user_id']}\n{message['text']}\n")
            else:
                data = json.dumps(message["template_data"], ensure_ascii=False, indent=1)
                to = f"ZNS → {message['phone']} template {message['template_id']}"
                print(f"--- #{message['id']} {when} {to}\n{data}\n")
        print("=== Zalo calls ===")
        for call in fake.calls:
            print(f"{call['at'][:19]}  {call['path']:<5} error={call['error']}")
        print("\n=== Delivery log (notices) ===")
        async with session_factory() as session:
            rows = (await session.exec(select(Notice).order_by(col(Notice.id)))).all()
        print(f"{'key':<58} {'channel':<7} {'status':<10} {'attempts':>8}  sent_at")
        for row in rows:
            sent = row.sent_at.astimezone(ICT).strftime("%d/%m/%Y %H:%M") if row.sent_at else ""
            print(f"{row.key:<58} {row.channel or '':<7} {row.status:<10} {row.attempts:>8}  {sent}")
    await engine.dispose()


async def webhook(web: httpx.AsyncClient, fake: FakeZalo, name: str, **fields: Any) -> None:
    body = json.dumps(fake.event(name, **fields), ensure_ascii=False).encode()
    headers = {"X-ZEvent-Signature": signature_header(fake.app_id, body, fake.oa_secret)}
    response = await web.post("/webhooks/zalo", content=body, headers=headers)
    response.raise_for_status()


async def says(web: httpx.AsyncClient, fake: FakeZalo, msg_id: str, text: str) -> None:
    """The citizen writes to the OA."""
    message = {"msg_id": msg_id, "text": text}
    await webhook(web, fake, "user_send_text", sender={"id": USER}, message=message)


async def record(
    session_factory: Any, seq: int, kind: NoticeKind, at: datetime, extra: dict[str, Any]
) -> None:
    """What the workflow's record activity does: one row per notice (per officer for officer notices)."""
    recipient = OFFICER if kind.audience.value == "officer" else None
    async with session_factory() as session:
        session.add(
            Notice(
                key=notice_key(workflow_id(CODE), seq, kind, recipient or ""),
                dossier_code=CODE,
                seq=seq,
                kind=kind.value,
                audience=kind.audience.value,
                recipient=recipient,
                context={**BASE, "at": at.isoformat(), **extra},
                status="queued",
            )
        )
        await session.commit()


async def send_like_temporal(acts: NoticeActivities, clock: DemoClock, batch: NoticeBatch) -> None:
    """Retry as a RetryPolicy would (1 min, doubling), or after the delay the activity asks for."""
    backoff = timedelta(minutes=1)
    for _attempt in range(10):
        try:
            await acts.send(batch)
            return
        except ApplicationError as exc:
            delay = exc.next_retry_delay or backoff
            print(f"{clock.now:%d/%m/%Y %H:%M} {batch.kind}: {exc}; Temporal retries in {delay}")
            clock.now += delay
            backoff *= 2
    raise RuntimeError("gave up")


if __name__ == "__main__":
    asyncio.run(main())
