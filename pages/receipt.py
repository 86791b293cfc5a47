"""Printed documents of the counter: the receipt of a dossier (Giấy tiếp nhận hồ sơ và hẹn trả kết quả,
Mẫu số 01), its process-control sheet (Phiếu kiểm soát quá trình giải quyết hồ sơ, Mẫu số 06) and an
agency's poster with the OA's QR code, each as a printable page and as a PDF rendered
from the same template (pages/printing.py).

The receipt carries two QR codes: the dossier's lookup link (Settings.lookup_url; the page still asks for
the last 4 digits of the phone, so the phone is printed masked) and the OA's follow link
(Settings.oa_follow_url). Only officers of the dossier's agency print it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from db.agencies import agency_card
from db.dossiers import events_of
from db.models import Dossier
from db.officers import officers_named
from db.procedures import catalogue_procedure
from domain import vocabulary
from domain.codes import AGENCY_CODE_PATTERN, mask_phone
from domain.dossier import Step
from domain.steps import sheet_rows
from domain.timefmt import to_office
from pages.auth import SignedIn, SignedInDep
from pages.dossier import load_dossier
from pages.printing import PRINT_CSS, pdf_of, qr_svg
from pages.render import ENV, SECURITY_HEADERS, PageError, PageRoute, render
from settings import Settings
from web.deps import SessionDep, SettingsDep

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PRINT_CSS_VERSION = hashlib.sha256(PRINT_CSS.read_bytes()).hexdigest()[:10]


def receipt_context(
    row: Dossier, agency: Any, settings: Settings, receiver: str, documents: tuple[str, ...] = ()
) -> dict[str, Any]:
    """What the receipt prints: the form's fields (the documents the procedure requires, from the catalogue
    version the dossier was received under; blank lines to fill by hand when it has none), and the two QR
    codes."""
    oa_url = settings.oa_follow_url(agency.oa_url)
    lookup_url = settings.lookup_url(row.code)
    return {
        "row": row,
        "agency": agency,
        "phone": mask_phone(row.applicant_phone),
        "received": to_office(row.received_at),
        "receiver": receiver,
        "documents": documents,
        "title": vocabulary.RECEIPT_TITLE,
        "form_no": vocabulary.RECEIPT_FORM_NO,
        "desk_title": vocabulary.RECEIPT_DESK,
        "no_due": vocabulary.RECEIPT_NO_DUE,
        "lookup_url": lookup_url,
        "lookup_qr": qr_svg(lookup_url, label=vocabulary.QR_LOOKUP),
        "oa_qr": qr_svg(oa_url, label=vocabulary.QR_OA) if oa_url else None,
    }


def _page(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    return render(request, template, context | {"pdf": False, "print_css_version": PRINT_CSS_VERSION})


async def _pdf(template: str, context: dict[str, Any], filename: str) -> Response:
    html = ENV.get_template(template).render(context | {"pdf": True, "print_css_version": ""})
    pdf = await pdf_of(html)
    headers = dict(SECURITY_HEADERS) | {"Content-Disposition": f'inline; filename="{filename}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


async def _receipt(code: str, session: SessionDep, settings: SettingsDep, who: SignedIn) -> dict[str, Any]:
    row = await load_dossier(session, who, code)
    agency = await agency_card(session, row.agency_code, settings.notice_office_name)
    entry = (
        await catalogue_procedure(session, row.procedure_code, row.catalogue_version)
        if row.catalogue_version is not None
        else None
    )
    documents = entry.documents if entry is not None else ()
    return receipt_context(row, agency, settings, who.officer.display_name, documents)


@router.get("/can-bo/ho-so/{code}/giay-tiep-nhan", response_class=HTMLResponse)
async def receipt_page(
    request: Request, code: str, session: SessionDep, settings: SettingsDep, who: SignedInDep
) -> HTMLResponse:
    """The dossier's receipt and appointment (Mẫu số 01), to print from the browser."""
    return _page(request, "receipt.html", await _receipt(code, session, settings, who))


@router.get("/can-bo/ho-so/{code}/giay-tiep-nhan.pdf")
async def receipt_pdf(code: str, session: SessionDep, settings: SettingsDep, who: SignedInDep) -> Response:
    """The same receipt as a PDF."""
    context = await _receipt(code, session, settings, who)
    log.info("receipt.pdf", dossier_code=context["row"].code, username=who.officer.username)
    return await _pdf("receipt.html", context, f"giay-tiep-nhan-{context['row'].code}.pdf")


# ---------------------------------------------------------------- the process-control sheet (Mẫu 06)


async def _sheet(code: str, session: SessionDep, settings: SettingsDep, who: SignedIn) -> dict[str, Any]:
    """The sheet from the dossier's timeline as projected: a row per hand-over, its step's end."""
    row = await load_dossier(session, who, code)
    agency = await agency_card(session, row.agency_code, settings.notice_office_name)
    rows = sheet_rows((e.kind, e.at, e.detail or {}) for e in await events_of(session, row.code))
    names = {
        o.username: o.display_name
        for o in await officers_named(session, {r.holder for r in rows} | {r.handed_by or "" for r in rows})
    }
    return {
        "row": row,
        "agency": agency,
        "rows": rows,
        "names": names,
        "outcomes": vocabulary.STEP_OUTCOMES,
        "title": vocabulary.SHEET_TITLE,
        "form_no": vocabulary.SHEET_FORM_NO,
        "desk_title": vocabulary.RECEIPT_DESK,
        "received": to_office(row.received_at),
        "planned": [Step(**s) for s in row.steps or []],
    }


@router.get("/can-bo/ho-so/{code}/phieu-kiem-soat", response_class=HTMLResponse)
async def sheet_page(
    request: Request, code: str, session: SessionDep, settings: SettingsDep, who: SignedInDep
) -> HTMLResponse:
    """The process-control sheet (Mẫu số 06): every hand-over, its time, the step's deadline and how the
    step ended (early, on time, late), to print from the browser."""
    return _page(request, "sheet.html", await _sheet(code, session, settings, who))


@router.get("/can-bo/ho-so/{code}/phieu-kiem-soat.pdf")
async def sheet_pdf(code: str, session: SessionDep, settings: SettingsDep, who: SignedInDep) -> Response:
    """The same sheet as a PDF."""
    context = await _sheet(code, session, settings, who)
    log.info("sheet.pdf", dossier_code=context["row"].code, username=who.officer.username)
    return await _pdf("sheet.html", context, f"phieu-kiem-soat-{context['row'].code}.pdf")


# ---------------------------------------------------------------- the OA poster of an agency


async def _poster(
    agency_code: str, session: SessionDep, settings: SettingsDep, who: SignedIn
) -> dict[str, Any]:
    wanted = agency_code.strip().upper()
    if not re.match(AGENCY_CODE_PATTERN, wanted):
        raise PageError(404, "Không tìm thấy cơ quan", "Mã cơ quan không đúng dạng.")
    who.require_agency(wanted)
    agency = await agency_card(session, wanted, settings.notice_office_name)
    if not agency.known:
        raise PageError(404, "Không tìm thấy cơ quan", "Cơ quan này chưa có trong danh bạ cơ quan.")
    oa_url = settings.oa_follow_url(agency.oa_url)
    return {"agency": agency, "oa_qr": qr_svg(oa_url, label=vocabulary.QR_OA) if oa_url else None}


@router.get("/can-bo/ap-phich/{agency_code}.pdf")
async def poster_pdf(
    agency_code: str, session: SessionDep, settings: SettingsDep, who: SignedInDep
) -> Response:
    """The poster as a PDF (only when the OA's address is configured)."""
    context = await _poster(agency_code, session, settings, who)
    if context["oa_qr"] is None:
        raise PageError(
            404, "Chưa có địa chỉ Zalo OA", "Vui lòng báo quản trị viên cấu hình địa chỉ Zalo OA."
        )
    return await _pdf("poster.html", context, f"ap-phich-zalo-{context['agency'].code}.pdf")


@router.get("/can-bo/ap-phich/{agency_code}", response_class=HTMLResponse)
async def poster_page(
    request: Request, agency_code: str, session: SessionDep, settings: SettingsDep, who: SignedInDep
) -> HTMLResponse:
    """The service centre's wall poster: the OA's QR code and how to follow a dossier over Zalo."""
    return _page(request, "poster.html", await _poster(agency_code, session, settings, who))
