"""`python -m admin.calendar` as an administrator runs it: a subprocess against a migrated SQLite file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from activities.calendar import CalendarActivities
from db.calendar import list_overrides
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade
from domain.timefmt import OFFICE_TZ
from settings import Settings
from workflows.contracts import DueAtRequest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database_file(tmp_path: Path) -> str:
    """The URL of a migrated SQLite database of this test only."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'calendar.db'}"
    upgrade(url)
    return url


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "local"}
    return subprocess.run(
        [sys.executable, "-m", "admin.calendar", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_add_list_and_remove(database_file: str) -> None:
    added = cli(
        database_file,
        "add",
        "2027-02-20",
        "--working",
        "--reason",
        "Làm bù cho ngày 10/02/2027",
        "--by",
        "lan",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [
        "Đã ghi: 2027-02-20 (Thứ Bảy) là ngày làm việc. Lý do: Làm bù cho ngày 10/02/2027",
        "Các hạn tính từ bây giờ theo lịch mới; hạn đã tính trước đó giữ nguyên.",
    ]
    # A weekday that is already a day off: recorded, with a note that it changes nothing.
    redundant = cli(
        database_file, "add", "2027-02-10", "--day-off", "--reason", "Mùng năm Tết", "--by", "lan"
    )
    assert redundant.returncode == 0, redundant.stderr
    assert "Lưu ý: theo lịch tuần và ngày lễ, ngày này vốn đã là ngày nghỉ." in redundant.stdout
    assert (
        cli(database_file, "add", "2026-08-22", "--working", "--reason", "Làm bù", "--by", "lan").returncode
        == 0
    )

    listed = cli(database_file, "list", "--year", "2027")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "Ngày điều chỉnh năm 2027:"
    assert lines[1].startswith("  2027-02-10 (Thứ Tư)      ngày nghỉ      Mùng năm Tết  (lan, ")
    assert lines[2].startswith("  2027-02-20 (Thứ Bảy)     ngày làm việc  Làm bù cho ngày 10/02/2027  (lan, ")
    assert lines[3] == "Ngày nghỉ lễ năm 2027 (theo gói holidays):"
    assert lines[4:] == [
        "  2027-01-01 (Thứ Sáu)     Tết Dương lịch",
        "  2027-02-04 (Thứ Năm)     29 Tết",
        "  2027-02-05 (Thứ Sáu)     Giao thừa Tết Nguyên Đán",
        "  2027-02-06 (Thứ Bảy)     Tết Nguyên Đán",
        "  2027-02-07 (Chủ nhật)    Mùng hai Tết Nguyên Đán",
        "  2027-02-08 (Thứ Hai)     Mùng ba Tết Nguyên Đán",
        "  2027-02-09 (Thứ Ba)      Mùng bốn Tết Nguyên Đán",
        "  2027-02-10 (Thứ Tư)      Mùng năm Tết Nguyên Đán",
        "  2027-04-16 (Thứ Sáu)     Ngày Giỗ Tổ Hùng Vương",
        "  2027-04-30 (Thứ Sáu)     Ngày Chiến thắng",
        "  2027-05-01 (Thứ Bảy)     Ngày Quốc tế Lao động",
        "  2027-05-03 (Thứ Hai)     Ngày Quốc tế Lao động (nghỉ bù)",
        "  2027-09-02 (Thứ Năm)     Quốc khánh",
        "  2027-09-03 (Thứ Sáu)     Quốc khánh",
        "  2027-11-24 (Thứ Tư)      Ngày Văn hóa Việt Nam",
    ]

    removed = cli(database_file, "remove", "2027-02-20")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == (
        "Đã xoá ngày điều chỉnh 2027-02-20 (Thứ Bảy); ngày này theo lại lịch tuần và ngày lễ."
    )
    again = cli(database_file, "remove", "2027-02-20")
    assert again.returncode == 1
    assert again.stderr.strip() == "Không có ngày điều chỉnh nào vào 2027-02-20 (Thứ Bảy)."

    # Without --year: every override, whatever its year.
    everything = cli(database_file, "list")
    assert everything.returncode == 0, everything.stderr
    assert [line[2:12] for line in everything.stdout.splitlines()[1:3]] == ["2026-08-22", "2027-02-10"]


def test_a_working_holiday_is_marked_in_the_holiday_list(database_file: str) -> None:
    assert (
        cli(database_file, "add", "2027-02-10", "--working", "--reason", "Thử", "--by", "lan").returncode == 0
    )
    listed = cli(database_file, "list", "--year", "2027")
    assert (
        "  2027-02-10 (Thứ Tư)      Mùng năm Tết Nguyên Đán  [điều chỉnh: ngày làm việc]"
        in listed.stdout.splitlines()
    )


async def test_a_day_added_with_the_cli_moves_the_next_due_date(database_file: str) -> None:
    engine = make_engine(database_file)
    # Read at every call: with the worker's default the change applies within CALENDAR_CACHE_SECONDS.
    activities = CalendarActivities(make_session_factory(engine), Settings(calendar_cache_seconds=0))
    request = DueAtRequest(start=datetime(2027, 2, 3, 9, tzinfo=OFFICE_TZ), working_days=3)
    try:
        assert await activities.due_at(request) == datetime(2027, 2, 15, 9, tzinfo=OFFICE_TZ)
        result = await asyncio.to_thread(
            cli, database_file, "add", "2027-02-15", "--day-off", "--reason", "Nghỉ bù", "--by", "lan"
        )
        assert result.returncode == 0, result.stderr
        assert await activities.due_at(request) == datetime(2027, 2, 16, 9, tzinfo=OFFICE_TZ)
        async with make_session_factory(engine)() as session:
            (row,) = await list_overrides(session)
        assert (row.day, row.is_working_day, row.reason, row.created_by) == (
            date(2027, 2, 15),
            False,
            "Nghỉ bù",
            "lan",
        )
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("add", "2027-13-01", "--day-off", "--reason", "x"),
            "ngày không hợp lệ: '2027-13-01'",
            id="bad-date",
        ),
        pytest.param(
            ("add", "2027-02-15", "--reason", "x"), "one of the arguments --working --day-off", id="no-kind"
        ),
        pytest.param(
            ("add", "2027-02-15", "--working", "--day-off", "--reason", "x"),
            "not allowed with",
            id="both-kinds",
        ),
        pytest.param(("add", "2027-02-15", "--day-off"), "--reason", id="no-reason"),
        pytest.param(
            ("add", "2027-02-15", "--day-off", "--reason", "  "), "Lỗi: lý do phải có", id="blank-reason"
        ),
        pytest.param(("remove", "15/02/2027"), "ngày không hợp lệ", id="remove-bad-date"),
    ],
)
def test_refuses_bad_input(database_file: str, args: tuple[str, ...], message: str) -> None:
    result = cli(database_file, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_an_unmigrated_database_is_reported(tmp_path: Path) -> None:
    result = cli(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "list")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Lỗi cơ sở dữ liệu: no such table: calendar_overrides",
        "Cơ sở dữ liệu đã được nâng cấp chưa? Chạy: python -m db.migrate",
    ]
