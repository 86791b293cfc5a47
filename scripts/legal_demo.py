"""The legal path of two dossiers, driven over HTTP against a running `make run` (docs/legal.md).

`python -m scripts.legal_demo [--out DIR]` plays the TTHC system and the citizen:

1. a dossier submitted online (`local.hotich.xac-nhan-hon-nhan`, 3 working days, 4 internal steps),
   checked and received by the desk, a supplement asked once (a second request refused, 409) and supplied,
   handed over through its four steps with the second one late, its result ready and returned, rated by
   the citizen through the one-tap link of the "returned" notice;
2. a dossier submitted online and refused at reception, with the citizen's notice.

Times are the legal times the TTHC system reports (the last working days before today), so the late step
is late at once. It prints each answer, the timeline and the fake Zalo's journal for both dossiers, and writes
the codes, the rating link and the journal to `--out`/legal_demo.json (default .data/demo/). The
process-control sheet is then at /can-bo/ho-so/<code>/phieu-kiem-soat(.pdf), the rating page at the link.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parents[1]
ICT = ZoneInfo("Asia/Ho_Chi_Minh")
PROCEDURE = {"code": "local.hotich.xac-nhan-hon-nhan", "name": "Cấp Giấy xác nhận tình trạng hôn nhân"}
APPLICANT = {"name": "Trần Thị Bình", "phone": "0905 123 456", "zalo_user_id": None}


def working_days_back(n: int) -> list[date]:
    """The last `n` weekdays before today, oldest first (no holiday falls in late November)."""
    days: list[date] = []
    day = datetime.now(ICT).date()
    while len(days) < n:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days[::-1]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def at(day: date, hh: int, mm: int = 0) -> str:
    return datetime.combine(day, time(hh, mm), ICT).isoformat()


class Demo:
    def __init__(self, api: httpx.AsyncClient, zalo: httpx.AsyncClient) -> None:
        self.api, self.zalo = api, zalo
        self.n = 0

    async def post(self, path: str, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        self.n += 1
        if "event_id" not in body and not path.endswith("/api/v1/dossiers"):
            body = {"event_id": f"demo-{self.n}", **body}
        answer = await self.api.post(path, json=body)
        shown = answer.json()
        keys = ("status", "due_at", "dvcqg_status", "type", "detail")
        sent = {k: v for k, v in body.items() if k != "applicant"}
        print(f"POST {path} {dumps(sent)}")
        print(f"  -> {answer.status_code} {dumps({k: shown[k] for k in keys if k in shown})}")
        if answer.status_code != expect:
            sys.exit(f"expected {expect}: {answer.text}")
        return dict(shown)

    async def register(self, code: str, submitted_at: str) -> None:
        body = {
            "code": code,
            "procedure": {**PROCEDURE, "working_days": 3},
            "agency_code": "H21.65",
            "applicant": APPLICANT,
            "received_at": submitted_at,
            "channel": "online",
            "submitted": True,
        }
        await self.post("/api/v1/dossiers", body, expect=201)

    async def settled(self, code: str) -> dict[str, Any]:
        """The view once every notice queued so far has left (sent or delivered)."""
        for _ in range(120):
            view = (await self.api.get(f"/api/v1/dossiers/{code}")).json()
            if all(n["status"] in ("sent", "delivered", "failed") for n in view["notices"]):
                return dict(view)
            await asyncio.sleep(0.5)
        sys.exit(f"{code}: notices still queued after 60 s")

    async def journal(self, code: str) -> list[dict[str, Any]]:
        messages = (await self.zalo.get("/_fake/messages")).json()
        mine = [m for m in messages if code in json.dumps(m, ensure_ascii=False)]
        return mine[::-1]  # the fake lists the newest first


async def run(api_url: str, zalo_url: str, key: str) -> dict[str, Any]:
    d1, d2, d3 = working_days_back(3)
    stamp = datetime.now(ICT).strftime("%y%m%d")
    serial = datetime.now(ICT).strftime("%H%M")
    first, refused = f"H21.65-{stamp}-7{serial[1:]}", f"H21.65-{stamp}-8{serial[1:]}"
    async with (
        httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api,
        httpx.AsyncClient(base_url=zalo_url, timeout=10) as zalo,
    ):
        demo = Demo(api, zalo)
        print(f"== {first}: submitted online, received, supplemented once, four steps (one late), returned")
        base = f"/api/v1/dossiers/{first}"
        await demo.register(first, at(d1, 8))
        await demo.post(f"{base}/reception", {"at": at(d1, 9), "note": "Đã kiểm tra, hồ sơ hợp lệ"})
        await demo.post(
            f"{base}/supplement-request",
            {"at": at(d1, 9, 30), "items": ["Bản sao Giấy khai sinh"], "note": "Bổ sung một lần"},
        )
        await demo.post(f"{base}/supplement", {"at": at(d1, 14), "note": "Đã nộp bản sao"})
        await demo.post(  # the law's one request, listing everything: a second is refused
            f"{base}/supplement-request", {"at": at(d1, 14, 2), "items": ["Ảnh chân dung"]}, expect=409
        )
        # Step 1 (4 working hours) ends on time; step 2 (12 hours, due the third day at 13:45) ends late.
        handovers = [(1, at(d1, 14, 5)), (2, at(d2, 7, 45)), (3, at(d3, 16)), (4, at(d3, 16, 30))]
        for step, moment in handovers:
            await demo.post(f"{base}/handover", {"at": moment, "step": step, "officer": "canbo"})
        await demo.post(f"{base}/result", {"at": at(d3, 16, 40), "pickup": {"place": "Bộ phận Một cửa"}})
        await demo.post(f"{base}/return", {"at": at(d3, 16, 50), "to": APPLICANT["name"]})
        view = await demo.settled(first)
        print("timeline:")
        for entry in view["timeline"]:
            print(f"  {entry['seq']:>2} {entry['at']} {entry['kind']} {dumps(entry['detail'])}")

        print(f"\n== {refused}: submitted online, refused at reception")
        await demo.register(refused, at(d3, 8))
        await demo.post(
            f"/api/v1/dossiers/{refused}/reception-refusal",
            {"at": at(d3, 9), "reason": "Thủ tục không thuộc thẩm quyền giải quyết của UBND xã"},
        )
        await demo.settled(refused)

        print("\n== What the citizen's phone received (fake Zalo journal)")
        for code in (first, refused):
            for m in await demo.journal(code):
                what = m.get("text") or dumps(m.get("template_data"))
                print(f"  [{code}] {m['channel']} {m.get('template_id') or ''}: {what}")
        link = rating_link(await demo.journal(first), api_url)
        print(f"\nrating link from the 'returned' notice: {link}")
        return {
            "dossier": first,
            "refused": refused,
            "rating_link": link,
            "journal": await demo.journal(first) + await demo.journal(refused),
        }


def rating_link(messages: list[dict[str, Any]], api_url: str) -> str:
    """The one-tap rating link the citizen received (OA text, or the ZNS button's token)."""
    for m in messages:
        found = re.search(r"https?://\S+/danh-gia/[\w.\-]+", m.get("text") or "")
        if found:
            return found.group(0)
        token = (m.get("template_data") or {}).get("rating_token")
        if token:
            return f"{api_url}/danh-gia/{token}"
    sys.exit("no rating link in the journal")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", default="http://localhost:8000")
    parser.add_argument("--zalo", default="http://localhost:8300")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    key = (args.data_dir / "local_api_key").read_text().strip()
    out: Path = args.out or args.data_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    found = asyncio.run(run(args.api, args.zalo, key))
    (out / "legal_demo.json").write_text(json.dumps(found, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"codes, rating link and journal: {out / 'legal_demo.json'}")


if __name__ == "__main__":
    main()
