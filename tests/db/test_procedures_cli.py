"""`python -m admin.procedures` as an administrator runs it: the catalogue registration compares with."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from admin import procedures as procedures_cli
from db.engine import SessionFactory
from db.migrate import upgrade
from db.models import DossierEvent
from db.procedures import current_version
from settings import Settings
from tests.support.api import dossier_row

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "procedures.sample.json"


@pytest.fixture
def cli(settings: Settings, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The tool run in this process on the test's database."""
    monkeypatch.setattr(procedures_cli, "get_settings", lambda: settings)
    return procedures_cli.main


def test_load_list_and_show_the_sample(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["list"]) == 0
    assert "chưa có danh mục" in capsys.readouterr().out

    assert cli(["load", str(SAMPLE)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"Đã nạp 21 thủ tục từ {SAMPLE}: phiên bản 1, áp dụng từ bây giờ."
    )
    assert cli(["list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "Danh mục phiên bản 1: 21 thủ tục"
    assert "2.000908\t1 ngày làm việc\txã\tCấp bản sao từ sổ gốc" in listed

    assert cli(["show", "local.xaydung.gpxd-nha-o"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[:5] == [
        "local.xaydung.gpxd-nha-o  Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "    mã trên CSDL quốc gia: chưa xác minh",
        "    cấp thực hiện: xã; cơ quan: UBND cấp xã, Trung tâm Phục vụ hành chính công cấp xã",
        "    thời hạn giải quyết: 15 ngày làm việc",
        "    bổ sung hồ sơ: yêu cầu bổ sung tối đa 2 lần; hạn nộp bổ sung 30 ngày làm việc; "
        "khi nhận đủ: tính lại thời hạn từ đầu",
    ]
    assert cli(["show", "local.chungthuc.ban-sao"]) == 0
    assert "    Phí chứng thực: 2.000 đ (mỗi trang;" in capsys.readouterr().out

    assert cli(["load", str(SAMPLE)]) == 0
    capsys.readouterr()
    assert cli(["versions"]) == 0
    versions = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in versions] == ["2", "1"]
    assert versions[0].endswith("21 thủ tục\tcli\tprocedures.sample.json")
    assert cli(["show", "9.999"]) == 1
    assert capsys.readouterr().err.strip() == "Danh mục không có thủ tục 9.999."


async def test_a_file_with_any_bad_procedure_writes_nothing(
    cli: Any, session_factory: SessionFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.loads(SAMPLE.read_text(encoding="utf-8"))["procedures"][0]
    bad = [
        good,
        good | {"working_days": "15"},
        good | {"code": "có dấu cách"},
        good | {"supplement": {"max_requests": 0, "restart_count": True}},
        good | {"fax": "0269"},
    ]
    path = tmp_path / "procedures.json"
    path.write_text(json.dumps({"procedures": bad}, ensure_ascii=False), encoding="utf-8")
    assert await asyncio.to_thread(cli, ["load", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"Không nạp tệp {path}: chưa ghi gì vào danh mục.",
        "Lỗi: mục 2 (local.hotich.khai-sinh): «working_days» phải là số ngày làm việc từ 1 đến 365",
        "Lỗi: mục 3 (có dấu cách): mã thủ tục chỉ gồm chữ, số, dấu chấm, gạch",
        "Lỗi: mục 4 (local.hotich.khai-sinh): «supplement» gồm «max_requests» (1 đến 5), «restart_count» "
        "(true: tính lại từ đầu, false: tính tiếp) và «supply_within_days» (hạn nộp bổ sung, 3 đến 365 ngày "
        "làm việc)",
        "Lỗi: mục 5 (local.hotich.khai-sinh): không có trường «fax»",
    ]
    async with session_factory() as session:
        assert await current_version(session) is None
    path.write_text("[1, 2", encoding="utf-8")
    assert await asyncio.to_thread(cli, ["load", str(path)]) == 2
    assert "không phải JSON hợp lệ" in capsys.readouterr().err


async def test_flagged_lists_the_dossiers_registered_off_the_catalogue(
    cli: Any, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    async with session_factory() as session:
        row = dossier_row("H21.65-261123-0042", working_days=10)
        session.add(row)
        await session.commit()
        session.add(
            DossierEvent(
                dossier_code=row.code,
                seq=0,
                at=row.received_at,
                kind="working_days_differ",
                by="system",
                detail={"procedure_code": "1.001234", "working_days": 10, "catalogue_working_days": 15},
            )
        )
        await session.commit()
    assert await asyncio.to_thread(cli, ["flagged"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "H21.65-261123-0042\t1.001234\t10 ngày (danh mục: 15 ngày)\t"
        "Thời hạn giải quyết khác danh mục thủ tục của tỉnh"
    ]


def test_a_migrated_database_takes_the_catalogue_through_standard_input(tmp_path: Path) -> None:
    """As docs/deployment.md loads the province's file into the container, on a database migrated by
    Alembic (migration 0008), from a shell."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'procedures.db'}"
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "local"}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "admin.procedures", *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    unmigrated = run("list")
    assert unmigrated.returncode == 2
    assert "python -m db.migrate" in unmigrated.stderr
    upgrade(url)
    piped = run("load", "/dev/stdin", stdin=SAMPLE.read_text(encoding="utf-8"))
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.strip() == "Đã nạp 21 thủ tục từ /dev/stdin: phiên bản 1, áp dụng từ bây giờ."
    shown = run("show", "2.000908")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[1] == "    mã trên CSDL quốc gia: 2.000908"
    help_text = run("--help").stdout
    for command in ("load", "list", "show", "versions", "flagged"):
        assert command in help_text
