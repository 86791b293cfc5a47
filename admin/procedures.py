"""The province's procedure catalogue: `python -m admin.procedures load FILE|list|show CODE|versions|flagged`.

Registration compares each dossier's procedure with the catalogue in force: a code it lacks, or other
working days, is registered as sent and listed by `flagged`. `load` reads a JSON file like
deploy/procedures.sample.json, checks every procedure and writes them as a new version (or nothing when
any is wrong); dossiers keep the version they were received under. Uses DATABASE_URL; the database must
already be migrated (`python -m db.migrate`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.database import with_database
from db.procedures import (
    catalogue_procedure,
    catalogue_procedures,
    current_version,
    flagged,
    load_catalogue,
    read_catalogue,
    versions,
)
from domain import vocabulary
from domain.procedures import CatalogueEntry, CatalogueError
from domain.status import EventKind
from settings import Settings, get_settings


def build_parser() -> argparse.ArgumentParser:
    """The command line: load, list, show, versions and flagged."""
    parser = argparse.ArgumentParser(
        prog="python -m admin.procedures",
        description=(
            "Quản lý danh mục thủ tục hành chính của tỉnh: thời hạn giải quyết, phí, lệ phí, thành phần "
            "hồ sơ, các bước nội bộ và quy tắc yêu cầu bổ sung của từng thủ tục."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    loading = commands.add_parser(
        "load",
        help="nạp danh mục từ tệp JSON thành một phiên bản mới",
        description="Kiểm tra mọi thủ tục của tệp trước; nếu có thủ tục sai thì không ghi gì. Hồ sơ đã "
        "tiếp nhận giữ phiên bản danh mục lúc tiếp nhận.",
    )
    loading.add_argument("file", type=Path, help="tệp JSON, ví dụ deploy/procedures.sample.json")
    listing = commands.add_parser("list", help="liệt kê các thủ tục của danh mục đang áp dụng")
    listing.add_argument("--version", type=int, help="một phiên bản cũ (mặc định: đang áp dụng)")
    showing = commands.add_parser("show", help="xem đầy đủ một thủ tục")
    showing.add_argument("code", help="mã thủ tục")
    showing.add_argument("--version", type=int, help="một phiên bản cũ (mặc định: đang áp dụng)")
    commands.add_parser("versions", help="các phiên bản danh mục đã nạp")
    commands.add_parser("flagged", help="hồ sơ có thủ tục không khớp danh mục khi tiếp nhận")
    return parser


def _rule(entry: CatalogueEntry) -> str:
    rule = entry.supplement
    times = "một lần" if rule.max_requests == 1 else f"tối đa {rule.max_requests} lần"
    count = "tính lại thời hạn từ đầu" if rule.restart_count else "tiếp tục thời hạn còn lại"
    return (
        f"yêu cầu bổ sung {times}; hạn nộp bổ sung {rule.supply_within_days} ngày làm việc; "
        f"khi nhận đủ: {count}"
    )


async def _load(session: AsyncSession, path: Path) -> int:
    try:
        entries, about = await asyncio.to_thread(read_catalogue, path)
    except CatalogueError as error:
        print(f"Không nạp tệp {path}: chưa ghi gì vào danh mục.", file=sys.stderr)
        for problem in error.problems:
            print(f"Lỗi: {problem}", file=sys.stderr)
        return 2
    catalogue = await load_catalogue(session, entries, loaded_by="cli", source=path.name, about=about)
    print(f"Đã nạp {len(entries)} thủ tục từ {path}: phiên bản {catalogue.version}, áp dụng từ bây giờ.")
    return 0


async def _list(session: AsyncSession, version: int | None) -> int:
    version = version or await current_version(session)
    entries = await catalogue_procedures(session, version)
    if not entries:
        print("(chưa có danh mục; nạp bằng: python -m admin.procedures load TỆP)")
        return 0 if version is None else 1
    print(f"Danh mục phiên bản {version}: {len(entries)} thủ tục")
    for e in entries:
        print(f"{e.code}\t{e.working_days} ngày làm việc\t{e.level}\t{e.name}")
    return 0


async def _show(session: AsyncSession, code: str, version: int | None) -> int:
    entry = await catalogue_procedure(session, code, version)
    if entry is None:
        print(f"Danh mục không có thủ tục {code}.", file=sys.stderr)
        return 1
    print(f"{entry.code}  {entry.name}")
    print(f"    mã trên CSDL quốc gia: {entry.national_code or 'chưa xác minh'}")
    print(f"    cấp thực hiện: {entry.level}; cơ quan: {', '.join(entry.agency_kinds)}")
    print(f"    thời hạn giải quyết: {entry.working_days} ngày làm việc")
    print(f"    bổ sung hồ sơ: {_rule(entry)}")
    for fee in entry.fees:
        amount = vocabulary.vn_money(fee.amount_vnd) if fee.amount_vnd is not None else "chưa xác định"
        print(f"    {fee.name}: {amount}" + (f" ({fee.note})" if fee.note else ""))
    if entry.documents:
        print("    thành phần hồ sơ:")
        for document in entry.documents:
            print(f"      - {document}")
    if entry.steps:
        print("    các bước nội bộ:")
        for step in entry.steps:
            print(f"      - {step.name} ({step.unit}): {step.hours:g} giờ làm việc")
    if entry.source:
        print(f"    nguồn: {entry.source}")
    return 0


async def _versions(session: AsyncSession) -> int:
    found = await versions(session)
    for v in found:
        c = v.catalogue
        print(
            f"{c.version}\t{vocabulary.vn_datetime(c.loaded_at)}\t{v.procedures} thủ tục\t"
            f"{c.loaded_by}\t{c.source}"
        )
    if not found:
        print("(chưa nạp phiên bản nào)")
    return 0


async def _flagged(session: AsyncSession) -> int:
    found = await flagged(session)
    for f in found:
        what = vocabulary.EVENTS[EventKind(f.kind)]
        days = f"{f.working_days} ngày"
        if f.catalogue_working_days is not None:
            days += f" (danh mục: {f.catalogue_working_days} ngày)"
        print(f"{f.code}\t{f.procedure_code}\t{days}\t{what}")
    if not found:
        print("(không có hồ sơ nào lệch danh mục)")
    return 0


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out one parsed command against the database of `settings`; returns the exit status."""

    async def work(session: AsyncSession) -> int:
        if args.command == "load":
            return await _load(session, args.file)
        if args.command == "list":
            return await _list(session, args.version)
        if args.command == "show":
            return await _show(session, args.code, args.version)
        if args.command == "versions":
            return await _versions(session)
        return await _flagged(session)

    return await with_database(settings, work)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m admin.procedures`."""
    args = build_parser().parse_args(argv)
    return asyncio.run(run(args, get_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
