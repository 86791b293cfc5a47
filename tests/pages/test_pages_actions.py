"""Officer actions through the pages, against a real worker: form, confirmation, the workflow's update."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from db.clients import create_client
from db.engine import SessionFactory
from db.models import Dossier, DossierEvent
from db.procedures import load_catalogue
from db.types import utcnow
from domain.procedures import check_catalogue
from domain.timefmt import to_office
from server import create_app
from settings import Settings
from tests.conftest import eventually
from tests.support.api import registration
from tests.support.builders import CALENDAR, WORKING_DAY, Moments, new_code
from tests.support.pages import review, seed_officer, sign_in

pytestmark = pytest.mark.usefixtures("worker")


@dataclass
class Desk:
    web: httpx.AsyncClient  # the officer's browser, signed in
    api: httpx.AsyncClient  # the TTHC system
    csrf: str


@pytest.fixture
async def desk(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> AsyncIterator[Desk]:
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
    await seed_officer(session_factory, agencies=["H21.65"])
    app = create_app(settings, temporal=workflow_env.client, session_factory=session_factory)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://pages.test") as web,
        httpx.AsyncClient(
            transport=transport, base_url="http://pages.test", headers={"Authorization": f"Bearer {key}"}
        ) as api,
    ):
        csrf = await sign_in(web)
        yield Desk(web, api, csrf)


async def register(desk: Desk, received_at: datetime | None = None) -> str:
    code = new_code()
    response = await desk.api.post(
        "/api/v1/dossiers", json=registration(code, received_at, channel="counter")
    )
    assert response.status_code == 201, response.text
    return code


async def fill(desk: Desk, code: str, slug: str, **fields: str) -> tuple[httpx.Response, dict[str, str]]:
    """Open the action's form, fill it in and ask for the review; returns the review page and the form."""
    return await review(desk.web, desk.csrf, code, slug, **fields)


async def test_an_officer_requests_a_supplement_with_a_confirmation_step(
    desk: Desk, session_factory: SessionFactory
) -> None:
    code = await register(desk)
    page = await desk.web.get(f"/can-bo/ho-so/{code}")
    assert "Yêu cầu bổ sung hồ sơ" in page.text
    assert "Trả kết quả cho công dân" not in page.text  # not allowed in this state

    review, data = await fill(
        desk,
        code,
        "yeu-cau-bo-sung",
        items="Bản vẽ mặt bằng\nGiấy chứng nhận quyền sử dụng đất",
        note="Quầy 3",
    )
    assert review.status_code == 200
    assert "Xác nhận: Yêu cầu bổ sung hồ sơ" in review.text
    assert "Bản vẽ mặt bằng; Giấy chứng nhận quyền sử dụng đất" in review.text
    async with session_factory() as session:
        assert (await session.get(Dossier, code)).status == "received"  # type: ignore[union-attr]  # not yet

    done = await desk.web.post(f"/can-bo/ho-so/{code}/xu-ly/yeu-cau-bo-sung", data=data | {"step": "confirm"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/can-bo/ho-so/{code}?xong=yeu-cau-bo-sung"
    after = await desk.web.get(done.headers["location"])
    assert "Đã thực hiện: Yêu cầu bổ sung hồ sơ." in after.text
    assert "Đang chờ bổ sung hồ sơ" in after.text
    async with session_factory() as session:
        row = await session.get(Dossier, code, populate_existing=True)
        assert row is not None
        assert row.status == "supplement_required"
        events = (await session.exec(select(DossierEvent).where(DossierEvent.dossier_code == code))).all()
        assert [(e.kind, e.by) for e in events][-1] == ("supplement_requested", "lan.nt")
    assert "<td>lan.nt</td>" in after.text  # done as the officer

    # A second click on "confirm" (same form, same event id) changes nothing.
    again = await desk.web.post(
        f"/can-bo/ho-so/{code}/xu-ly/yeu-cau-bo-sung", data=data | {"step": "confirm"}
    )
    assert again.headers["location"] == f"/can-bo/ho-so/{code}?lap-lai=1"

    citizen = await desk.web.get("/tra-cuu", params={"code": code, "phone_last4": "3456"})
    assert "<li>Giấy chứng nhận quyền sử dụng đất</li>" in citizen.text


async def test_an_action_without_the_csrf_token_is_refused(
    desk: Desk, session_factory: SessionFactory
) -> None:
    code = await register(desk)
    _, data = await fill(desk, code, "tu-choi", reason="Hồ sơ không thuộc thẩm quyền", stage="sau-xem-xet")
    forged = await desk.web.post(
        f"/can-bo/ho-so/{code}/xu-ly/tu-choi", data=data | {"step": "confirm", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    missing = {k: v for k, v in data.items() if k != "csrf_token"} | {"step": "confirm"}
    assert (await desk.web.post(f"/can-bo/ho-so/{code}/xu-ly/tu-choi", data=missing)).status_code == 403
    async with session_factory() as session:
        assert (await session.get(Dossier, code)).status == "received"  # type: ignore[union-attr]


async def test_bad_form_values_are_explained_next_to_their_fields(desk: Desk) -> None:
    code = await register(desk)
    review, _ = await fill(
        desk, code, "thong-bao-phi", fee_name_1="Lệ phí", fee_amount_1="abc", pay_within_days="5"
    )
    assert review.status_code == 422
    assert "Vui lòng sửa các lỗi sau" in review.text
    assert 'id="fee_amount_1-error"' in review.text
    future = to_office(utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    _, data = await fill(desk, code, "tu-choi", reason="x", stage="sau-xem-xet")
    wrong_time = await desk.web.post(f"/can-bo/ho-so/{code}/xu-ly/tu-choi", data=data | {"at": future})
    assert wrong_time.status_code == 422
    assert "không được ở tương lai" in wrong_time.text


async def test_a_rejection_reason_with_markup_is_shown_as_text(desk: Desk) -> None:
    code = await register(desk)
    review, data = await fill(
        desk, code, "tu-choi", reason="<script>alert('x')</script> thiếu giấy tờ", stage="tiep-nhan"
    )
    assert "Từ chối tiếp nhận hồ sơ (Mẫu số 03)" in review.text
    done = await desk.web.post(f"/can-bo/ho-so/{code}/xu-ly/tu-choi", data=data | {"step": "confirm"})
    assert done.status_code == 303, done.text
    assert "Từ chối tiếp nhận hồ sơ (Mẫu số 03)" in (await desk.web.get(f"/can-bo/ho-so/{code}")).text
    for page in (
        await desk.web.get(f"/can-bo/ho-so/{code}"),
        await desk.web.get("/tra-cuu", params={"code": code, "phone_last4": "3456"}),
    ):
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; thiếu giấy tờ" in page.text
    closed = await desk.web.get(f"/can-bo/ho-so/{code}")
    assert "Hồ sơ đã kết thúc; không còn thao tác nào." in closed.text
    repeat = await desk.web.post(f"/can-bo/ho-so/{code}/xu-ly/tu-choi", data=data | {"step": "confirm"})
    assert repeat.headers["location"] == f"/can-bo/ho-so/{code}?lap-lai=1"
    other = data | {"event_id": "canbo-" + "0" * 32}  # a fresh form for the closed dossier
    refused = await desk.web.post(f"/can-bo/ho-so/{code}/xu-ly/tu-choi", data=other | {"step": "confirm"})
    assert refused.headers["location"] == f"/can-bo/ho-so/{code}?khong-the=tu-choi"


async def test_an_overdue_dossier_is_listed_and_a_late_apology_is_refused_in_vietnamese(
    desk: Desk, session_factory: SessionFactory
) -> None:
    received = CALENDAR.add_working_time(CALENDAR.clock_start(utcnow()), -20 * WORKING_DAY)
    code = await register(desk, received)

    async def overdue() -> bool:
        async with session_factory() as session:
            row = await session.get(Dossier, code, populate_existing=True)
            return row is not None and row.overdue

    await eventually(overdue)
    listed = await desk.web.get("/can-bo/danh-sach/qua-han")
    assert f'href="/can-bo/ho-so/{code}"' in listed.text
    page = await desk.web.get(f"/can-bo/ho-so/{code}")
    assert "/xu-ly/xin-loi" not in page.text  # no button for what the law no longer allows
    assert "Đã quá thời hạn: không còn gửi được thư xin lỗi" in page.text
    # The form's address still answers (a bookmark, a stale tab): the workflow refuses, in Vietnamese.
    new_due = to_office(utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    review, data = await fill(desk, code, "xin-loi", new_due_at=new_due, reason="Chờ ý kiến Sở Xây dựng")
    assert review.status_code == 200, review.text
    refused = await desk.web.post(f"/can-bo/ho-so/{code}/xu-ly/xin-loi", data=data | {"step": "confirm"})
    assert refused.status_code == 409
    assert "Chưa thực hiện được" in refused.text
    assert "Thư xin lỗi phải được ghi trước thời hạn trả kết quả" in refused.text
    assert (
        'value="Chờ ý kiến Sở Xây dựng"' in refused.text
        or "Chờ ý kiến Sở Xây dựng</textarea>" in refused.text
    )


async def test_a_payment_at_the_counter_resumes_the_clock(
    desk: Desk, session_factory: SessionFactory
) -> None:
    t = Moments()
    code = await register(desk, t(0))
    fee = await desk.api.post(
        f"/api/v1/dossiers/{code}/fee",
        json={
            "event_id": "fee-1",
            "at": t(1).isoformat(),
            "items": [{"name": "Lệ phí", "amount_vnd": 500_000}],
        },
    )
    assert fee.status_code == 200, fee.text
    form = await desk.web.get(f"/can-bo/ho-so/{code}/xu-ly/xac-nhan-nop-phi")
    assert 'value="500000"' in form.text  # the amount still due
    _, data = await fill(desk, code, "xac-nhan-nop-phi", receipt="BL-0001234", amount="500.000")
    done = await desk.web.post(
        f"/can-bo/ho-so/{code}/xu-ly/xac-nhan-nop-phi", data=data | {"step": "confirm"}
    )
    assert done.status_code == 303, done.text
    async with session_factory() as session:
        row = await session.get(Dossier, code, populate_existing=True)
        assert row is not None
        assert row.status == "received"
    again = await desk.web.post(
        f"/can-bo/ho-so/{code}/xu-ly/xac-nhan-nop-phi", data=data | {"step": "confirm"}
    )
    assert again.headers["location"] == f"/can-bo/ho-so/{code}?lap-lai=1"
    page = await desk.web.get(f"/can-bo/ho-so/{code}")
    assert "Đã nộp đủ phí: tính tiếp thời hạn" in page.text
    assert "Mã giao dịch: quay:BL-0001234" in page.text


async def test_a_second_supplement_request_is_not_offered_and_refused_in_vietnamese(desk: Desk) -> None:
    # No catalogue loaded: the law's default, one request listing everything.
    code = await register(desk, Moments()(0))
    review_page, data = await fill(desk, code, "yeu-cau-bo-sung", items="Bản vẽ mặt bằng", note="")
    assert review_page.status_code == 200, review_page.text
    done = await desk.web.post(f"/can-bo/ho-so/{code}/xu-ly/yeu-cau-bo-sung", data=data | {"step": "confirm"})
    assert done.status_code == 303, done.text
    back = await desk.api.post(
        f"/api/v1/dossiers/{code}/supplement",
        # Whole seconds, as the desk's forms write times: the next form's time is not earlier.
        json={"event_id": f"back-{code}", "at": to_office(utcnow()).replace(microsecond=0).isoformat()},
    )
    assert back.status_code == 200, back.text

    page = await desk.web.get(f"/can-bo/ho-so/{code}")
    assert "/xu-ly/yeu-cau-bo-sung" not in page.text  # no button for what the law no longer allows
    assert "theo quy định chỉ yêu cầu bổ sung một lần" in page.text
    # The form's address still answers (a stale tab): the workflow refuses, in Vietnamese, with a 409.
    second, data = await fill(desk, code, "yeu-cau-bo-sung", items="Giấy tờ khác", note="")
    assert second.status_code == 200, second.text
    refused = await desk.web.post(
        f"/can-bo/ho-so/{code}/xu-ly/yeu-cau-bo-sung", data=data | {"step": "confirm"}
    )
    assert refused.status_code == 409
    assert "Chưa thực hiện được" in refused.text
    assert "chỉ yêu cầu bổ sung một lần, nêu đầy đủ giấy tờ cần bổ sung" in refused.text


async def test_a_procedure_off_the_catalogue_is_flagged_for_officers_not_citizens(
    desk: Desk, session_factory: SessionFactory
) -> None:
    async with session_factory() as session:
        [entry] = check_catalogue(
            {
                "procedures": [
                    {
                        "code": "1.001234",
                        "name": "Cấp giấy phép xây dựng",
                        "level": "xã",
                        "agency_kinds": ["UBND cấp xã"],
                        "working_days": 20,
                    }
                ]
            }
        )
        await load_catalogue(session, [entry], loaded_by="test")
    code = await register(desk)  # sent with 15 working days
    page = await desk.web.get(f"/can-bo/ho-so/{code}")
    assert "Thời hạn giải quyết khác danh mục thủ tục của tỉnh" in page.text
    assert (
        "Thời hạn theo hồ sơ: 15 ngày làm việc; theo danh mục thủ tục của tỉnh (phiên bản 1): "
        "20 ngày làm việc." in page.text
    )
    assert "Ngày hẹn trả kết quả giữ như đã in trên giấy tiếp nhận." in page.text
    citizen = await desk.web.get("/tra-cuu", params={"code": code, "phone_last4": "3456"})
    assert citizen.status_code == 200
    assert "Tiếp nhận hồ sơ" in citizen.text
    assert "danh mục thủ tục" not in citizen.text


async def test_the_receipt_lists_the_documents_of_the_catalogue_version_it_was_received_under(
    desk: Desk, session_factory: SessionFactory
) -> None:
    def catalogue(*documents: str) -> list[object]:
        return list(
            check_catalogue(
                {
                    "procedures": [
                        {
                            "code": "1.001234",
                            "name": "Cấp giấy phép xây dựng",
                            "level": "xã",
                            "agency_kinds": ["UBND cấp xã"],
                            "working_days": 15,
                            "documents": list(documents),
                        }
                    ]
                }
            )
        )

    async with session_factory() as session:
        await load_catalogue(
            session, catalogue("Đơn đề nghị cấp giấy phép xây dựng", "Bản vẽ thiết kế"), loaded_by="test"
        )
    code = await register(desk)
    async with session_factory() as session:  # a later version does not rewrite what was received
        await load_catalogue(session, catalogue("Giấy tờ của phiên bản sau"), loaded_by="test")
    page = await desk.web.get(f"/can-bo/ho-so/{code}/giay-tiep-nhan")
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", page.text)
    assert rows == [("1", "Đơn đề nghị cấp giấy phép xây dựng"), ("2", "Bản vẽ thiết kế")]
    assert "Giấy tờ của phiên bản sau" not in page.text
