"""Administer the office calendar's overrides: `python -m admin.calendar list|add|remove`.

The government announces swapped days every year (a Saturday worked in exchange for a day off); the
`holidays` package knows the days off but not the Saturdays worked, so an administrator records them here.
Uses DATABASE_URL; the database must already be migrated (`python -m db.migrate`).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.database import with_database
from db.calendar import BY_MAX_LENGTH, REASON_MAX_LENGTH, list_overrides, remove_override, set_override
from domain.calendar import WorkingCalendar, vietnam_holiday_names
from domain.timefmt import OFFICE_TZ
from settings import Settings, get_settings

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ngày không hợp lệ: {text!r} (dạng YYYY-MM-DD)") from None


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def build_parser() -> argparse.ArgumentParser:
    """The command line: list, add and remove overrides."""
    parser = argparse.ArgumentParser(
        prog="python -m admin.calendar",
        description="Quản lý ngày điều chỉnh lịch làm việc (làm bù, nghỉ bù) của bộ phận một cửa.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="liệt kê ngày điều chỉnh và ngày nghỉ lễ")
    listing.add_argument(
        "--year", type=int, help="chỉ năm này (mặc định: mọi ngày điều chỉnh, ngày lễ của năm hiện tại)"
    )

    adding = commands.add_parser("add", help="thêm hoặc thay ngày điều chỉnh")
    adding.add_argument("day", type=_day, help="ngày, dạng YYYY-MM-DD")
    kind = adding.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--working", dest="is_working_day", action="store_const", const=True, help="ngày làm việc (làm bù)"
    )
    kind.add_argument("--day-off", dest="is_working_day", action="store_const", const=False, help="ngày nghỉ")
    adding.add_argument("--reason", required=True, help="lý do, ví dụ số văn bản thông báo")
    adding.add_argument(
        "--by", default=_current_user(), help="người thực hiện (mặc định: tài khoản hệ điều hành)"
    )

    removing = commands.add_parser("remove", help="xoá ngày điều chỉnh")
    removing.add_argument("day", type=_day, help="ngày, dạng YYYY-MM-DD")
    return parser


def _label(day: date) -> str:
    return f"{day.isoformat()} ({WEEKDAYS_VI[day.weekday()]})"


def _kind(is_working_day: bool) -> str:
    return "ngày làm việc" if is_working_day else "ngày nghỉ"


async def _list(session: AsyncSession, year: int | None) -> int:
    overrides = await list_overrides(session, year)
    print("Ngày điều chỉnh" + (f" năm {year}:" if year is not None else ":"))
    for row in overrides:
        when = row.created_at.astimezone(OFFICE_TZ).strftime("%d/%m/%Y %H:%M")
        kind = _kind(row.is_working_day)
        print(f"  {_label(row.day):<24} {kind:<14} {row.reason}  ({row.created_by}, {when})")
    if not overrides:
        print("  (không có)")
    holiday_year = year if year is not None else datetime.now(OFFICE_TZ).year
    by_day = {row.day: row.is_working_day for row in overrides}
    print(f"Ngày nghỉ lễ năm {holiday_year} (theo gói holidays):")
    for day, name in vietnam_holiday_names(holiday_year).items():
        note = "  [điều chỉnh: ngày làm việc]" if by_day.get(day) else ""
        print(f"  {_label(day):<24} {name}{note}")
    return 0


async def _add(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> int:
    reason, by = args.reason.strip(), args.by.strip()
    if not reason or len(reason) > REASON_MAX_LENGTH:
        print(f"Lỗi: lý do phải có từ 1 đến {REASON_MAX_LENGTH} ký tự.", file=sys.stderr)
        return 2
    if not by or len(by) > BY_MAX_LENGTH:
        print(f"Lỗi: người thực hiện phải có từ 1 đến {BY_MAX_LENGTH} ký tự.", file=sys.stderr)
        return 2
    day: date = args.day
    row = await set_override(session, day, args.is_working_day, reason, by)
    print(f"Đã ghi: {_label(row.day)} là {_kind(row.is_working_day)}. Lý do: {row.reason}")
    # Without overrides: does this entry change anything?
    if WorkingCalendar(settings.office_hours()).is_working_day(day) == row.is_working_day:
        print(f"Lưu ý: theo lịch tuần và ngày lễ, ngày này vốn đã là {_kind(row.is_working_day)}.")
    print("Các hạn tính từ bây giờ theo lịch mới; hạn đã tính trước đó giữ nguyên.")
    return 0


async def _remove(session: AsyncSession, day: date) -> int:
    if not await remove_override(session, day):
        print(f"Không có ngày điều chỉnh nào vào {_label(day)}.", file=sys.stderr)
        return 1
    print(f"Đã xoá ngày điều chỉnh {_label(day)}; ngày này theo lại lịch tuần và ngày lễ.")
    return 0


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out one parsed command against the database of `settings`; returns the exit status."""

    async def work(session: AsyncSession) -> int:
        if args.command == "list":
            return await _list(session, args.year)
        if args.command == "add":
            return await _add(session, args, settings)
        return await _remove(session, args.day)

    return await with_database(settings, work)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m admin.calendar`."""
    args = build_parser().parse_args(argv)
    return asyncio.run(run(args, get_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
