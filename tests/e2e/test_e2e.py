"""End to end: the real processes started the way `make run` starts them, driven over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.timefmt import vn_datetime
from tests.conftest import eventually
from tests.support.builders import Moments, due_after, new_code
from tests.support.pages import hidden

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    process: asyncio.subprocess.Process
    ports: dict[str, int]
    api_key: str
    output: list[str]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"


def run_local(data_dir: Path, ports: dict[str, int]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "scripts.run_local",
        "--data-dir",
        str(data_dir),
        "--temporal-port",
        str(ports["temporal"]),
        "--ui-port",
        str(ports["ui"]),
        "--api-port",
        str(ports["api"]),
        "--zalo-port",
        str(ports["zalo"]),
    ]


def child_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_URL", "LOCAL_API_KEY"}
    }
    # Quiet hours off, so the notice goes out whatever the hour of the test run.
    return env | {"QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00"}


async def read_until(
    process: asyncio.subprocess.Process, pattern: str, output: list[str], seconds: float
) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(seconds):
        while line := (await process.stdout.readline()).decode(errors="replace"):
            output.append(line)
            if match := re.search(pattern, line):
                return match.group(1)
    raise AssertionError("make run ended before printing:\n" + "".join(output))


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    ports = {name: free_port() for name in ("temporal", "ui", "api", "zalo")}
    process = await asyncio.create_subprocess_exec(
        *run_local(tmp_path / "data", ports),
        cwd=ROOT,
        env=child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output: list[str] = []
    try:
        key = await read_until(process, r"API key \(local\): (\S+)", output, seconds=120)
        drain = asyncio.create_task(_drain(process, output))
        yield Stack(process, ports, key, output)
        drain.cancel()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), timeout=60)


async def _drain(process: asyncio.subprocess.Process, output: list[str]) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        output.append(line.decode(errors="replace"))


async def test_make_run_serves_a_dossier_end_to_end(stack: Stack, tmp_path: Path) -> None:
    code = new_code()
    t = Moments()
    body = {
        "code": code,
        "procedure": {
            "code": "local.xaydung.gpxd-nha-o",
            "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
            "working_days": 15,
        },
        "agency_code": "H21.65",
        "applicant": {"name": "Nguyễn Văn A", "phone": "0905123456", "zalo_user_id": None},
        "received_at": t(0).isoformat(),
        "channel": "online",
    }
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.api, headers=headers, timeout=30) as http:
        created = await http.post("/api/v1/dossiers", json=body)
        assert created.status_code == 201, created.text
        assert datetime.fromisoformat(created.json()["due_at"]) == due_after(t(0))

        async def notice_sent() -> dict[str, Any] | None:
            view = (await http.get(f"/api/v1/dossiers/{code}")).json()
            return view if [n["status"] for n in view["notices"]] == ["sent"] else None

        view = await eventually(notice_sent, seconds=60)
        assert view["timeline"][0]["kind"] == "received"
        assert (await http.get("/readyz")).json()["status"] == "ok"

        received = (await http.get(f"http://127.0.0.1:{stack.ports['zalo']}/_fake/messages")).json()
        assert code in str(received)
        assert vn_datetime(due_after(t(0))) in str(received)
        # `make run` loaded the sample agency directory: the notice names the agency and its hotline.
        assert "UBND huyện Chư Păh – 0269 3845 123" in str(received)

        # The pages: the citizen finds the dossier; the local officer signs in with the printed password.
        lookup = await http.get("/tra-cuu", params={"code": code, "phone_last4": "3456"})
        assert lookup.status_code == 200
        assert "Đã tiếp nhận, đang giải quyết" in lookup.text
        assert "<dt>Cơ quan giải quyết</dt><dd>UBND huyện Chư Păh</dd>" in lookup.text
        password = (tmp_path / "data" / "local_officer_password").read_text().strip()
        form = await http.get("/can-bo/dang-nhap")
        signed_in = await http.post(
            "/can-bo/dang-nhap",
            data={"username": "canbo", "password": password, "csrf_token": hidden(form.text, "csrf_token")},
        )
        assert signed_in.status_code == 303, signed_in.text
        page = await http.get(f"/can-bo/ho-so/{code}")
        assert page.status_code == 200
        assert "Cách tính hạn trả kết quả" in page.text

    # A second `make run` on the same ports says which are taken and exits non-zero.
    second = await asyncio.create_subprocess_exec(
        *run_local(tmp_path / "other", stack.ports),
        cwd=ROOT,
        env=child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(second.communicate(), timeout=60)
    assert second.returncode == 1
    assert f"API port {stack.ports['api']}" in out.decode()

    # Ctrl-C stops everything cleanly.
    stack.process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(stack.process.wait(), timeout=60) == 0

    # Started again on the same data, the dossier and its running workflow are still there.
    again = await asyncio.create_subprocess_exec(
        *run_local(tmp_path / "data", stack.ports),
        cwd=ROOT,
        env=child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        key = await read_until(again, r"API key \(local\): (\S+)", [], seconds=120)
        assert key == stack.api_key
        drain = asyncio.create_task(_drain(again, []))
        async with httpx.AsyncClient(base_url=stack.api, headers=headers, timeout=30) as http:
            asked = await http.post(
                f"/api/v1/dossiers/{code}/supplement-request",
                json={"event_id": "e2e-1", "at": t(1).isoformat(), "items": ["Bản vẽ mặt bằng"]},
            )
            assert asked.status_code == 200, asked.text
            assert [e["kind"] for e in asked.json()["timeline"]] == ["received", "supplement_requested"]
        drain.cancel()
    finally:
        again.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(again.wait(), timeout=60) == 0
