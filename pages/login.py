"""Officer sign-in and sign-out for the desk (`/can-bo/dang-nhap`): form token, rate limit, password."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from db.officers import find_officer, hash_password, needs_rehash, verify_password
from domain.limits import Counted
from pages.auth import (
    LOGIN_PATH,
    CheckedFormDep,
    end_session,
    login_cookie_name,
    safe_next,
    session_cookie_name,
    set_cookie,
    start_session,
)
from pages.render import PageRoute, Redirect, render
from web.deps import SessionDep, SettingsDep
from web.ratelimit import Limiter, client_address

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng."


def _login_page(
    request: Request, settings: Any, *, next_url: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """The login form with a fresh double-submit token (cookie and hidden field)."""
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_token": token, "next": next_url, "error": "", "username": "", "logged_out": False} | context,
        status=status,
    )
    set_cookie(response, settings, login_cookie_name(settings), token, max_age=3600)
    return response


@router.get(LOGIN_PATH, response_class=HTMLResponse)
async def login_form(request: Request, settings: SettingsDep, next: str = "") -> HTMLResponse:
    """The officers' sign-in form."""
    return _login_page(
        request, settings, next_url=safe_next(next), logged_out="da-dang-xuat" in request.query_params
    )


@router.post(LOGIN_PATH, response_class=HTMLResponse)
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign in: checks the form token, the rate limit and the password; starts a session."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    next_url = safe_next(form.get("next"))
    username = form.get("username", "").strip().lower()[:50]
    cookie = request.cookies.get(login_cookie_name(settings), "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf_token", "")):
        return _login_page(
            request,
            settings,
            next_url=next_url,
            status=403,
            username=username,
            error="Biểu mẫu đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
        )
    # Counted before the password is checked (parallel guesses cannot all pass); a success takes it back.
    limiter = Limiter(request)
    counted = ((Counted.LOGIN_FAIL_ADDRESS, client_address(request)), (Counted.LOGIN_FAIL_USER, username))
    wait = await limiter.take(*counted)
    if wait is not None:
        log.info("officer.login_rate_limited")
        response = _login_page(
            request,
            settings,
            next_url=next_url,
            status=429,
            username=username,
            error=f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {max(1, -(-wait // 60))} phút.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    officer = await find_officer(session, username) if username else None
    password = form.get("password", "")
    valid = await _verify(officer.password_hash if officer else None, password)
    if officer is None or not valid or not officer.active:
        # A name that is no account may be a password typed in the wrong box: it is not logged.
        log.info("officer.login_failed", username=officer.username if officer else None)
        return _login_page(
            request, settings, next_url=next_url, status=401, username=username, error=LOGIN_FAILED
        )
    await limiter.forgive(*counted)
    if needs_rehash(officer.password_hash):
        officer.password_hash = await asyncio.to_thread(hash_password, password)
    cookie_value = await start_session(session, officer, settings)
    log.info("officer.login", username=officer.username)

    def cookies(response: Response) -> None:
        max_age = settings.officer_session_max_hours * 3600
        set_cookie(response, settings, session_cookie_name(settings), cookie_value, max_age=max_age)
        response.delete_cookie(login_cookie_name(settings), path="/", secure=settings.app_env != "local")

    raise Redirect(next_url, on_response=cookies)


async def _verify(password_hash: str | None, password: str) -> bool:
    # Argon2 takes tens of milliseconds of CPU on purpose: off the event loop.
    return await asyncio.to_thread(verify_password, password_hash, password)


@router.post("/can-bo/dang-xuat", response_class=HTMLResponse)
async def logout(
    request: Request, form: CheckedFormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """Sign out: the session ends on the server, the cookie is removed."""
    await end_session(session, settings, request.cookies.get(session_cookie_name(settings)))

    def clear(response: Response) -> None:
        response.delete_cookie(
            session_cookie_name(settings), path="/", secure=settings.app_env != "local", httponly=True
        )

    raise Redirect(f"{LOGIN_PATH}?da-dang-xuat=1", on_response=clear)
