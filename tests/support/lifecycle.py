"""One dossier driven through its whole life over the machine API, for tests of what it leaves."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.builders import Moments, new_code

APPLICANT_NAME = "Nguyễn Văn A"
APPLICANT_PHONE = "0905 123 456"


def registration(code: str, t: Moments) -> dict[str, Any]:
    return {
        "code": code,
        "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
        "agency_code": code.split("-")[0],
        "applicant": {"name": APPLICANT_NAME, "phone": APPLICANT_PHONE, "zalo_user_id": None},
        "received_at": t(0).isoformat(),
        "channel": "online",
    }


async def full_lifecycle(api: httpx.AsyncClient) -> str:
    """Register, ask for a supplement, receive it, ask a fee, pay, result ready, returned; the code back.

    Also sends one illegal transition (409), so failures travel through the converter too.
    """
    t = Moments()
    code = new_code()
    created = await api.post("/api/v1/dossiers", json=registration(code, t))
    assert created.status_code == 201, created.text
    base = f"/api/v1/dossiers/{code}"
    steps: list[tuple[str, dict[str, Any], int]] = [
        ("return", {"event_id": "x-0", "at": t(0.25).isoformat(), "to": "A"}, 409),
        ("supplement-request", {"event_id": "x-1", "at": t(0.5).isoformat(), "items": ["Bản vẽ"]}, 200),
        ("supplement", {"event_id": "x-2", "at": t(1).isoformat()}, 200),
        (
            "fee",
            {
                "event_id": "x-3",
                "at": t(2).isoformat(),
                "items": [{"name": "Lệ phí", "amount_vnd": 1250000}],
                "pay_within_days": 5,
            },
            200,
        ),
        ("payment", {"transaction_id": f"VNP-{code}", "amount_vnd": 1250000, "at": t(2.5).isoformat()}, 200),
        ("result", {"event_id": "x-4", "at": t(3).isoformat(), "pickup": {"place": "Quầy số 3"}}, 200),
        ("return", {"event_id": "x-5", "at": t(4).isoformat(), "to": "Chủ hồ sơ"}, 200),
    ]
    for path, body, expected in steps:
        response = await api.post(f"{base}/{path}", json=body)
        assert response.status_code == expected, (path, response.text)
    return code
