"""Officer accounts for the desk pages: Argon2id password hashes, and the administrators' CLI.

python -m api.officers create --username lan.nt --name "Nguyễn Thị Lan" --agency H21.65 [--role viewer]
python -m api.officers create … --generate        # print a generated password once instead of asking
python -m api.officers list
python -m api.officers set-password --username lan.nt [--generate]
python -m api.officers deactivate --username lan.nt   (activate: the same, back on)

Uses DATABASE_URL; the database must already be migrated (`python -m db.migrate`).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import secrets
import sys
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import make_engine, make_session_factory
from db.models import Officer, OfficerSession
from db.types import utcnow
from domain.codes import AGENCY_CODE_PATTERN
from settings import Settings, get_settings

# Argon2id with the library's defaults (RFC 9106's second recommended profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# 20 characters at most: a payment recorded at the counter carries the user name as its `source`.
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,19}$")
MIN_PASSWORD_LENGTH = 10
LOCAL_USERNAME = "canbo"


class Role(StrEnum):
    OFFICER = "officer"  # reads and acts on dossiers
    VIEWER = "viewer"  # reads only (leadership, inspection)

    @property
    def label_vi(self) -> str:
        return {Role.OFFICER: "Cán bộ xử lý", Role.VIEWER: "Chỉ xem"}[self]


class OfficerError(ValueError):
    """Bad account data; the message is Vietnamese, for the administrator who typed it."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; spends the same effort when there is no account (`None`)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def normalize_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise OfficerError(
            "tên đăng nhập gồm 3–20 ký tự: chữ thường không dấu, số, dấu chấm, gạch ngang, gạch dưới"
        )
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OfficerError(f"mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự")


def check_agencies(agencies: list[str]) -> list[str]:
    cleaned = sorted({a.strip().upper() if a.strip() != "*" else "*" for a in agencies if a.strip()})
    if not cleaned:
        raise OfficerError("cần ít nhất một mã cơ quan (hoặc * cho mọi cơ quan)")
    bad = [a for a in cleaned if a != "*" and not re.match(AGENCY_CODE_PATTERN, a)]
    if bad:
        raise OfficerError(f"mã cơ quan không hợp lệ: {', '.join(bad)}")
    return ["*"] if "*" in cleaned else cleaned


async def find_officer(session: AsyncSession, username: str) -> Officer | None:
    found = await session.exec(select(Officer).where(Officer.username == username.strip().lower()))
    return found.first()


async def create_officer(
    session: AsyncSession,
    username: str,
    display_name: str,
    password: str,
    agencies: list[str],
    role: Role = Role.OFFICER,
) -> Officer:
    """Store a new officer (commits); OfficerError on bad data or a taken user name."""
    name = normalize_username(username)
    display = display_name.strip()
    if not display or len(display) > 200:
        raise OfficerError("họ tên cần từ 1 đến 200 ký tự")
    check_password(password)
    cleaned = check_agencies(agencies)
    if await find_officer(session, name) is not None:
        raise OfficerError(f"tên đăng nhập {name} đã có")
    officer = Officer(
        username=name,
        display_name=display,
        password_hash=await asyncio.to_thread(hash_password, password),
        agencies=cleaned,
        role=role.value,
    )
    session.add(officer)
    await session.commit()
    return officer


async def set_password(session: AsyncSession, officer: Officer, password: str) -> None:
    """Replace the password and end every session of the officer (commits)."""
    check_password(password)
    officer.password_hash = await asyncio.to_thread(hash_password, password)
    officer.updated_at = utcnow()
    session.add(officer)
    await end_sessions(session, officer)
    await session.commit()


async def set_active(session: AsyncSession, officer: Officer, active: bool) -> None:
    officer.active = active
    officer.updated_at = utcnow()
    session.add(officer)
    if not active:
        await end_sessions(session, officer)
    await session.commit()


async def end_sessions(session: AsyncSession, officer: Officer) -> None:
    await session.exec(delete(OfficerSession).where(col(OfficerSession.officer_id) == officer.id))


async def ensure_local_officer(session: AsyncSession, password: str) -> None:
    """Local mode: an officer `canbo` for every agency whose password is the one `make run` printed."""
    officer = await find_officer(session, LOCAL_USERNAME)
    if officer is None:
        await create_officer(session, LOCAL_USERNAME, "Cán bộ (chạy thử)", password, ["*"], Role.OFFICER)
        return
    if not officer.active or not await asyncio.to_thread(verify_password, officer.password_hash, password):
        officer.active = True
        await set_password(session, officer, password)


# ---------------------------------------------------------------- the command line


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
    engine = make_engine(settings.database_url)
    try:
        async with make_session_factory(engine)() as session:
            if args.command == "list":
                officers = (await session.exec(select(Officer).order_by(col(Officer.username)))).all()
                for o in officers:
                    state = "đang dùng" if o.active else "đã khoá"
                    print(f"{o.username}\t{o.display_name}\t{','.join(o.agencies)}\t{o.role}\t{state}")
                if not officers:
                    print("(chưa có cán bộ nào)")
                return 0
            if args.command == "create":
                password, generated = _read_password(args.generate)
                officer = await create_officer(
                    session, args.username, args.name or args.username, password, args.agency, Role(args.role)
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
    except OfficerError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as error:
        print(f"Lỗi cơ sở dữ liệu: {error.orig}", file=sys.stderr)
        print("Cơ sở dữ liệu đã được nâng cấp chưa? Chạy: python -m db.migrate", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m api.officers", description="Quản lý tài khoản cán bộ của trang cán bộ (/can-bo)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="tạo cán bộ (hỏi mật khẩu, hoặc --generate)")
    create.add_argument("--username", required=True, help="tên đăng nhập, ví dụ lan.nt")
    create.add_argument("--name", help="họ tên hiển thị")
    create.add_argument(
        "--agency", action="append", required=True, help="mã cơ quan, hoặc * cho mọi cơ quan; lặp lại được"
    )
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.OFFICER.value)
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
    """Entry point of `python -m api.officers`."""
    return asyncio.run(_run(build_parser().parse_args(argv), get_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
