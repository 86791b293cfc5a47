"""Every page route: the citizen lookup, the officer desk and dossier pages, a Vietnamese 404 for the rest."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from api.pages.render import PageError, PageRoute
from api.routes import lookup_page, officer_desk, officer_dossier

router = APIRouter(include_in_schema=False)
router.include_router(lookup_page.router)
router.include_router(officer_desk.router)
router.include_router(officer_dossier.router)

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
