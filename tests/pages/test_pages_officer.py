"""The officer desk through httpx: sign-in, sessions and CSRF, the lists, CSV, figures, the CLI."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from db import officers
from db.engine import SessionFactory
from db.models import OfficerSession
from db.types import utcnow
from domain.access import DeskRole
from domain.notices import NoticeFailure, failure
from server import create_app
from settings import Settings
from tests.support.builders import CALENDAR, WORKING_DAY
from tests.support.pages import PASSWORD, hidden, hours_ago, seed_dossier, seed_officer, sign_in


@pytest.fixture
def app(settings: Settings, session_factory: SessionFactory) -> FastAPI:
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pages.test"
    ) as client:
        yield client


@pytest.fixture
async def desk(web: httpx.AsyncClient, session_factory: SessionFactory) -> httpx.AsyncClient:
    """A client signed in as an officer of every agency."""
    await seed_officer(session_factory)
    await sign_in(web)
    return web


def table_codes(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="nowrap"><a href="/can-bo/ho-so/([^"]+)">', html)


# ---------------------------------------------------------------- signing in


@pytest.mark.parametrize(
    "path",
    [
        "/can-bo",
        "/can-bo/danh-sach/qua-han",
        "/can-bo/danh-sach/qua-han.csv",
        "/can-bo/thong-ke",
        "/can-bo/ho-so/H21.65-261123-0001",
    ],
)
async def test_every_desk_page_needs_a_login(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/can-bo/dang-nhap?next=")


async def test_login_sets_a_safe_cookie_and_returns_to_the_page_asked_for(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    await seed_officer(session_factory)
    form = await web.get("/can-bo/dang-nhap", params={"next": "/can-bo/danh-sach/cho-nop-phi"})
    assert form.status_code == 200
    assert 'autocomplete="current-password"' in form.text
    response = await web.post(
        "/can-bo/dang-nhap",
        data={
            "username": "LAN.NT",
            "password": PASSWORD,
            "csrf_token": hidden(form.text, "csrf_token"),
            "next": hidden(form.text, "next"),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/can-bo/danh-sach/cho-nop-phi"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("dt_can_bo="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # local mode runs on plain http
    async with session_factory() as session:
        stored = (await session.exec(select(OfficerSession))).one()
    token = cookie.split(";")[0].split("=", 1)[1].strip('"').split(".")[0]
    assert token not in stored.token_hash  # only a hash of the token is kept
    assert (await web.get("/can-bo")).status_code == 200


async def test_outside_local_mode_the_cookie_is_secure_and_host_only(
    settings: Settings, session_factory: SessionFactory
) -> None:
    production = settings.model_copy(update={"app_env": "production"})
    await seed_officer(session_factory)
    app = create_app(production, session_factory=session_factory)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://pages.test"
    ) as web:
        form = await web.get("/can-bo/dang-nhap")
        response = await web.post(
            "/can-bo/dang-nhap",
            data={"username": "lan.nt", "password": PASSWORD, "csrf_token": hidden(form.text, "csrf_token")},
        )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-dt_can_bo="))
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    await seed_officer(session_factory)
    answers = []
    for username, password in (("lan.nt", "sai-mat-khau-123"), ("khong.co", PASSWORD)):
        form = await web.get("/can-bo/dang-nhap")
        answer = await web.post(
            "/can-bo/dang-nhap",
            data={"username": username, "password": password, "csrf_token": hidden(form.text, "csrf_token")},
        )
        assert answer.status_code == 401
        answers.append(re.search(r'role="alert"><p>(.*?)</p>', answer.text).group(1))  # type: ignore[union-attr]
    assert answers[0] == answers[1] == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert (await web.get("/can-bo")).status_code == 303


async def test_login_without_the_form_token_is_refused(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    await seed_officer(session_factory)
    forged = await web.post(
        "/can-bo/dang-nhap", data={"username": "lan.nt", "password": PASSWORD, "csrf_token": "x"}
    )
    assert forged.status_code == 403
    assert "Biểu mẫu đăng nhập đã hết hạn" in forged.text
    assert (await web.get("/can-bo")).status_code == 303


async def test_login_never_redirects_off_the_desk(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    await seed_officer(session_factory)
    form = await web.get("/can-bo/dang-nhap")
    response = await web.post(
        "/can-bo/dang-nhap",
        data={
            "username": "lan.nt",
            "password": PASSWORD,
            "csrf_token": hidden(form.text, "csrf_token"),
            "next": "https://evil.example/can-bo",
        },
    )
    assert response.headers["location"] == "/can-bo"


async def test_repeated_wrong_passwords_are_rate_limited(
    settings: Settings, session_factory: SessionFactory
) -> None:
    app = create_app(settings.model_copy(update={"login_max_failures": 2}), session_factory=session_factory)
    await seed_officer(session_factory)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pages.test") as web:
        statuses = []
        for password in ("sai-1-xxxxxx", "sai-2-xxxxxx", PASSWORD):
            form = await web.get("/can-bo/dang-nhap")
            answer = await web.post(
                "/can-bo/dang-nhap",
                data={
                    "username": "lan.nt",
                    "password": password,
                    "csrf_token": hidden(form.text, "csrf_token"),
                },
            )
            statuses.append(answer.status_code)
    assert statuses == [401, 401, 429]
    assert "Đăng nhập sai quá nhiều lần" in answer.text
    assert "retry-after" in answer.headers


async def test_logout_needs_the_csrf_token_and_ends_the_session(desk: httpx.AsyncClient) -> None:
    token = hidden((await desk.get("/can-bo")).text, "csrf_token")
    forged = await desk.post("/can-bo/dang-xuat", data={"csrf_token": "not-the-token"})
    assert forged.status_code == 403
    assert "Biểu mẫu đã hết hiệu lực" in forged.text
    assert (await desk.get("/can-bo")).status_code == 200
    out = await desk.post("/can-bo/dang-xuat", data={"csrf_token": token})
    assert out.status_code == 303
    assert out.headers["location"] == "/can-bo/dang-nhap?da-dang-xuat=1"
    assert (await desk.get("/can-bo")).status_code == 303


async def test_a_stolen_cookie_stops_working_at_logout_and_when_the_officer_is_deactivated(
    desk: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    assert (await desk.get("/can-bo")).status_code == 200
    async with session_factory() as session:
        officer = await officers.find_officer(session, "lan.nt")
        assert officer is not None
        await officers.set_active(session, officer, False)
    assert (await desk.get("/can-bo")).status_code == 303


async def test_a_tampered_or_expired_session_is_refused(
    desk: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    cookie = desk.cookies["dt_can_bo"]
    desk.cookies.set("dt_can_bo", cookie[:-2] + "xx", domain="pages.test")
    assert (await desk.get("/can-bo")).status_code == 303
    desk.cookies.set("dt_can_bo", cookie, domain="pages.test")
    async with session_factory() as session:
        stored = (await session.exec(select(OfficerSession))).one()
        stored.last_seen_at = utcnow() - timedelta(hours=3)  # idle longer than 120 minutes
        session.add(stored)
        await session.commit()
    assert (await desk.get("/can-bo")).status_code == 303


# ---------------------------------------------------------------- lists


async def test_the_overdue_list_with_filters_and_temporal_links(
    desk: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    flagged = await seed_dossier(session_factory, overdue=True, due_at=hours_ago(30))
    past_due = await seed_dossier(session_factory, due_at=hours_ago(1))  # the timer has not reported yet
    other_agency = await seed_dossier(session_factory, agency="H22.01", overdue=True, due_at=hours_ago(5))
    other_procedure = await seed_dossier(
        session_factory, procedure=("2.000111", "Đăng ký khai sinh"), overdue=True, due_at=hours_ago(3)
    )
    on_time = await seed_dossier(session_factory, due_at=hours_ago(-200))
    closed = await seed_dossier(session_factory, status="returned", overdue=True, due_at=hours_ago(40))

    page = await desk.get("/can-bo/danh-sach/qua-han")
    assert page.status_code == 200
    codes = table_codes(page.text)
    assert codes == [flagged, other_agency, other_procedure, past_due]  # earliest due first
    assert on_time not in codes
    assert closed not in codes
    assert f'href="http://temporal-ui.test/namespaces/default/workflows/dossier-{flagged}"' in page.text
    assert "ngày làm việc" in page.text or "giờ làm việc" in page.text

    by_agency = await desk.get("/can-bo/danh-sach/qua-han", params={"agency": "H22.01"})
    assert table_codes(by_agency.text) == [other_agency]
    by_procedure = await desk.get("/can-bo/danh-sach/qua-han", params={"procedure": "2.000111"})
    assert table_codes(by_procedure.text) == [other_procedure]
    assert '<option value="2.000111" selected>' in by_procedure.text

    summary = await desk.get("/can-bo")
    assert re.search(r'<span class="number">4</span> Hồ sơ quá hạn', summary.text)


async def test_an_officer_sees_only_their_agencies(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    mine = await seed_dossier(session_factory, overdue=True, due_at=hours_ago(30))
    theirs = await seed_dossier(session_factory, agency="H22.01", overdue=True, due_at=hours_ago(30))
    await seed_officer(session_factory, "binh.tv", agencies=["H21.65"])
    await sign_in(web, "binh.tv")
    assert table_codes((await web.get("/can-bo/danh-sach/qua-han")).text) == [mine]
    assert table_codes((await web.get("/can-bo/danh-sach/qua-han", params={"agency": "H22.01"})).text) == []
    assert (await web.get(f"/can-bo/ho-so/{theirs}")).status_code == 404
    assert (await web.get(f"/can-bo/ho-so/{mine}")).status_code == 200


async def test_due_soon_fee_supplement_and_failed_notice_lists(
    desk: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    now = utcnow()
    soon = await seed_dossier(session_factory, due_at=CALENDAR.add_working_time(now, WORKING_DAY / 2))
    later = await seed_dossier(session_factory, due_at=CALENDAR.add_working_time(now, 3 * WORKING_DAY))
    fee = await seed_dossier(
        session_factory,
        status="fee_due",
        due_at=hours_ago(-100),
        detail={
            "fee": {
                "items": [],
                "total_vnd": 350_000,
                "paid_vnd": 100_000,
                "pay_by": hours_ago(-20).isoformat(),
            }
        },
    )
    supplement = await seed_dossier(
        session_factory,
        status="supplement_required",
        detail={
            "supplement": {"items": ["Bản sao CCCD"], "requested_at": hours_ago(3).isoformat(), "late": True}
        },
    )
    failed = await seed_dossier(
        session_factory,
        notices=[
            {
                "kind": "received",
                "status": "failed-permanent",
                "channel": "zns",
                "last_error": failure(NoticeFailure.ZALO_REFUSED, "zalo -124 (permanent): bad phone"),
            }
        ],
    )
    assert table_codes((await desk.get("/can-bo/danh-sach/sap-den-han")).text) == [soon]
    assert later not in (await desk.get("/can-bo/danh-sach/sap-den-han")).text
    fee_page = (await desk.get("/can-bo/danh-sach/cho-nop-phi")).text
    assert table_codes(fee_page) == [fee]
    assert "350.000 đ" in fee_page
    assert "100.000 đ" in fee_page
    supplement_page = (await desk.get("/can-bo/danh-sach/cho-bo-sung")).text
    assert table_codes(supplement_page) == [supplement]
    assert "Bản sao CCCD" in supplement_page
    assert "Yêu cầu trễ" in supplement_page
    notices_page = (await desk.get("/can-bo/danh-sach/thong-bao-loi")).text
    assert table_codes(notices_page) == [failed]
    assert (
        "Zalo từ chối gửi (người nhận chặn tin, số điện thoại hoặc mẫu tin không hợp lệ). (mã lỗi Zalo -124)"
        in notices_page
    )
    assert "Xác nhận tiếp nhận, hẹn ngày trả kết quả" in notices_page
    assert (await desk.get("/can-bo/danh-sach/khong-co")).status_code == 404


async def test_the_csv_export_opens_in_excel_and_cannot_run_formulas(
    desk: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(
        session_factory, procedure=("1.0005", '=HYPERLINK("http://x")'), overdue=True, due_at=hours_ago(30)
    )
    await seed_dossier(session_factory, agency="H22.01", overdue=True, due_at=hours_ago(30))
    response = await desk.get("/can-bo/danh-sach/qua-han.csv", params={"agency": "H21.65"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="qua-han-')
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Mã hồ sơ", "Cơ quan", "Tên cơ quan", "Mã thủ tục", "Tên thủ tục"]
    assert len(rows) == 2
    assert rows[1][0] == code
    assert rows[1][2] == "Bộ phận Một cửa"  # no directory here: the neutral name
    assert rows[1][4] == '\'=HYPERLINK("http://x")'
    assert rows[1][5] == "Đã tiếp nhận, đang giải quyết"


async def test_hostile_text_is_escaped_on_the_officer_pages(
    desk: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(
        session_factory,
        status="rejected",
        applicant_name="<script>alert('ten')</script>",
        finished_at=hours_ago(1),
        events=[("rejected", {"reason": "<script>alert(1)</script>"})],
        notices=[
            {"kind": "rejected", "status": "failed-permanent", "last_error": "<img src=x onerror=alert(2)>"}
        ],
    )
    for path in (f"/can-bo/ho-so/{code}", "/can-bo/danh-sach/thong-bao-loi"):
        html = (await desk.get(path)).text
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    html = (await desk.get(f"/can-bo/ho-so/{code}")).text
    assert "Lý do: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Không gửi được; xem nhật ký hệ thống." in html  # an unrecognised error is not echoed


async def test_the_dossier_page_explains_the_due_date(
    desk: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    received = CALENDAR.add_working_time(CALENDAR.clock_start(utcnow()), -4 * WORKING_DAY)
    code = await seed_dossier(
        session_factory,
        received_at=received,
        events=[
            ("fee_requested", {"total_vnd": 100_000}),
            (
                "payment_received",
                {"amount_vnd": 100_000, "due_at": hours_ago(-300).isoformat(), "outcome": "applied"},
            ),
        ],
    )
    html = (await desk.get(f"/can-bo/ho-so/{code}")).text
    assert "Cách tính hạn trả kết quả" in html
    assert "Tiếp nhận: 15 ngày làm việc" in html
    assert "Thông báo nộp phí: tạm dừng thời hạn" in html
    assert "Thời gian chờ nộp phí: 2 phút làm việc." in html or "Thời gian chờ nộp phí:" in html
    assert "•••••••3456" in html  # the phone, masked
    assert "Yêu cầu bổ sung hồ sơ" in html  # an action the state allows


async def test_figures_show_the_on_time_rate_as_an_svg_chart(
    desk: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    finished = utcnow() - timedelta(minutes=5)
    for on_time in (True, True, False):
        await seed_dossier(
            session_factory, status="returned", on_time=on_time, finished_at=finished, due_at=finished
        )
    await seed_dossier(
        session_factory, status="withdrawn", finished_at=finished, due_at=finished
    )  # not counted
    await seed_dossier(session_factory, agency="H22.01", status="rejected", finished_at=finished, due_at=None)
    page = await desk.get("/can-bo/thong-ke")
    assert page.status_code == 200
    html = page.text
    assert '<svg class="chart"' in html
    assert 'role="img"' in html
    # The directory has no H21.65 here: the agency is named neutrally, with its code.
    assert "Tỷ lệ giải quyết đúng hạn của Bộ phận Một cửa (H21.65)" in html
    assert "67% (2/3)" in html
    assert "100% (1/1)" in html  # the rejection before any due time counts as on time
    assert 'aria-labelledby="theo-trang-thai-title theo-trang-thai-desc"' in html
    filtered = await desk.get("/can-bo/thong-ke", params={"agency": "H22.01", "months": "12"})
    assert "H21.65</small></h3>" not in filtered.text
    assert "H22.01</small></h3>" in filtered.text
    assert "12 tháng</option>" in filtered.text


async def test_a_viewer_reads_but_cannot_act(web: httpx.AsyncClient, session_factory: SessionFactory) -> None:
    code = await seed_dossier(session_factory)
    await seed_officer(session_factory, "thanh.tra", role=DeskRole.VIEWER)
    token = await sign_in(web, "thanh.tra")
    page = await web.get(f"/can-bo/ho-so/{code}")
    assert page.status_code == 200
    assert "/xu-ly/" not in page.text
    assert (await web.get(f"/can-bo/ho-so/{code}/xu-ly/tu-choi")).status_code == 403
    posted = await web.post(f"/can-bo/ho-so/{code}/xu-ly/tu-choi", data={"csrf_token": token, "reason": "x"})
    assert posted.status_code == 403


async def test_unknown_desk_addresses_are_vietnamese_pages(desk: httpx.AsyncClient) -> None:
    missing = await desk.get("/can-bo/khong-co-trang-nay")
    assert missing.status_code == 404
    assert "Không tìm thấy trang" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    assert (await desk.get("/can-bo/ho-so/not-a-code")).status_code == 404
