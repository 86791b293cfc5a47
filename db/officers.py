"""Officer accounts and their sign-in sessions: Argon2id password hashes, server-side sessions.

The desk pages sign officers in with these (pages/auth.py); administrators manage them with
`python -m admin.officers`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Officer, OfficerSession
from db.types import utcnow
from domain.access import DeskRole
from domain.codes import AGENCY_CODE_PATTERN, ALL_AGENCIES

# Argon2id with the library's defaults (RFC 9106's second recommended profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# 20 characters at most: a payment recorded at the counter carries the user name as its `source`.
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,19}$")
MIN_PASSWORD_LENGTH = 10
LOCAL_USERNAME = "canbo"


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
    cleaned = sorted({a.strip().upper() for a in agencies if a.strip()})
    if not cleaned:
        raise OfficerError(f"cần ít nhất một mã cơ quan (hoặc {ALL_AGENCIES} cho mọi cơ quan)")
    bad = [a for a in cleaned if a != ALL_AGENCIES and not re.match(AGENCY_CODE_PATTERN, a)]
    if bad:
        raise OfficerError(f"mã cơ quan không hợp lệ: {', '.join(bad)}")
    return [ALL_AGENCIES] if ALL_AGENCIES in cleaned else cleaned


async def list_officers(session: AsyncSession) -> list[Officer]:
    return list((await session.exec(select(Officer).order_by(col(Officer.username)))).all())


async def find_officer(session: AsyncSession, username: str) -> Officer | None:
    found = await session.exec(select(Officer).where(Officer.username == username.strip().lower()))
    return found.first()


async def officers_named(session: AsyncSession, usernames: set[str]) -> list[Officer]:
    """The officers of these user names (those that exist), for pages that name them."""
    wanted = sorted(name for name in usernames if name)
    if not wanted:
        return []
    return list((await session.exec(select(Officer).where(col(Officer.username).in_(wanted)))).all())


async def create_officer(
    session: AsyncSession,
    username: str,
    display_name: str,
    password: str,
    agencies: list[str],
    role: DeskRole = DeskRole.OFFICER,
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
        await create_officer(
            session, LOCAL_USERNAME, "Cán bộ (chạy thử)", password, [ALL_AGENCIES], DeskRole.OFFICER
        )
        return
    if not officer.active or not await asyncio.to_thread(verify_password, officer.password_hash, password):
        officer.active = True
        await set_password(session, officer, password)


# ---------------------------------------------------------------- sign-in sessions
# A session is a random token the officer's cookie carries (pages/auth.py signs it); the table keeps only
# its SHA-256, so a copy of the database lets nobody sign in.


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(session: AsyncSession, officer: Officer, lifetime: timedelta) -> str:
    """A new session for `officer` (commits); returns its token."""
    now = utcnow()
    # Sessions that ran out are deleted here rather than by a job: sign-ins are rare enough.
    await session.exec(delete(OfficerSession).where(col(OfficerSession.expires_at) < now))
    token = secrets.token_urlsafe(32)
    assert officer.id is not None
    session.add(
        OfficerSession(
            token_hash=token_hash(token),
            officer_id=officer.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    officer.last_login_at = now
    session.add(officer)
    await session.commit()
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    """Sign out: the session with this token ends (commits)."""
    await session.exec(delete(OfficerSession).where(col(OfficerSession.token_hash) == token_hash(token)))
    await session.commit()


async def live_session(
    session: AsyncSession, token: str, idle: timedelta, touch_every: timedelta
) -> tuple[Officer, OfficerSession] | None:
    """The active officer and the session this token opens, unless it expired, idled out or the account
    was deactivated; its last use is written at most every `touch_every`."""
    row = (
        await session.exec(select(OfficerSession).where(OfficerSession.token_hash == token_hash(token)))
    ).first()
    now = utcnow()
    if row is None or row.expires_at <= now or row.last_seen_at + idle <= now:
        return None
    officer = await session.get(Officer, row.officer_id)
    if officer is None or not officer.active:
        return None
    if now - row.last_seen_at >= touch_every:
        await session.exec(
            update(OfficerSession).where(col(OfficerSession.id) == row.id).values(last_seen_at=now)
        )
        await session.commit()
    return officer, row
