"""`POST /api/v1/dvcqg/sync`: the national portal's dossier sync payload, mapped onto our transitions.

The table of what each TrangThaiHoSo does is `domain.dvcqg.SYNC_TABLE`. Every step's event id is derived
from the payload (`dvcqg-<digest>-<step>`), so a resent sync repeats the same events and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import ValidationError
from sqlmodel import col, select

from activities.calendar import CalendarActivities
from api.deps import ClientDep, SessionDep, SessionFactoryDep, SettingsDep, TemporalDep, require_agency
from api.dossiers import OpenDossier, register_dossier, view
from api.openapi import problems
from api.problems import Problem
from api.schemas import DossierCreate, DvcqgSync, DvcqgSyncResult, PortalSupplement
from db.models import Dossier, DossierEvent, Payment
from domain.dossier import (
    Delivery,
    FeeItem,
    FeeRequest,
    PaymentReceived,
    Pickup,
    Rejection,
    ResultReady,
    Returned,
    SupplementReceived,
    SupplementRequest,
    Withdrawal,
)
from domain.dvcqg import CHANNELS, PortalStatus, SyncRefused, SyncStep, plan_sync
from domain.status import DossierStatus, allowed_transitions
from workflows.dossier import DossierWorkflow

router = APIRouter(prefix="/api/v1/dvcqg", tags=["national portal (DVCQG)"])

BY = "dvcqg"
DEFAULT_PAY_WITHIN_DAYS = 5


def payload_digest(body: DvcqgSync) -> str:
    """What identifies this sync: the fields we read, in normal form (unread fields do not count)."""
    normal = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(normal.encode()).hexdigest()[:20]


def event_id(digest: str, step: SyncStep) -> str:
    return f"dvcqg-{digest}-{step.value}"


def _missing(body: DvcqgSync, *fields: str, what: str = "yyyyMMddHHmmss, office time") -> Problem:
    names = " or ".join(fields)
    return Problem(
        422,
        f"TrangThaiHoSo {body.TrangThaiHoSo} needs {names} ({what}) / "
        f"Trạng thái {body.TrangThaiHoSo} cần trường {names}",
        slug="invalid-request",
        title="Invalid request",
    )


def _time(body: DvcqgSync, *fields: str) -> datetime:
    """The first of `fields` that the payload holds: the legal time of the step."""
    for name in fields:
        value = getattr(body, name)
        if isinstance(value, datetime):
            return value
    raise _missing(body, *fields)


def _latest_round(body: DvcqgSync) -> PortalSupplement:
    rounds = body.DanhSachHoSoBoSung or []
    if not rounds:
        raise _missing(body, "DanhSachHoSoBoSung", what="the documents asked for")
    # The portal lists every round; the latest request is the one that matters now.
    return max(
        enumerate(rounds), key=lambda pair: (pair[1].NgayBoSung is not None, pair[1].NgayBoSung, pair[0])
    )[1]


@router.post(
    "/sync",
    response_model=DvcqgSyncResult,
    responses={
        201: {"description": "A new dossier was registered from this sync", "model": DvcqgSyncResult},
        **problems(
            401,
            403,
            404,
            409,
            422,
            503,
            descriptions={
                404: "Unknown dossier, and TrangThaiHoSo is not 1, 2 or 4 (which register one)",
                409: "TrangThaiHoSo is impossible from the dossier's state (Vietnamese and English message)",
                422: "Invalid payload, unknown TrangThaiHoSo, or a field this status needs is missing",
            },
        ),
    },
)
async def sync_dossier(
    body: DvcqgSync,
    response: Response,
    client: ClientDep,
    session: SessionDep,
    sessions: SessionFactoryDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> DvcqgSyncResult:
    """Apply a national-portal (DVCQG) status sync: TrangThaiHoSo 1–10 mapped onto the transitions."""
    code = body.MaHoSo
    row = await session.get(Dossier, code)
    require_agency(client, row.agency_code if row else code.split("-")[0])
    portal = PortalStatus(body.TrangThaiHoSo)
    digest = payload_digest(body)
    current = DossierStatus(row.status) if row else None
    try:
        steps = plan_sync(portal, current)
    except SyncRefused as refused:
        if row is not None and await _applied_before(session, code, digest):
            return await _result(body, session, settings, [], replayed=True)
        if refused.status == 404:
            raise Problem(404, str(refused), slug="dossier-not-found", detail_vi=refused.message_vi) from None
        assert current is not None
        raise Problem(
            409,
            str(refused),
            slug="dvcqg-status-impossible",
            title="TrangThaiHoSo not possible in the current state",
            detail_vi=refused.message_vi,
            detail_en=refused.message_en,
            current_status=current.value,
            allowed=[t.value for t in allowed_transitions(current)],
        ) from None
    applied: list[str] = []
    for step in steps:
        if step is SyncStep.REGISTER:
            registration = await _registration(body, sessions, settings)
            _, created = await register_dossier(registration, client, session, temporal, settings)
            if created:
                response.status_code = status.HTTP_201_CREATED
        else:
            assert row is not None
            await _apply(step, body, digest, OpenDossier(row, client, session, temporal, settings))
        applied.append(step.value)
    return await _result(body, session, settings, applied, replayed=False)


async def _result(
    body: DvcqgSync, session: SessionDep, settings: SettingsDep, applied: list[str], *, replayed: bool
) -> DvcqgSyncResult:
    return DvcqgSyncResult(
        MaHoSo=body.MaHoSo,
        TrangThaiHoSo=body.TrangThaiHoSo,
        applied=applied,
        replayed=replayed,
        dossier=await view(session, settings, body.MaHoSo),
    )


async def _applied_before(session: SessionDep, code: str, digest: str) -> bool:
    """Whether this very payload already moved the dossier (a resend after the state moved on)."""
    prefix = f"dvcqg-{digest}-"
    event = await session.exec(
        select(DossierEvent.id)
        .where(DossierEvent.dossier_code == code, col(DossierEvent.event_id).startswith(prefix))
        .limit(1)
    )
    if event.first() is not None:
        return True
    payment = await session.exec(
        select(Payment.id).where(Payment.transaction_id == event_id(digest, SyncStep.CONFIRM_PAYMENT))
    )
    return payment.first() is not None


async def _registration(body: DvcqgSync, sessions: SessionFactoryDep, settings: SettingsDep) -> DossierCreate:
    """The registration a sync of a new dossier stands for; working days come from NgayHenTra."""
    needed = ("MaTTHC", "TenTTHC", "ChuHoSo", "SoDienThoai", "NgayTiepNhan", "NgayHenTra", "KenhThucHien")
    missing = [name for name in needed if getattr(body, name) in (None, "")]
    if missing:
        raise Problem(
            422,
            f"registering a new dossier needs {', '.join(missing)} / "
            f"để tạo hồ sơ mới cần {', '.join(missing)}",
            slug="invalid-request",
            title="Invalid request",
        )
    assert body.NgayTiepNhan is not None
    assert body.NgayHenTra is not None
    calendar = await CalendarActivities(sessions, settings).load()
    span = calendar.working_time_between(calendar.clock_start(body.NgayTiepNhan), body.NgayHenTra)
    working_days = round(span / calendar.hours.day_length)
    if working_days < 1:
        raise Problem(
            422,
            "NgayHenTra must lie at least one working day after NgayTiepNhan / "
            "NgayHenTra phải sau NgayTiepNhan ít nhất một ngày làm việc",
            slug="invalid-request",
            title="Invalid request",
        )
    try:
        return DossierCreate.model_validate(
            {
                "code": body.MaHoSo,
                "procedure": {"code": body.MaTTHC, "name": body.TenTTHC, "working_days": working_days},
                "agency_code": body.MaHoSo.split("-")[0],
                "applicant": {"name": body.ChuHoSo, "phone": body.SoDienThoai},
                "received_at": body.NgayTiepNhan,
                "channel": CHANNELS[str(body.KenhThucHien)],
            }
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise Problem(
            422, f"{'.'.join(map(str, first['loc']))}: {first['msg']}", slug="invalid-request"
        ) from None


async def _apply(step: SyncStep, body: DvcqgSync, digest: str, dossier: OpenDossier) -> None:
    """One step of a sync, as the matching transition with the payload's time and details."""
    eid = event_id(digest, step)
    note = body.GhiChu or ""
    if step is SyncStep.SUPPLEMENT_RECEIVED:
        rounds = body.DanhSachHoSoBoSung or []
        arrived = max((r.NgayTiepNhanBoSung for r in rounds if r.NgayTiepNhanBoSung), default=None)
        at = arrived or _time(body, "ThoiDiemXuLy")
        await dossier.apply(
            DossierWorkflow.supplement_received, SupplementReceived(event_id=eid, at=at, by=BY, note=note)
        )
    elif step is SyncStep.CONFIRM_PAYMENT:
        fee = (dossier.row.detail or {}).get("fee") or {}
        outstanding = int(fee.get("total_vnd", 0)) - int(fee.get("paid_vnd", 0))
        at = _time(body, "ThoiDiemXuLy")
        await dossier.pay(PaymentReceived(eid, max(outstanding, 1), at, source=BY))
    elif step is SyncStep.REQUEST_SUPPLEMENT:
        latest = _latest_round(body)
        at = latest.NgayBoSung or _time(body, "ThoiDiemXuLy")
        command = SupplementRequest(
            event_id=eid, at=at, by=BY, items=latest.items(), note=latest.NoiDungBoSung
        )
        await dossier.apply(DossierWorkflow.request_supplement, command)
    elif step is SyncStep.REQUEST_FEE:
        at = _time(body, "ThoiDiemXuLy")
        if not body.DanhSachLePhi:
            raise _missing(body, "DanhSachLePhi", what="the fees due")
        fee_request = FeeRequest(
            event_id=eid,
            at=at,
            by=BY,
            items=[FeeItem(item.TenPhiLePhi, item.Gia) for item in body.DanhSachLePhi],
            pay_within_days=DEFAULT_PAY_WITHIN_DAYS,
        )
        await dossier.apply(DossierWorkflow.request_fee, fee_request)
    elif step is SyncStep.REJECT:
        reason = note or "Hồ sơ không được tiếp nhận"
        at = _time(body, "NgayTuChoi", "ThoiDiemXuLy")
        await dossier.apply(DossierWorkflow.reject, Rejection(event_id=eid, at=at, by=BY, reason=reason))
    elif step is SyncStep.STOP:
        reason = f"Dừng xử lý: {note}" if note else "Dừng xử lý"
        at = _time(body, "NgayKetThucXuLy", "ThoiDiemXuLy")
        await dossier.apply(DossierWorkflow.reject, Rejection(event_id=eid, at=at, by=BY, reason=reason))
    elif step is SyncStep.WITHDRAW:
        at = _time(body, "ThoiDiemXuLy", "NgayKetThucXuLy")
        await dossier.apply(
            DossierWorkflow.withdraw, Withdrawal(event_id=eid, at=at, by=BY, reason=note or None)
        )
    elif step is SyncStep.MARK_RESULT_READY:
        at = _time(body, "NgayKetThucXuLy", "ThoiDiemXuLy", "NgayTra")
        by_post = str(body.HinhThuc) == "1"
        ready = ResultReady(
            event_id=eid,
            at=at,
            by=BY,
            pickup=None if by_post else Pickup(body.DonViXuLy or dossier.settings.notice_office_name),
            delivery=Delivery(note=body.ThongTinTra or "") if by_post else None,
        )
        await dossier.apply(DossierWorkflow.mark_result_ready, ready)
    elif step is SyncStep.MARK_RETURNED:
        at = _time(body, "NgayTra", "ThoiDiemXuLy")
        returned = Returned(event_id=eid, at=at, by=BY, to=body.ThongTinTra or "Chủ hồ sơ")
        await dossier.apply(DossierWorkflow.mark_returned, returned)
    else:  # pragma: no cover - REGISTER is handled by the caller
        raise AssertionError(step)
