"""Officer sign-in: server-side sessions behind a signed cookie, a CSRF token per session.

The cookie holds `<token>.<signature>`: a random token and its HMAC-SHA256 under SECRET_KEY, so a forged
cookie is refused without touching the database; the table keeps only the token's SHA-256, so a copy of
the database lets nobody sign in. Cookies are HttpOnly and SameSite=Lax, and Secure (with the `__Host-`
prefix) everywhere but local mode. Every POST carries the session's CSRF token in a hidden field; the
login form, before any session exists, uses a double-submit cookie. Failed logins slow down per client
address and per user name (web/ratelimit.py, counted in the database).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from db import officers
from db.models import Officer
from domain.access import DeskRole
from domain.codes import in_scope
from pages.render import PageError, Redirect
from settings import Settings
from web.codec_access import CodecAuthenticator, CodecCaller
from web.deps import SessionDep, SettingsDep

LOGIN_PATH = "/can-bo/dang-nhap"
# Only write last_seen_at this often: a page view should not always be a database write.
TOUCH_EVERY = timedelta(minutes=1)


def secure_cookies(settings: Settings) -> bool:
    return settings.app_env != "local"


def session_cookie_name(settings: Settings) -> str:
    # __Host-: the browser accepts it only Secure, for path / and from this very host.
    return "__Host-dt_can_bo" if secure_cookies(settings) else "dt_can_bo"


def login_cookie_name(settings: Settings) -> str:
    return "__Host-dt_dang_nhap" if secure_cookies(settings) else "dt_dang_nhap"


def _signature(settings: Settings, token: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    digest = hmac.new(key, b"officer-session:" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signed(settings: Settings, token: str) -> str:
    return f"{token}.{_signature(settings, token)}"


def unsigned(settings: Settings, value: str | None) -> str | None:
    """The token of a cookie whose signature holds; None for anything else."""
    if not value or value.count(".") != 1:
        return None
    token, signature = value.split(".")
    return token if hmac.compare_digest(signature, _signature(settings, token)) else None


def set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=secure_cookies(settings),
        httponly=True,
        samesite="lax",
    )


# ---------------------------------------------------------------- sessions


async def start_session(session: AsyncSession, officer: Officer, settings: Settings) -> str:
    """A new session for `officer` (commits); returns the cookie value."""
    token = await officers.start_session(
        session, officer, timedelta(hours=settings.officer_session_max_hours)
    )
    return signed(settings, token)


async def end_session(session: AsyncSession, settings: Settings, cookie: str | None) -> None:
    token = unsigned(settings, cookie)
    if token is not None:
        await officers.end_session(session, token)


@dataclass
class SignedIn:
    """The officer behind this request, and the CSRF token their forms carry."""

    officer: Officer
    csrf_token: str

    @property
    def may_act(self) -> bool:
        return self.officer.role == DeskRole.OFFICER.value

    def require_action_rights(self) -> None:
        if not self.may_act:
            raise PageError(
                403,
                "Không có quyền xử lý",
                "Tài khoản của ông/bà chỉ được xem hồ sơ, không được thực hiện thao tác.",
            )

    def require_agency(self, agency_code: str) -> None:
        if not in_scope(self.officer.agencies, agency_code):
            # The same page as for a code that does not exist: other agencies' dossiers stay unseen.
            raise PageError(
                404, "Không tìm thấy hồ sơ", "Không có hồ sơ nào với mã này trong phạm vi của ông/bà."
            )


def _login_redirect(request: Request) -> Redirect:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"{LOGIN_PATH}?next={quote(target, safe='')}")


async def current_officer(request: Request, session: AsyncSession, settings: Settings) -> SignedIn | None:
    """The officer whose live session the request's cookie carries, if any."""
    token = unsigned(settings, request.cookies.get(session_cookie_name(settings)))
    if token is None:
        return None
    found = await officers.live_session(
        session, token, timedelta(minutes=settings.officer_session_idle_minutes), TOUCH_EVERY
    )
    if found is None:
        return None
    officer, row = found
    return SignedIn(officer, row.csrf_token)


async def signed_in(request: Request, session: SessionDep, settings: SettingsDep) -> SignedIn:
    """The signed-in officer; otherwise the browser is sent to the login page (and back afterwards)."""
    who = await current_officer(request, session, settings)
    if who is None:
        raise _login_redirect(request)
    request.state.officer = who.officer
    request.state.csrf_token = who.csrf_token
    return who


def officer_codec_authenticator(settings: Settings) -> CodecAuthenticator:
    """Lets a signed-in officer's browser (the Temporal UI, with credentials) call the codec server: for
    their agencies' dossiers, if their role may read personal data (CODEC_ROLES)."""

    async def authenticate(request: Request) -> CodecCaller | None:
        if session_cookie_name(settings) not in request.cookies:
            return None  # no desk session: leave it to the other authenticators, without a database trip
        async with request.app.state.session_factory() as session:
            who = await current_officer(request, session, settings)
        if who is None:
            return None
        officer = who.officer
        return CodecCaller.of(
            f"officer:{officer.username}", officer.agencies, officer.role in settings.codec_roles
        )

    return authenticate


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


async def checked_form(request: Request, who: SignedInDep) -> dict[str, str]:
    """The POSTed form, once its CSRF token matches the session's (403 otherwise)."""
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    if not hmac.compare_digest(values.get("csrf_token", ""), who.csrf_token):
        raise PageError(
            403,
            "Biểu mẫu đã hết hiệu lực",
            "Biểu mẫu không còn hợp lệ (có thể do đã đăng nhập lại ở cửa sổ khác). "
            "Vui lòng tải lại trang và thực hiện lại.",
        )
    return values


CheckedFormDep = Annotated[dict[str, str], Depends(checked_form)]


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path of the desk itself (no open redirect)."""
    if target and target.startswith("/can-bo") and not target.startswith("//") and "\\" not in target:
        return target
    return "/can-bo"
