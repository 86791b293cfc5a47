"""The desk's failed-notice list: an officer marks a failure handled (who and when) and it leaves the list;
`?da-xu-ly=1` shows it; only officers of the dossier's agency may act. The failures are real: the dossier
is registered through the API while the fake Zalo refuses, and the worker records it."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx
import pytest

from db.engine import SessionFactory
from db.models import Notice
from db.types import utcnow
from domain.access import DeskRole
from domain.vocabulary import vn_datetime
from tests.support.api import Keys, bearer
from tests.support.failed_notices import notice_row, refused_receipt_notice, zalo_accepts_again
from tests.support.pages import seed_officer, sign_in

pytestmark = pytest.mark.usefixtures("worker")

FAILED_LIST = "/can-bo/danh-sach/thong-bao-loi"


async def mark(web: httpx.AsyncClient, csrf: str, notice: Notice, back: str = FAILED_LIST) -> httpx.Response:
    return await web.post(f"/can-bo/thong-bao/{notice.id}/da-xu-ly", data={"csrf_token": csrf, "next": back})


def failed_count(desk_html: str) -> int:
    found = re.search(r'<span class="number">(\d+)</span> Thông báo không gửi được', desk_html)
    assert found
    return int(found.group(1))


async def test_marking_a_failure_handled_records_who_and_when_and_moves_it_to_its_own_list(
    http: httpx.AsyncClient, keys: Keys, fake_zalo: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    failed = await refused_receipt_notice(http, fake_zalo, session_factory, bearer(keys.admin))
    await seed_officer(session_factory, agencies=["H21.65"])
    csrf = await sign_in(http)
    assert failed_count((await http.get("/can-bo")).text) == 1
    listed = await http.get(FAILED_LIST)
    assert f'action="/can-bo/thong-bao/{failed.id}/da-xu-ly"' in listed.text
    assert "Đánh dấu đã xử lý" in listed.text

    before = utcnow()
    answer = await mark(http, csrf, failed)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{FAILED_LIST}?thong-bao=da-xu-ly"
    page = await http.get(answer.headers["location"])
    assert "Đã đánh dấu thông báo là đã xử lý." in page.text
    assert "Không có thông báo nào bị lỗi." in page.text  # it left the list
    assert failed_count((await http.get("/can-bo")).text) == 0

    handled = await notice_row(session_factory, failed.dossier_code, "received")
    assert handled is not None
    assert handled.status == "failed-permanent"  # still not sent: only dealt with
    assert handled.handled_by == "lan.nt"
    assert handled.handled_at is not None
    assert before <= handled.handled_at <= utcnow()

    shown = await http.get(FAILED_LIST, params={"da-xu-ly": "1"})
    assert failed.dossier_code in shown.text
    assert f"Đã xử lý: lan.nt, {vn_datetime(handled.handled_at)}" in shown.text
    assert f'action="/can-bo/thong-bao/{failed.id}/da-xu-ly"' not in shown.text  # marked once
    assert f'action="/can-bo/thong-bao/{failed.id}/gui-lai"' in shown.text  # may still be resent
    export = await http.get(f"{FAILED_LIST}.csv", params={"da-xu-ly": "1"})
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert table[0][-1] == "Xử lý"
    assert [line[-1] for line in table[1:]] == [f"Đã xử lý: lan.nt, {vn_datetime(handled.handled_at)}"]
    unhandled = await http.get(f"{FAILED_LIST}.csv")
    assert len(list(csv.reader(io.StringIO(unhandled.content.decode("utf-8-sig"))))) == 1  # the header

    # A second click (or a second officer) changes nothing: the first mark stands.
    again = await mark(http, csrf, failed)
    assert again.headers["location"] == f"{FAILED_LIST}?thong-bao=da-xu-ly-truoc"
    assert "đã được đánh dấu đã xử lý trước đó" in (await http.get(again.headers["location"])).text
    same = await notice_row(session_factory, failed.dossier_code, "received")
    assert same is not None
    assert (same.handled_by, same.handled_at) == ("lan.nt", handled.handled_at)

    # The dossier's page tells the same, and a resend from there (the cause fixed) starts it afresh.
    dossier_page = f"/can-bo/ho-so/{failed.dossier_code}"
    assert f"Đã xử lý: lan.nt, {vn_datetime(handled.handled_at)}" in (await http.get(dossier_page)).text
    await zalo_accepts_again(fake_zalo)
    resent = await http.post(
        f"/can-bo/thong-bao/{failed.id}/gui-lai", data={"csrf_token": csrf, "next": dossier_page}
    )
    assert resent.headers["location"] == f"{dossier_page}?thong-bao=da-gui-lai"
    after = await notice_row(session_factory, failed.dossier_code, "received")
    assert after is not None
    assert (after.status, after.handled_by, after.handled_at) == ("sent", None, None)
    assert "Đã gửi lại thông báo." in (await http.get(resent.headers["location"])).text
    assert (await mark(http, csrf, failed)).headers["location"] == f"{FAILED_LIST}?thong-bao=khong-con-loi"


async def test_only_officers_of_the_dossiers_agency_act_on_its_notices(
    http: httpx.AsyncClient, keys: Keys, fake_zalo: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    failed = await refused_receipt_notice(http, fake_zalo, session_factory, bearer(keys.admin))
    await seed_officer(session_factory, "binh.tv", agencies=["H22.01"])
    await seed_officer(session_factory, "thanh.tra", role=DeskRole.VIEWER)
    await seed_officer(session_factory, "lan.nt", agencies=["H21.65"])

    other = await sign_in(http, "binh.tv")
    assert failed.dossier_code not in (await http.get(FAILED_LIST)).text
    for action in ("da-xu-ly", "gui-lai"):
        response = await http.post(f"/can-bo/thong-bao/{failed.id}/{action}", data={"csrf_token": other})
        assert response.status_code == 404
        assert "Không tìm thấy thông báo" in response.text
    missing = await http.post("/can-bo/thong-bao/999999/da-xu-ly", data={"csrf_token": other})
    assert missing.status_code == 404

    viewer = await sign_in(http, "thanh.tra")
    listed = await http.get(FAILED_LIST)
    assert failed.dossier_code in listed.text
    assert "Đánh dấu đã xử lý" not in listed.text  # a viewer gets no buttons
    refused = await http.post(f"/can-bo/thong-bao/{failed.id}/da-xu-ly", data={"csrf_token": viewer})
    assert refused.status_code == 403

    await sign_in(http, "lan.nt")
    forged = await http.post(f"/can-bo/thong-bao/{failed.id}/da-xu-ly", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    row = await notice_row(session_factory, failed.dossier_code, "received")
    assert row is not None
    assert (row.status, row.handled_by, row.handled_at) == ("failed-permanent", None, None)
    # Leaving for another site is not an option: the form returns only to the desk.
    own = await http.get(FAILED_LIST)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', own.text).group(1)  # type: ignore[union-attr]
    away = await mark(http, csrf, failed, back="https://evil.example/")
    assert away.headers["location"] == f"{FAILED_LIST}?thong-bao=da-xu-ly"
    row = await notice_row(session_factory, failed.dossier_code, "received")
    assert row is not None
    assert row.handled_by == "lan.nt"
    assert row.handled_at is not None
    assert utcnow() - row.handled_at < timedelta(minutes=1)
