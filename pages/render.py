"""Rendering pages: one Jinja2 environment (autoescape on), safe headers, and friendly Vietnamese errors.

Page routes use `PageRoute`, so that whatever goes wrong in them (a bad parameter, an unreachable
workflow engine, a bug) answers a Vietnamese HTML page rather than the API's JSON problem details.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain import vocabulary
from domain.codes import ALL_AGENCIES, mask_phone, workflow_id
from pages import labels
from workflows.gateway import GatewayError, Unavailable

log = structlog.get_logger(__name__)

PAGES_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PAGES_DIR / "templates"
STATIC_DIR = PAGES_DIR / "static"
CSS_FILE = STATIC_DIR / "pages.css"

# The lookup URL carries the phone's last digits: no Referer to the payment site or anywhere else.
# No script at all; styles only from our own file.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _css_version() -> str:
    """A fingerprint of the stylesheet, so browsers may cache it and still see every change."""
    return hashlib.sha256(CSS_FILE.read_bytes()).hexdigest()[:10]


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        vn_dt=labels.vn_dt,
        vn_day_dt=labels.vn_day_dt,
        money=labels.money,
        status_vi=labels.status_vi,
        event_vi=labels.event_vi,
        notice_kind_vi=labels.notice_kind_vi,
        list_title_vi=labels.list_title_vi,
        list_empty_vi=labels.list_empty_vi,
        notice_status_vi=labels.notice_status_vi,
        channel_vi=labels.channel_vi,
        audience_vi=labels.audience_vi,
        intake_vi=labels.intake_vi,
        desk_role_vi=labels.desk_role_vi,
        actor_vi=vocabulary.actor_label,
        mask_phone=mask_phone,
        workflow_id=workflow_id,
        iso=labels.iso,
    )
    env.globals.update(
        css_version=_css_version(),
        all_agencies=ALL_AGENCIES,
    )
    return env


ENV = _environment()


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page `template` with `context`; every page gets the security headers."""
    values: dict[str, Any] = {
        "request": request,
        "office_name": request.app.state.settings.notice_office_name,
        "officer": getattr(request.state, "officer", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    values.update(context or {})
    html = ENV.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    if headers:
        response.headers.update(headers)
    return response


class PageError(Exception):
    """Stop a page and show a Vietnamese error page instead."""

    def __init__(
        self, status: int, title: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message
        self.headers = dict(headers or {})


class Redirect(Exception):
    """Stop a page and send the browser elsewhere (303: the next request is a GET)."""

    def __init__(self, url: str, *, on_response: Callable[[Response], None] | None = None) -> None:
        super().__init__(url)
        self.url = url
        self.on_response = on_response


def error_page(request: Request, status: int, title: str, message: str, **headers: str) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "message": message}, status=status, headers=headers)


STATUS_TEXT = {
    400: ("Yêu cầu không hợp lệ", "Địa chỉ hoặc thông tin gửi lên không đúng dạng. Vui lòng kiểm tra lại."),
    403: ("Không có quyền", "Tài khoản của ông/bà không được phép thực hiện việc này."),
    404: ("Không tìm thấy trang", "Địa chỉ này không có trên hệ thống. Vui lòng kiểm tra lại đường dẫn."),
    405: ("Không hỗ trợ", "Trang này không nhận yêu cầu theo cách này."),
}


def _gateway_page(request: Request, error: GatewayError) -> HTMLResponse:
    """What a page says when the workflow engine did not answer (other gateway errors are the page's own)."""
    if isinstance(error, Unavailable):
        return error_page(
            request,
            503,
            "Hệ thống đang bận",
            "Hệ thống xử lý hồ sơ chưa trả lời. Vui lòng thử lại sau ít phút.",
            **{"Retry-After": "5"},
        )
    return error_page(
        request, 500, "Có lỗi xảy ra", "Hệ thống gặp lỗi khi xử lý yêu cầu. Vui lòng thử lại sau."
    )


class PageRoute(APIRoute):
    """A route that always answers HTML: errors become Vietnamese pages, `Redirect` a 303."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except Redirect as redirect:
                response = RedirectResponse(redirect.url, status_code=303)
                response.headers.update(SECURITY_HEADERS)
                if redirect.on_response is not None:
                    redirect.on_response(response)
                return response
            except PageError as error:
                return error_page(request, error.status, error.title, error.message, **error.headers)
            except RequestValidationError:
                title, message = STATUS_TEXT[400]
                return error_page(request, 400, title, message)
            except GatewayError as error:
                return _gateway_page(request, error)
            except StarletteHTTPException as exc:
                title, message = STATUS_TEXT.get(exc.status_code, STATUS_TEXT[400])
                return error_page(request, exc.status_code, title, message)
            except Exception:
                log.exception("page.unexpected_error", path=request.url.path, method=request.method)
                return error_page(
                    request,
                    500,
                    "Có lỗi xảy ra",
                    "Hệ thống gặp lỗi khi xử lý yêu cầu; lỗi đã được ghi lại. Vui lòng thử lại sau.",
                )

        return page_handler
