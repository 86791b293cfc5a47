"""`python -m admin.agencies` as an administrator runs it: the directory that notices and pages read."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from admin import agencies as agencies_cli
from db.agencies import agency_cards, list_agencies, remove_agency
from db.engine import SessionFactory
from db.migrate import upgrade
from scripts.run_local import sample_directory
from settings import Settings
from tests.support.api import dossier_row

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "agencies.sample.json"


@pytest.fixture
def cli(settings: Settings, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The tool run in this process on the test's database (SQLite, and PostgreSQL when configured)."""
    monkeypatch.setattr(agencies_cli, "get_settings", lambda: settings)
    return agencies_cli.main


async def directory(session_factory: SessionFactory) -> dict[str, dict[str, str]]:
    async with session_factory() as session:
        rows = await list_agencies(session)
    return {r.code: {"name": r.name, "hotline": r.hotline, "address": r.address} for r in rows}


def test_load_writes_every_entry_and_a_second_load_changes_nothing(
    cli: Any, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["load", str(SAMPLE)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"Đã nạp 3 cơ quan từ {SAMPLE}: 3 thêm mới, 0 cập nhật, 0 không đổi."
    )
    assert cli(["load", str(SAMPLE)]) == 0
    assert "3 cơ quan" in (out := capsys.readouterr().out)
    assert "0 thêm mới, 0 cập nhật, 3 không đổi." in out

    assert cli(["list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[:4] == [
        "H21.01  Trung tâm Phục vụ hành chính công tỉnh Gia Lai",
        "    địa chỉ: Đường Trần Phú, phường Quy Nhơn, tỉnh Gia Lai",
        "    đường dây nóng: 1900 1234",
        "    giờ làm việc: Sáng 7:00–11:30, chiều 13:30–17:00, thứ Hai đến thứ Sáu",
    ]
    assert "H21.65  UBND huyện Chư Păh" in listed
    assert "H21.65.12  Trung tâm Phục vụ hành chính công xã Ia Ly" in listed


def test_a_file_with_any_bad_entry_writes_nothing(
    cli: Any, session_factory: SessionFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = [
        {"code": "H21.65", "name": "UBND huyện Chư Păh", "hotline": "0269 3845 123"},
        {"code": "h21 65", "name": "Sai mã"},
        {"code": "H21.66", "name": "  "},
        {"code": "H21.67", "name": "UBND huyện X", "oa_url": "http://zalo.me/x"},
        {"code": "H21.65", "name": "Trùng mã"},
        {"code": "H21.68", "name": "UBND huyện Y", "fax": "0269"},
        "H21.69",
    ]
    path = tmp_path / "agencies.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")

    assert cli(["load", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"Không nạp tệp {path}: chưa ghi gì vào danh bạ.",
        "Lỗi: mục 2 (h21 65): mã cơ quan: 'h21 65' không đúng dạng (ví dụ H21.65)",
        "Lỗi: mục 3 (H21.66): tên cơ quan: bắt buộc",
        "Lỗi: mục 4 (H21.67): địa chỉ Zalo OA: phải bắt đầu bằng https://",
        "Lỗi: mục 5: mã cơ quan H21.65 đã có ở một mục trước",
        "Lỗi: mục 6 (H21.68): fax: danh bạ không có trường này",
        "Lỗi: mục 7: phải là một đối tượng JSON",
    ]
    assert cli(["list"]) == 0
    assert "danh bạ chưa có cơ quan nào" in capsys.readouterr().out

    path.write_text("{not json", encoding="utf-8")
    assert cli(["load", str(path)]) == 2
    assert "không phải JSON hợp lệ" in capsys.readouterr().err
    assert cli(["load", str(tmp_path / "missing.json")]) == 2
    assert "không đọc được tệp" in capsys.readouterr().err


async def test_set_adds_and_edits_one_field_at_a_time_and_remove_deletes(
    settings: Settings, session_factory: SessionFactory
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # From a shell, on the test's tables (created for it) as DATABASE_URL.
        return subprocess.run(
            [sys.executable, "-m", "admin.agencies", *args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": settings.database_url, "APP_ENV": "local"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    new = await asyncio.to_thread(run, "set", "H21.70", "--hotline", "0269 1111")
    assert new.returncode == 2
    assert new.stderr.strip() == "Lỗi: tên cơ quan: bắt buộc"
    added = await asyncio.to_thread(
        run, "set", "H21.70", "--name", "UBND huyện Ia Grai", "--hotline", "0269 1111", "--address", "Ia Grai"
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[:2] == ["Đã thêm cơ quan:", "H21.70  UBND huyện Ia Grai"]
    edited = await asyncio.to_thread(run, "set", "H21.70", "--hotline", "0269 2222", "--address", "")
    assert edited.returncode == 0, edited.stderr
    assert edited.stdout.splitlines() == [
        "Đã cập nhật cơ quan:",
        "H21.70  UBND huyện Ia Grai",
        "    đường dây nóng: 0269 2222",
    ]
    assert await directory(session_factory) == {
        "H21.70": {"name": "UBND huyện Ia Grai", "hotline": "0269 2222", "address": ""}
    }
    too_long = await asyncio.to_thread(run, "set", "H21.70", "--hotline", "9" * 31)
    assert (too_long.returncode, too_long.stderr.strip()) == (2, "Lỗi: đường dây nóng: tối đa 30 ký tự")

    removed = await asyncio.to_thread(run, "remove", "H21.70")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == (
        "Đã xoá H21.70; thông báo và trang của hồ sơ mã này sẽ ghi «Bộ phận Một cửa»."
    )
    again = await asyncio.to_thread(run, "remove", "H21.70")
    assert (again.returncode, again.stderr.strip()) == (1, "Danh bạ không có cơ quan H21.70.")
    async with session_factory() as session:
        cards = await agency_cards(session, ["H21.70"], settings.notice_office_name)
    assert (cards["H21.70"].name, cards["H21.70"].known) == ("Bộ phận Một cửa", False)


async def test_unknown_lists_the_codes_dossiers_use_that_the_directory_lacks(
    settings: Settings, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    async with session_factory() as session:
        for code in ("H21.65-261123-0001", "H99.01-261123-0001", "H99.01-261123-0002", "H98.7-261123-0001"):
            session.add(dossier_row(code))
        await session.commit()
    status = await agencies_cli.run(agencies_cli.build_parser().parse_args(["load", str(SAMPLE)]), settings)
    assert status == 0
    capsys.readouterr()

    assert await agencies_cli.run(agencies_cli.build_parser().parse_args(["unknown"]), settings) == 0
    assert capsys.readouterr().out.splitlines() == ["H98.7\t1 hồ sơ", "H99.01\t2 hồ sơ"]


def test_an_administrator_loads_the_sample_into_a_migrated_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'agencies.db'}"
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "local"}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "admin.agencies", *args],
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
    assert unmigrated.stderr.splitlines() == [
        "Lỗi cơ sở dữ liệu: no such table: agencies",
        "Cơ sở dữ liệu đã được nâng cấp chưa? Chạy: python -m db.migrate",
    ]
    upgrade(url)
    loaded = run("load", "deploy/agencies.sample.json")
    assert loaded.returncode == 0, loaded.stderr
    assert "3 thêm mới" in loaded.stdout
    # As docs/deployment.md loads the province's file into the container: through standard input.
    edited = json.loads(SAMPLE.read_text(encoding="utf-8"))
    edited[0]["hotline"] = "0269 3845 000"
    piped = run("load", "/dev/stdin", stdin=json.dumps(edited, ensure_ascii=False))
    assert piped.returncode == 0, piped.stderr
    assert "0 thêm mới, 1 cập nhật, 2 không đổi." in piped.stdout
    help_text = run("--help").stdout
    assert "Quản lý danh bạ cơ quan" in help_text
    for command in ("list", "set", "remove", "unknown", "load"):
        assert command in help_text
    assert "--opening-hours" in run("set", "--help").stdout


async def test_make_run_loads_the_sample_only_into_an_empty_directory(
    settings: Settings, session_factory: SessionFactory
) -> None:
    assert await sample_directory(settings.database_url) == 3
    assert set(await directory(session_factory)) == {"H21.01", "H21.65", "H21.65.12"}
    # An administrator's directory is theirs: a later start adds nothing back.
    async with session_factory() as session:
        assert await remove_agency(session, "H21.01")
    assert await sample_directory(settings.database_url) == 0
    assert set(await directory(session_factory)) == {"H21.65", "H21.65.12"}
