"""Officer accounts for the desk pages (/can-bo).

python -m admin.officers create --username lan.nt --name "Nguyễn Thị Lan" --agency H21.65 [--role viewer]
python -m admin.officers create … --generate        # print a generated password once instead of asking
python -m admin.officers list
python -m admin.officers set-password --username lan.nt [--generate]
python -m admin.officers deactivate --username lan.nt   (activate: the same, back on)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.database import with_database
from db.officers import (
    OfficerError,
    create_officer,
    find_officer,
    generate_password,
    list_officers,
    set_active,
    set_password,
)
from domain.access import DeskRole
from settings import Settings, get_settings


def _read_password(generate: bool) -> tuple[str, bool]:
    """The new password and whether it was generated (then it is printed once)."""
    if generate:
        return generate_password(), True
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n"), False
    first = getpass.getpass("Mật khẩu mới: ")
    if first != getpass.getpass("Nhập lại mật khẩu: "):
        raise OfficerError("hai lần nhập mật khẩu không khớp")
    return first, False


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> int:
        try:
            return await _command(session, args)
        except OfficerError as error:
            print(f"Lỗi: {error}", file=sys.stderr)
            return 2

    return await with_database(settings, work)


async def _command(session: AsyncSession, args: argparse.Namespace) -> int:
    if args.command == "list":
        officers = await list_officers(session)
        for o in officers:
            state = "đang dùng" if o.active else "đã khoá"
            print(f"{o.username}\t{o.display_name}\t{','.join(o.agencies)}\t{o.role}\t{state}")
        if not officers:
            print("(chưa có cán bộ nào)")
        return 0
    if args.command == "create":
        password, generated = _read_password(args.generate)
        officer = await create_officer(
            session, args.username, args.name or args.username, password, args.agency, DeskRole(args.role)
        )
        print(f"Đã tạo cán bộ {officer.username} ({', '.join(officer.agencies)}, {officer.role}).")
        if generated:
            print(f"Mật khẩu (chỉ hiện một lần): {password}")
        return 0
    found = await find_officer(session, args.username)
    if found is None:
        print(f"Lỗi: không có cán bộ {args.username}", file=sys.stderr)
        return 1
    if args.command == "set-password":
        password, generated = _read_password(args.generate)
        await set_password(session, found, password)
        print(f"Đã đổi mật khẩu của {found.username}; các phiên đăng nhập cũ đã kết thúc.")
        if generated:
            print(f"Mật khẩu (chỉ hiện một lần): {password}")
        return 0
    await set_active(session, found, args.command == "activate")
    print(f"{found.username}: {'đang dùng' if found.active else 'đã khoá, các phiên đã kết thúc'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m admin.officers", description="Quản lý tài khoản cán bộ của trang cán bộ (/can-bo)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="tạo cán bộ (hỏi mật khẩu, hoặc --generate)")
    create.add_argument("--username", required=True, help="tên đăng nhập, ví dụ lan.nt")
    create.add_argument("--name", help="họ tên hiển thị")
    create.add_argument(
        "--agency", action="append", required=True, help="mã cơ quan, hoặc * cho mọi cơ quan; lặp lại được"
    )
    create.add_argument("--role", choices=[r.value for r in DeskRole], default=DeskRole.OFFICER.value)
    create.add_argument("--generate", action="store_true", help="tạo mật khẩu ngẫu nhiên và in ra một lần")
    commands.add_parser("list", help="liệt kê cán bộ (không bao giờ in mật khẩu)")
    password = commands.add_parser("set-password", help="đổi mật khẩu và kết thúc các phiên đăng nhập")
    password.add_argument("--username", required=True)
    password.add_argument("--generate", action="store_true")
    for name, text in (("deactivate", "khoá tài khoản"), ("activate", "mở lại tài khoản")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--username", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m admin.officers`."""
    return asyncio.run(_run(build_parser().parse_args(argv), get_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
