"""Shared pieces of the Zalo and notice tests: a controllable clock, the fake Zalo in-process, sample rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from activities.notices import NoticeActivities
from db.engine import SessionFactory
from db.models import Dossier, Notice
from db.zalo_tokens import ZaloTokenStore
from domain import zns_templates
from domain.notices import NoticeKind, notice_key
from settings import Settings
from zalo.client import ZaloClient
from zalo.config import zalo_config
from zalo.fake_server import FakeZalo, create_fake_zalo_app

ICT = timezone(timedelta(hours=7))
CODE = "H21.65-261123-0001"
PHONE = "84905123456"
FAKE_URL = "http://fake-zalo.test"
TEMPLATE_IDS = {key: str(400000 + i) for i, key in enumerate(zns_templates.TEMPLATES)}


class Clock:
    """A clock the test moves by hand; shared by the fake Zalo, the token store and the activities."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "app_env": "local",
        "zalo_mode": "fake",
        "fake_zalo_url": FAKE_URL,
        "public_base_url": "https://dichvucong.gialai.example",
        "zns_template_ids": TEMPLATE_IDS,
        "notice_office_name": "Bộ phận Một cửa UBND huyện Chư Păh",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Harness:
    settings: Settings
    clock: Clock
    fake: FakeZalo
    http: httpx.AsyncClient
    tokens: ZaloTokenStore
    zalo: ZaloClient
    session_factory: SessionFactory
    activities: NoticeActivities
    extra: dict[str, Any] = field(default_factory=dict)

    def token_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.fake.calls if c["path"] == "token"]


@asynccontextmanager
async def zalo_harness(
    session_factory: SessionFactory,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    **fake_options: Any,
) -> AsyncIterator[Harness]:
    """The fake Zalo behind httpx.ASGITransport, a real token store and client, and the activities."""
    settings = settings or make_settings()
    clock = Clock(now or datetime(2026, 11, 24, 10, 0, tzinfo=ICT))
    fake_options.setdefault("templates", zns_templates.as_registered(TEMPLATE_IDS))
    fake = FakeZalo(clock=clock, **fake_options)
    app = create_fake_zalo_app(fake)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=FAKE_URL) as http:
        config = zalo_config(settings)
        tokens = ZaloTokenStore(session_factory, config, http, clock=clock)
        zalo = ZaloClient(config, http, tokens)
        activities = NoticeActivities(session_factory, zalo, settings, clock=clock)
        yield Harness(settings, clock, fake, http, tokens, zalo, session_factory, activities)


async def add_dossier(
    session_factory: SessionFactory,
    *,
    code: str = CODE,
    phone: str = PHONE,
    name: str = "Nguyễn Văn An",
    zalo_user_id: str | None = None,
) -> Dossier:
    dossier = Dossier(
        code=code,
        agency_code="H21.65",
        procedure_code="1.001234",
        procedure_name="Cấp giấy phép xây dựng nhà ở riêng lẻ",
        working_days=15,
        channel="online",
        applicant_name=name,
        applicant_phone=phone,
        applicant_zalo_user_id=zalo_user_id,
        received_at=datetime(2026, 11, 23, 9, 15, tzinfo=ICT),
        fingerprint="0" * 64,
        due_at=datetime(2026, 12, 14, 16, 0, tzinfo=ICT),
    )
    async with session_factory() as session:
        session.add(dossier)
        await session.commit()
    return dossier


SAMPLE_CONTEXT: dict[str, dict[str, Any]] = {
    "received": {"due_at": "2026-12-14T16:00:00+07:00"},
    "supplement_required": {
        "items": [
            "Bản vẽ thiết kế mặt bằng (02 bản)",
            "Bản sao Giấy chứng nhận quyền sử dụng đất có chứng thực",
        ],
        "note": "Nộp bổ sung trong 10 ngày làm việc kể từ ngày nhận thông báo.",
    },
    "fee_due": {
        "items": [
            {"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 75000},
            {"name": "Phí thẩm định hồ sơ", "amount_vnd": 1175000},
        ],
        "total_vnd": 1250000,
        "pay_url": "https://thanhtoan.gialai.example/p/H21.65-261123-0001",
        "pay_by": "2026-11-30T17:00:00+07:00",
    },
    "fee_reminder": {
        "total_vnd": 1250000,
        "pay_url": None,
        "pay_by": "2026-11-30T17:00:00+07:00",
        "reminder_no": 2,
    },
    "payment_confirmed": {
        "amount_vnd": 1250000,
        "transaction_id": "VNPT-20261125-883412",
        "due_at": "2026-12-16T16:00:00+07:00",
    },
    "result_ready": {
        "pickup": {
            "place": "Quầy số 3, Bộ phận Một cửa UBND huyện Chư Păh, 01 Trần Hưng Đạo, thị trấn Phú Hòa",
            "note": "Mang theo căn cước công dân bản gốc.",
        }
    },
    "pickup_reminder": {"pickup": {"place": "Quầy số 3, Bộ phận Một cửa UBND huyện Chư Păh", "note": None}},
    "rejected": {"reason": "Thửa đất nằm trong hành lang an toàn giao thông, không đủ điều kiện cấp phép."},
    "apology": {
        "reason": "Cần thêm thời gian lấy ý kiến của cơ quan quản lý đê điều.",
        "old_due_at": "2026-12-14T16:00:00+07:00",
        "new_due_at": "2026-12-21T16:00:00+07:00",
    },
    "withdrawn": {"reason": "Công dân đề nghị rút để điều chỉnh thiết kế."},
    "due_soon": {"due_at": "2026-12-14T16:00:00+07:00"},
    "overdue": {"due_at": "2026-12-14T16:00:00+07:00", "level": 1, "role": "supervisor"},
    "escalation": {"due_at": "2026-12-14T16:00:00+07:00", "level": 2, "role": "director"},
    "fee_unpaid": {"total_vnd": 1250000, "pay_by": "2026-11-30T17:00:00+07:00"},
    "payment_mismatch": {
        "amount_vnd": 1000000,
        "total_vnd": 1250000,
        "transaction_id": "VNPT-20261125-883412",
    },
}


def context_for(kind: NoticeKind, code: str = CODE) -> dict[str, Any]:
    """What the lead's record activity stores in `notices.context` for a notice of `kind`."""
    return {
        "code": code,
        "procedure_name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "agency_code": "H21.65",
        "at": "2026-11-24T09:30:00+07:00",
        **SAMPLE_CONTEXT[kind.value],
    }


async def add_notice(
    session_factory: SessionFactory,
    kind: NoticeKind,
    *,
    seq: int = 1,
    code: str = CODE,
    recipient: str | None = None,
    status: str = "queued",
    context: dict[str, Any] | None = None,
) -> Notice:
    """A delivery-log row as the workflow's record activity inserts it."""
    notice = Notice(
        key=notice_key(f"dossier-{code}", seq, kind, recipient or ""),
        dossier_code=code,
        seq=seq,
        kind=kind.value,
        audience=kind.audience.value,
        recipient=recipient,
        context=context if context is not None else context_for(kind, code),
        status=status,
    )
    async with session_factory() as session:
        session.add(notice)
        await session.commit()
        await session.refresh(notice)
    return notice


async def notices(session_factory: SessionFactory, code: str = CODE) -> list[Notice]:
    from sqlmodel import col, select

    async with session_factory() as session:
        return list(
            (
                await session.exec(select(Notice).where(Notice.dossier_code == code).order_by(col(Notice.id)))
            ).all()
        )


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)
