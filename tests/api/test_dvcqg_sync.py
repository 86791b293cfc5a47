"""`POST /api/v1/dvcqg/sync` against a real worker: all ten portal codes, resends, refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlmodel import select

from db.engine import SessionFactory
from db.models import Dossier, DossierEvent, Payment
from db.procedures import load_catalogue
from domain.dvcqg import format_portal_time
from domain.procedures import check_catalogue
from tests.support.api import Keys, bearer
from tests.support.builders import Moments, due_after, new_code, paused

pytestmark = pytest.mark.usefixtures("worker")

SYNC = "/api/v1/dvcqg/sync"


def portal(at: datetime) -> str:
    return format_portal_time(at)


def received(code: str, t: Moments, status: str = "2", **fields: Any) -> dict[str, Any]:
    """The portal payload of a dossier just received (as TTHC systems send it: strings everywhere)."""
    return {
        "MaHoSo": code,
        "MaTTHC": "1.001234",
        "TenTTHC": "Cấp giấy phép xây dựng",
        "MaLinhVuc": "XD",  # not read, accepted
        "KenhThucHien": "2",
        "ChuHoSo": "Nguyễn Văn A",
        "SoDienThoai": "0905123456",
        "NgayTiepNhan": portal(t(0)),
        "NgayHenTra": portal(due_after(t(0), 15)),
        "TrangThaiHoSo": status,
        "NgayTra": "",
        "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": [],
        **fields,
    }


async def sync(
    http: httpx.AsyncClient, key: str, payload: dict[str, Any], status: int = 200
) -> dict[str, Any]:
    response = await http.post(SYNC, json=payload, headers=bearer(key))
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


async def timeline(session_factory: SessionFactory, code: str) -> list[tuple[str, str]]:
    async with session_factory() as session:
        events = await session.exec(
            select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(DossierEvent.seq)
        )
        return [(e.kind, e.by) for e in events.all()]


async def test_a_dossier_through_its_life_by_portal_codes(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    t = Moments()
    code = new_code()
    first = await sync(http, keys.h21, received(code, t), status=201)
    assert first["applied"] == ["register"]
    assert first["replayed"] is False
    dossier = first["dossier"]
    assert (dossier["status"], dossier["dvcqg_status"]) == ("received", 2)
    assert dossier["procedure"] == {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15}
    assert dossier["channel"] == "online"
    assert datetime.fromisoformat(dossier["due_at"]) == due_after(t(0))
    async with session_factory() as session:
        row = await session.get(Dossier, code)
        assert row is not None
        assert row.applicant_phone == "84905123456"

    # The same sync again (the portal resends): nothing changes.
    again = await sync(http, keys.h21, received(code, t))
    assert (again["applied"], again["dossier"]["timeline"]) == ([], dossier["timeline"])

    asked = {
        "MaHoSo": code,
        "TrangThaiHoSo": "5",
        "DanhSachHoSoBoSung": [
            {
                "HoSoBoSungId": 1,
                "NoiDungBoSung": "Bổ sung bản vẽ và giấy tờ đất",
                "NgayBoSung": portal(t(1)),
                "DanhSachGiayToBoSung": [{"TenGiayTo": "Bản vẽ mặt bằng"}, {"TenTepDinhKem": "Sổ đỏ"}],
            }
        ],
    }
    supplement = await sync(http, keys.h21, asked)
    assert supplement["applied"] == ["request_supplement"]
    assert supplement["dossier"]["status"] == "supplement_required"
    assert supplement["dossier"]["supplement"]["items"] == ["Bản vẽ mặt bằng", "Sổ đỏ"]

    # 5 -> 4: the supplement came back; the count restarts from its arrival.
    asked["DanhSachHoSoBoSung"][0]["NgayTiepNhanBoSung"] = portal(t(1.5))
    back = await sync(http, keys.h21, {**asked, "TrangThaiHoSo": "4"})
    assert back["applied"] == ["supplement_received"]
    assert back["dossier"]["status"] == "received"
    assert datetime.fromisoformat(back["dossier"]["due_at"]) == due_after(t(1.5))

    fee = {
        "MaHoSo": code,
        "TrangThaiHoSo": "6",
        "ThoiDiemXuLy": portal(t(2)),
        "DanhSachLePhi": [
            {"TenPhiLePhi": "Lệ phí cấp phép", "MaPhiLePhi": "LP01", "Gia": "500000", "LoaiPhiLePhi": "1"},
            {"TenPhiLePhi": "Phí thẩm định", "Gia": 250000},
        ],
    }
    fee_due = await sync(http, keys.h21, fee)
    assert fee_due["dossier"]["status"] == "fee_due"
    assert fee_due["dossier"]["fee"]["total_vnd"] == 750000

    # 6 -> 4: the portal has moved past the fee, so it was paid (in full, as of ThoiDiemXuLy).
    paid = await sync(http, keys.h21, {"MaHoSo": code, "TrangThaiHoSo": 4, "ThoiDiemXuLy": portal(t(2.5))})
    assert paid["applied"] == ["confirm_payment"]
    assert paid["dossier"]["status"] == "received"
    assert datetime.fromisoformat(paid["dossier"]["due_at"]) == paused(due_after(t(1.5)), t(2), t(2.5))
    async with session_factory() as session:
        payment = (await session.exec(select(Payment).where(Payment.dossier_code == code))).one()
        assert (payment.amount_vnd, payment.outcome, payment.source) == (750000, "applied", "dvcqg")

    done = {"MaHoSo": code, "TrangThaiHoSo": "9", "NgayKetThucXuLy": portal(t(3)), "HinhThuc": "0"}
    ready = await sync(http, keys.h21, done)
    assert ready["dossier"]["status"] == "result_ready"
    assert ready["dossier"]["result"]["pickup"]["place"] == "Bộ phận Một cửa"

    returned = await sync(http, keys.h21, {"MaHoSo": code, "TrangThaiHoSo": "10", "NgayTra": portal(t(4))})
    assert returned["applied"] == ["mark_returned"]
    assert (returned["dossier"]["status"], returned["dossier"]["dvcqg_status"]) == ("returned", 10)

    # An old sync resent after the dossier moved on: recognised, nothing changes.
    late = await sync(http, keys.h21, done)
    assert (late["applied"], late["replayed"]) == ([], True)

    impossible = await http.post(
        SYNC,
        json={"MaHoSo": code, "TrangThaiHoSo": "7", "ThoiDiemXuLy": portal(t(4.5))},
        headers=bearer(keys.h21),
    )
    assert impossible.status_code == 409
    problem = impossible.json()
    assert problem["type"] == "urn:dossier-tracker:problem:dvcqg-status-impossible"
    assert problem["current_status"] == "returned"
    assert "Đã trả kết quả" in problem["detail_vi"]
    assert "'returned'" in problem["detail_en"]
    assert problem["detail"] == f"{problem['detail_vi']} / {problem['detail_en']}"

    # The result was ready at t(3): its pick-up reminder, 3 working days on, falls at about now during
    # office hours and may land before the return; it is that timer's, not this test's subject.
    assert [e for e in await timeline(session_factory, code) if e[0] != "pickup_reminder"] == [
        ("received", "tthc"),
        ("supplement_requested", "dvcqg"),
        ("supplement_received", "dvcqg"),
        ("fee_requested", "dvcqg"),
        ("payment_received", "dvcqg"),
        ("result_ready", "dvcqg"),
        ("returned", "dvcqg"),
    ]


@pytest.mark.parametrize(("status", "channel"), [("2", "counter"), ("4", "post")])
async def test_codes_2_and_4_register_a_new_dossier(
    http: httpx.AsyncClient, keys: Keys, status: str, channel: str
) -> None:
    t = Moments()
    kenh = {"counter": "1", "post": "3"}[channel]
    result = await sync(http, keys.h21, received(new_code(), t, status, KenhThucHien=kenh), status=201)
    assert result["applied"] == ["register"]
    assert result["dossier"]["channel"] == channel


async def test_code_1_registers_an_online_submission_waiting_for_the_desks_check(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    t = Moments()
    result = await sync(http, keys.h21, received(new_code(), t, "1"), status=201)
    assert result["applied"] == ["register_submitted"]
    dossier = result["dossier"]
    assert (dossier["status"], dossier["dvcqg_status"], dossier["channel"]) == ("submitted", 1, "online")
    assert dossier["due_at"] is None
    assert dossier["procedure"]["working_days"] == 15  # from NgayHenTra, when the portal gives one


async def test_ending_codes_3_7_8_and_10_from_received(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    t = Moments()
    codes = [new_code() for _ in range(4)]
    for code in codes:
        await sync(http, keys.h21, received(code, t), status=201)
    when = portal(t(1))

    rejected = await sync(
        http,
        keys.h21,
        {"MaHoSo": codes[0], "TrangThaiHoSo": "3", "NgayTuChoi": when, "GhiChu": "Sai thẩm quyền"},
    )
    assert rejected["dossier"]["status"] == "rejected"
    assert rejected["dossier"]["timeline"][-1]["detail"]["reason"] == "Sai thẩm quyền"

    withdrawn = await sync(http, keys.h21, {"MaHoSo": codes[1], "TrangThaiHoSo": "7", "ThoiDiemXuLy": when})
    assert withdrawn["dossier"]["status"] == "withdrawn"

    stopped = await sync(
        http,
        keys.h21,
        {"MaHoSo": codes[2], "TrangThaiHoSo": "8", "NgayKetThucXuLy": when, "GhiChu": "Quá hạn bổ sung"},
    )
    assert stopped["applied"] == ["stop"]
    assert stopped["dossier"]["status"] == "rejected"
    assert stopped["dossier"]["timeline"][-1]["detail"]["reason"] == "Dừng xử lý: Quá hạn bổ sung"

    # 10 straight from processing: the result was ready and handed over (by post) in one sync.
    handed = await sync(
        http,
        keys.h21,
        {
            "MaHoSo": codes[3],
            "TrangThaiHoSo": "10",
            "NgayKetThucXuLy": when,
            "NgayTra": portal(t(2)),
            "HinhThuc": "1",
            "ThongTinTra": "Gửi qua bưu điện",
        },
    )
    assert handed["applied"] == ["mark_result_ready", "mark_returned"]
    assert handed["dossier"]["status"] == "returned"
    assert handed["dossier"]["result"]["delivery"] == {"address": "", "note": "Gửi qua bưu điện"}
    assert [kind for kind, _ in await timeline(session_factory, codes[3])] == [
        "received",
        "result_ready",
        "returned",
    ]


async def test_refusals(http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory) -> None:
    t = Moments()
    unknown = new_code()
    not_found = await http.post(
        SYNC,
        json={"MaHoSo": unknown, "TrangThaiHoSo": "5", "ThoiDiemXuLy": portal(t(1))},
        headers=bearer(keys.h21),
    )
    assert not_found.status_code == 404
    assert "1, 2, 3 hoặc 4" in not_found.json()["detail_vi"]

    bad = [
        ({"MaHoSo": unknown, "TrangThaiHoSo": "11"}, "TrangThaiHoSo"),
        ({"MaHoSo": unknown, "TrangThaiHoSo": 0}, "TrangThaiHoSo"),
        ({"MaHoSo": unknown, "TrangThaiHoSo": "hai"}, "TrangThaiHoSo"),
        (received(unknown, t, NgayTiepNhan="2026-11-23 09:15"), "NgayTiepNhan"),
        (received(unknown, t, NgayTiepNhan="20991231235959"), "NgayTiepNhan"),  # in the future
        (received(unknown, t, SoDienThoai="12345"), "SoDienThoai"),
        (received(unknown, t, KenhThucHien="9"), "KenhThucHien"),
        (received(unknown, t, ChuHoSo=None, NgayHenTra=""), "ChuHoSo, NgayHenTra"),
        (received(unknown, t, NgayHenTra=portal(t(0))), "NgayHenTra"),
        ({"MaHoSo": "not-a-code", "TrangThaiHoSo": "2"}, "MaHoSo"),
    ]
    for payload, field in bad:
        response = await http.post(SYNC, json=payload, headers=bearer(keys.h21))
        assert response.status_code == 422, (payload, response.text)
        assert field in response.json()["detail"]

    code = new_code()
    await sync(http, keys.h21, received(code, t), status=201)
    no_time = await http.post(SYNC, json={"MaHoSo": code, "TrangThaiHoSo": "6"}, headers=bearer(keys.h21))
    assert no_time.status_code == 422
    assert "ThoiDiemXuLy" in no_time.json()["detail"]
    no_items = await http.post(
        SYNC,
        json={"MaHoSo": code, "TrangThaiHoSo": "5", "ThoiDiemXuLy": portal(t(1))},
        headers=bearer(keys.h21),
    )
    assert no_items.status_code == 422
    assert "DanhSachHoSoBoSung" in no_items.json()["detail"]
    earlier = await http.post(
        SYNC,
        json={"MaHoSo": code, "TrangThaiHoSo": "7", "ThoiDiemXuLy": portal(t(-1))},
        headers=bearer(keys.h21),
    )
    assert earlier.status_code == 422  # before the previous event

    fee = {
        "MaHoSo": code,
        "TrangThaiHoSo": "6",
        "ThoiDiemXuLy": portal(t(1)),
        "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": "1000"}],
    }
    await sync(http, keys.h21, fee)
    result_while_fee_due = await http.post(
        SYNC,
        json={"MaHoSo": code, "TrangThaiHoSo": "9", "NgayKetThucXuLy": portal(t(2))},
        headers=bearer(keys.h21),
    )
    assert result_while_fee_due.status_code == 409
    assert result_while_fee_due.json()["current_status"] == "fee_due"

    elsewhere = await http.post(SYNC, json=received(code, t), headers=bearer(keys.h22))
    assert elsewhere.status_code == 403
    new_elsewhere = await http.post(SYNC, json=received(new_code("H21.66"), t), headers=bearer(keys.h21))
    assert new_elsewhere.status_code == 403
    anonymous = await http.post(SYNC, json=received(code, t))
    assert anonymous.status_code == 401
    async with session_factory() as session:
        rows = (await session.exec(select(Dossier.code))).all()
    assert rows == [code]


async def test_a_portal_registration_is_checked_against_the_catalogue_too(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
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
                        "working_days": 15,
                        "supplement": {"max_requests": 2, "restart_count": True},
                    }
                ]
            }
        )
        await load_catalogue(session, [entry], loaded_by="test")
    t = Moments()
    known, unknown = new_code(), new_code()
    await sync(http, keys.h21, received(known, t), status=201)
    await sync(http, keys.h21, received(unknown, t, MaTTHC="2.999999"), status=201)
    assert await timeline(session_factory, known) == [("received", "tthc")]
    assert [kind for kind, _ in await timeline(session_factory, unknown)] == ["procedure_unknown", "received"]
    async with session_factory() as session:
        rows = [await session.get(Dossier, code) for code in (known, unknown)]
    assert [(r.catalogue_version, r.supplement_max_requests) for r in rows if r] == [(1, 2), (1, 1)]
