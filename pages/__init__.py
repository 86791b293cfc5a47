"""The server-rendered pages, in Vietnamese and without JavaScript: the citizen lookup (/tra-cuu) and the
officer desk (/can-bo): sign-in, work lists, figures, one dossier and its actions, failed notices marked
handled or sent again.

Routes read the projection through db/ and act through the gateway (workflows/gateway.py), exactly as
the machine API does; whatever goes wrong in them answers a Vietnamese page (pages/render.py).
"""

from __future__ import annotations

import inspect

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from pages import (
    desk,
    dossier,
    feedback_desk,
    login,
    lookup,
    notices,
    procedures,
    queue,
    queue_desk,
    rating,
    receipt,
)
from pages.render import STATIC_DIR, STATUS_TEXT, PageError, PageRoute, error_page

# Where machines call: their errors stay problem details whatever the client accepts.
MACHINE_PREFIXES = ("/api/", "/webhooks/", "/codec/", "/metrics", "/healthz", "/readyz", "/docs", "/openapi")

router = APIRouter(include_in_schema=False)
for module in (
    lookup,
    procedures,
    queue,
    login,
    desk,
    dossier,
    notices,
    receipt,
    feedback_desk,
    queue_desk,
    rating,
):
    router.include_router(module.router)

_fallback = APIRouter(route_class=PageRoute, include_in_schema=False)


@_fallback.get("/")
async def home() -> RedirectResponse:
    """A citizen who types the site's address lands on the lookup form."""
    return RedirectResponse("/tra-cuu", status_code=303)


@_fallback.get("/can-bo/{rest:path}", response_class=HTMLResponse)
async def desk_not_found(rest: str) -> HTMLResponse:
    """Any other address under the desk: a Vietnamese page rather than the API's JSON."""
    raise PageError(404, "Không tìm thấy trang", "Địa chỉ này không có trên hệ thống. Vui lòng kiểm tra lại.")


router.include_router(_fallback)


def install(app: FastAPI) -> None:
    """Mount the pages and their stylesheet on `app`; a browser that asks for an address nothing serves
    gets a Vietnamese page, a machine the API's problem detail."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api_answer = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        browser = "text/html" in request.headers.get("accept", "")
        if browser and exc.status_code in STATUS_TEXT and not request.url.path.startswith(MACHINE_PREFIXES):
            title, message = STATUS_TEXT[exc.status_code]
            return error_page(request, exc.status_code, title, message)
        answer = api_answer(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, http_error)
