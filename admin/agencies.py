"""The agency directory: `python -m admin.agencies list|set|remove|unknown|load FILE`.

Notices and pages name a dossier's agency, its address, hotline and opening hours from this directory; a
code it lacks is named neutrally (NOTICE_OFFICE_NAME) and listed by `unknown`. `load` reads a JSON file
like deploy/agencies.sample.json and writes every entry, or nothing when any entry is wrong.
Uses DATABASE_URL; the database must already be migrated (`python -m db.migrate`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.database import with_database
from db.agencies import (
    FIELDS,
    AgencyError,
    DirectoryError,
    list_agencies,
    load_agencies,
    read_directory,
    remove_agency,
    set_agency,
    unknown_codes,
)
from db.models import Agency
from domain.vocabulary import AGENCY_FIELDS
from settings import Settings, get_settings

# The options of `set`, one per field of an entry.
OPTIONS = {field: "--" + field.replace("_", "-") for field in FIELDS}


def build_parser() -> argparse.ArgumentParser:
    """The command line: list, set, remove, unknown and load."""
    parser = argparse.ArgumentParser(
        prog="python -m admin.agencies",
        description=(
            "Quản lý danh bạ cơ quan: tên, địa chỉ, đường dây nóng, giờ làm việc mà thông báo và trang "
            "tra cứu in cho từng mã cơ quan."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="liệt kê các cơ quan trong danh bạ")

    setting = commands.add_parser(
        "set",
        help="thêm hoặc sửa một cơ quan",
        description="Thêm cơ quan mới (cần --name) hoặc sửa cơ quan đã có: trường không nêu giữ nguyên, "
        'trường nêu với "" được xoá.',
    )
    setting.add_argument("code", help="mã cơ quan, ví dụ H21.65")
    for field, option in OPTIONS.items():
        setting.add_argument(option, dest=field, help=AGENCY_FIELDS[field])

    removing = commands.add_parser("remove", help="xoá một cơ quan khỏi danh bạ")
    removing.add_argument("code", help="mã cơ quan")

    commands.add_parser("unknown", help="mã cơ quan hồ sơ đang dùng mà danh bạ chưa có")

    loading = commands.add_parser(
        "load",
        help="nạp danh bạ từ tệp JSON (thêm mới hoặc thay từng cơ quan trong tệp)",
        description="Kiểm tra mọi mục của tệp trước; nếu có mục sai thì không ghi gì. Cơ quan không có "
        "trong tệp giữ nguyên.",
    )
    loading.add_argument("file", type=Path, help="tệp JSON, ví dụ deploy/agencies.sample.json")
    return parser


def _print_entry(row: Agency) -> None:
    print(f"{row.code}  {row.name}")
    for field in FIELDS[1:]:
        value = getattr(row, field)
        if value:
            print(f"    {AGENCY_FIELDS[field]}: {value}")


async def _list(session: AsyncSession) -> int:
    rows = await list_agencies(session)
    for row in rows:
        _print_entry(row)
    if not rows:
        print("(danh bạ chưa có cơ quan nào; nạp bằng: python -m admin.agencies load TỆP)")
    return 0


async def _set(session: AsyncSession, args: argparse.Namespace) -> int:
    current = await session.get(Agency, args.code)
    given = {field: getattr(args, field) for field in FIELDS if getattr(args, field) is not None}
    values = {field: getattr(current, field) for field in FIELDS} if current is not None else {}
    try:
        row, created = await set_agency(session, args.code, values | given)
    except AgencyError as error:
        print(f"Lỗi: {error.vi}", file=sys.stderr)
        return 2
    print(f"Đã {'thêm' if created else 'cập nhật'} cơ quan:")
    _print_entry(row)
    return 0


async def _remove(session: AsyncSession, code: str, settings: Settings) -> int:
    if not await remove_agency(session, code):
        print(f"Danh bạ không có cơ quan {code}.", file=sys.stderr)
        return 1
    print(f"Đã xoá {code}; thông báo và trang của hồ sơ mã này sẽ ghi «{settings.notice_office_name}».")
    return 0


async def _unknown(session: AsyncSession) -> int:
    found = await unknown_codes(session)
    for code, dossiers in found:
        print(f"{code}\t{dossiers} hồ sơ")
    if not found:
        print("(mọi mã cơ quan của hồ sơ đều có trong danh bạ)")
    return 0


async def _load(session: AsyncSession, path: Path) -> int:
    try:
        entries = await asyncio.to_thread(read_directory, path)
    except DirectoryError as error:
        print(f"Không nạp tệp {path}: chưa ghi gì vào danh bạ.", file=sys.stderr)
        for problem in error.problems:
            print(f"Lỗi: {problem}", file=sys.stderr)
        return 2
    loaded = await load_agencies(session, entries)
    print(
        f"Đã nạp {len(entries)} cơ quan từ {path}: {loaded.created} thêm mới, {loaded.updated} cập nhật, "
        f"{loaded.unchanged} không đổi."
    )
    return 0


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out one parsed command against the database of `settings`; returns the exit status."""

    async def work(session: AsyncSession) -> int:
        if args.command == "list":
            return await _list(session)
        if args.command == "set":
            return await _set(session, args)
        if args.command == "remove":
            return await _remove(session, args.code, settings)
        if args.command == "unknown":
            return await _unknown(session)
        return await _load(session, args.file)

    return await with_database(settings, work)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m admin.agencies`."""
    args = build_parser().parse_args(argv)
    return asyncio.run(run(args, get_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
