"""`POST /api/v1/dvcqg/sync`: the national portal's dossier sync payload, mapped onto our transitions.

The table of what each TrangThaiHoSo does is `domain.dvcqg.SYNC_TABLE`. Every step's event id is derived
from the payload (`dvcqg-<digest>-<step>`), so a resent sync repeats the same events and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from api.keys import ClientDep, require_agency
from api.openapi import problems
from api.problems import Problem
from api.registration import register
from api.schemas.commands import DossierCreate
from api.schemas.dvcqg import DvcqgSync, DvcqgSyncResult, PortalSupplement
from api.views import view
from db.calendar import office_calendar
from db.dossiers import events_with_prefix
from db.models import Dossier
from db.payments import payment_of
from db.procedures import catalogue_procedure, current_version
from domain import limits, vocabulary
from domain.codes import agency_of
from domain.digest import digest
from domain.dossier import (
    Actor,
    Command,
    Delivery,
    FeeItem,
    FeeRequest,
    IntakeChannel,
    PaymentReceived,
    Pickup,
    Reception,
    ReceptionRefusal,
    Rejection,
    ResultReady,
    Returned,
    SupplementReceived,
    SupplementRequest,
    Withdrawal,
)
from domain.dvcqg import (
    CHANNELS,
    PortalStatus,
    SyncRefused,
    SyncStep,
    plan_sync,
    sync_event_id,
    sync_events_prefix,
)
from domain.status import DossierStatus, Transition, allowed_transitions
from settings import Settings
from web.deps import GatewayDep, SessionDep, SettingsDep
from workflows.gateway import Gateway

router = APIRouter(prefix="/api/v1/dvcqg", tags=["national portal (DVCQG)"])

BY = Actor.DVCQG.value


def payload_digest(body: DvcqgSync) -> str:
    """What identifies this sync: the fields we read, in normal form (unread fields do not count)."""
    return digest(body.model_dump(mode="json"))[:20]


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
                404: "Unknown dossier, and TrangThaiHoSo is not 1, 2, 3 or 4 (which register one; 1 and 3 "
                "as an online submission not yet received, 3 then refused at reception)",
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
    gateway: GatewayDep,
    settings: SettingsDep,
) -> DvcqgSyncResult:
    """Apply a national-portal (DVCQG) status sync: TrangThaiHoSo 1–10 mapped onto the transitions."""
    code = body.MaHoSo
    row = await session.get(Dossier, code)
    require_agency(client, row.agency_code if row else agency_of(code))
    portal = PortalStatus(body.TrangThaiHoSo)
    sync_digest = payload_digest(body)
    current = DossierStatus(row.status) if row else None
    try:
        steps = plan_sync(portal, current)
    except SyncRefused as refused:
        if row is not None and await _applied_before(session, code, sync_digest):
            return await _result(body, session, settings, [], replayed=True)
        in_vietnamese = vocabulary.sync_refusal(refused)
        both = f"{in_vietnamese} / {refused.message_en}"  # the portal's operators read either
        if refused.status == 404:
            raise Problem(404, both, slug="dossier-not-found", detail_vi=in_vietnamese) from None
        assert current is not None
        raise Problem(
            409,
            both,
            slug="dvcqg-status-impossible",
            title="TrangThaiHoSo not possible in the current state",
            detail_vi=in_vietnamese,
            detail_en=refused.message_en,
            current_status=current.value,
            allowed=[t.value for t in allowed_transitions(current)],
        ) from None
    applied: list[str] = []
    for step in steps:
        if step in (SyncStep.REGISTER, SyncStep.REGISTER_SUBMITTED):
            registration = await _registration(
                body, session, settings, submitted=step is SyncStep.REGISTER_SUBMITTED
            )
            if await register(session, gateway, registration.registration()):
                response.status_code = status.HTTP_201_CREATED
            row = await session.get(Dossier, code, populate_existing=True)
        else:
            assert row is not None
            await _apply(step, body, sync_digest, row, session, gateway, settings)
        applied.append(step.value)
    return await _result(body, session, settings, applied, replayed=False)


async def _result(
    body: DvcqgSync, session: AsyncSession, settings: Settings, applied: list[str], *, replayed: bool
) -> DvcqgSyncResult:
    return DvcqgSyncResult(
        MaHoSo=body.MaHoSo,
        TrangThaiHoSo=body.TrangThaiHoSo,
        applied=applied,
        replayed=replayed,
        dossier=await view(session, settings, body.MaHoSo),
    )


async def _applied_before(session: AsyncSession, code: str, sync_digest: str) -> bool:
    """Whether this very payload already moved the dossier (a resend after the state moved on)."""
    if await events_with_prefix(session, code, sync_events_prefix(sync_digest)):
        return True
    return await payment_of(session, sync_event_id(sync_digest, SyncStep.CONFIRM_PAYMENT)) is not None


async def _registration(
    body: DvcqgSync, session: AsyncSession, settings: Settings, *, submitted: bool = False
) -> DossierCreate:
    """The registration a sync of a new dossier stands for; working days come from NgayHenTra. An online
    submission not yet received (`submitted`: codes 1 and 3) has no appointment yet: NgayTiepNhan is its
    submission time and its working days come from the province's catalogue when NgayHenTra is absent."""
    needed: tuple[str, ...] = (
        "MaTTHC",
        "TenTTHC",
        "ChuHoSo",
        "SoDienThoai",
        "NgayTiepNhan",
        "NgayHenTra",
        "KenhThucHien",
    )
    if submitted:
        needed = tuple(name for name in needed if name not in ("NgayHenTra", "KenhThucHien"))
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
    if body.NgayHenTra is None:
        assert submitted
        working_days = await _catalogue_working_days(body, session)
    else:
        calendar = await office_calendar(session, settings.office_hours())
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
                "agency_code": agency_of(body.MaHoSo),
                "applicant": {"name": body.ChuHoSo, "phone": body.SoDienThoai},
                "received_at": body.NgayTiepNhan,
                "channel": IntakeChannel.ONLINE if submitted else CHANNELS[str(body.KenhThucHien)],
                "submitted": submitted,
            }
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise Problem(
            422, f"{'.'.join(map(str, first['loc']))}: {first['msg']}", slug="invalid-request"
        ) from None


async def _catalogue_working_days(body: DvcqgSync, session: AsyncSession) -> int:
    """A submission's working days when the portal gives no appointment: the catalogue's, or 422."""
    version = await current_version(session)
    entry = await catalogue_procedure(session, str(body.MaTTHC), version) if version is not None else None
    if entry is None:
        raise Problem(
            422,
            f"procedure {body.MaTTHC} is not in the province's catalogue: a submission without NgayHenTra "
            f"needs it for its working days / thủ tục {body.MaTTHC} chưa có trong danh mục thủ tục của tỉnh: "
            "hồ sơ chưa có NgayHenTra cần danh mục để biết thời hạn giải quyết",
            slug="invalid-request",
            title="Invalid request",
        )
    return entry.working_days


async def _apply(
    step: SyncStep,
    body: DvcqgSync,
    sync_digest: str,
    row: Dossier,
    session: AsyncSession,
    gateway: Gateway,
    settings: Settings,
) -> None:
    """One step of a sync, as the matching command with the payload's time and details."""
    eid = sync_event_id(sync_digest, step)
    if step is SyncStep.CONFIRM_PAYMENT:
        fee = (row.detail or {}).get("fee") or {}
        outstanding = int(fee.get("total_vnd", 0)) - int(fee.get("paid_vnd", 0))
        payment = PaymentReceived(
            eid, max(outstanding, 1), _time(body, "ThoiDiemXuLy"), source=BY, require_fee_due=True
        )
        await gateway.pay(session, row, payment)
        return
    transition, command = _command(step, body, eid, settings)
    await gateway.apply(session, row, transition, command)


def _command(step: SyncStep, body: DvcqgSync, eid: str, settings: Settings) -> tuple[Transition, Command]:
    """The transition a step stands for, and its command from the payload."""
    note = body.GhiChu or ""
    if step is SyncStep.SUPPLEMENT_RECEIVED:
        rounds = body.DanhSachHoSoBoSung or []
        arrived = max((r.NgayTiepNhanBoSung for r in rounds if r.NgayTiepNhanBoSung), default=None)
        at = arrived or _time(body, "ThoiDiemXuLy")
        return Transition.SUPPLEMENT_RECEIVED, SupplementReceived(event_id=eid, at=at, by=BY, note=note)
    if step is SyncStep.REQUEST_SUPPLEMENT:
        latest = _latest_round(body)
        at = latest.NgayBoSung or _time(body, "ThoiDiemXuLy")
        return Transition.REQUEST_SUPPLEMENT, SupplementRequest(
            event_id=eid, at=at, by=BY, items=latest.items(), note=latest.NoiDungBoSung
        )
    if step is SyncStep.REQUEST_FEE:
        at = _time(body, "ThoiDiemXuLy")
        if not body.DanhSachLePhi:
            raise _missing(body, "DanhSachLePhi", what="the fees due")
        return Transition.REQUEST_FEE, FeeRequest(
            event_id=eid,
            at=at,
            by=BY,
            items=[FeeItem(item.TenPhiLePhi, item.Gia) for item in body.DanhSachLePhi],
            pay_within_days=limits.DEFAULT_PAY_WITHIN_DAYS,
        )
    if step is SyncStep.RECEIVE:
        at = _time(body, "ThoiDiemXuLy", "NgayTiepNhan")
        return Transition.RECEIVE, Reception(event_id=eid, at=at, by=BY, note=note)
    if step is SyncStep.REFUSE_RECEPTION:
        at = _time(body, "NgayTuChoi", "ThoiDiemXuLy")
        return Transition.REFUSE_RECEPTION, ReceptionRefusal(
            event_id=eid, at=at, by=BY, reason=note or "Hồ sơ không được tiếp nhận"
        )
    if step is SyncStep.REJECT:
        at = _time(body, "NgayTuChoi", "ThoiDiemXuLy")
        return Transition.REJECT, Rejection(
            event_id=eid, at=at, by=BY, reason=note or "Hồ sơ không được tiếp nhận", at_reception=True
        )
    if step is SyncStep.STOP:
        at = _time(body, "NgayKetThucXuLy", "ThoiDiemXuLy")
        reason = f"Dừng xử lý: {note}" if note else "Dừng xử lý"
        return Transition.REJECT, Rejection(event_id=eid, at=at, by=BY, reason=reason)
    if step is SyncStep.WITHDRAW:
        at = _time(body, "ThoiDiemXuLy", "NgayKetThucXuLy")
        return Transition.WITHDRAW, Withdrawal(event_id=eid, at=at, by=BY, reason=note or None)
    if step is SyncStep.MARK_RESULT_READY:
        at = _time(body, "NgayKetThucXuLy", "ThoiDiemXuLy", "NgayTra")
        by_post = str(body.HinhThuc) == "1"
        return Transition.MARK_RESULT_READY, ResultReady(
            event_id=eid,
            at=at,
            by=BY,
            pickup=None if by_post else Pickup(body.DonViXuLy or settings.notice_office_name),
            delivery=Delivery(note=body.ThongTinTra or "") if by_post else None,
        )
    if step is SyncStep.MARK_RETURNED:
        at = _time(body, "NgayTra", "ThoiDiemXuLy")
        return Transition.MARK_RETURNED, Returned(
            event_id=eid, at=at, by=BY, to=body.ThongTinTra or "Chủ hồ sơ"
        )
    raise AssertionError(step)  # REGISTER(_SUBMITTED) and CONFIRM_PAYMENT are not transitions of their own
