"""The public procedure lookup: `/thu-tuc` searches the catalogue in force (the same search as the OA's
"TT <words>", domain/procedures.py) and `/thu-tuc/{code}` shows one procedure in full: time limit, fees,
where to submit, the documents to bring and the steps inside the agency. No login, nothing personal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from db.procedures import catalogue_procedure, catalogue_procedures
from domain.procedures import QUERY_MAX, fees_text, search_procedures
from pages.render import PageError, PageRoute, render
from web.deps import SessionDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/thu-tuc", response_class=HTMLResponse)
async def procedures(
    request: Request, session: SessionDep, q: Annotated[str, Query(max_length=QUERY_MAX)] = ""
) -> HTMLResponse:
    """Every procedure of the catalogue in force, or those matching `q`."""
    entries = await catalogue_procedures(session)
    query = " ".join(q.split())
    found = search_procedures(entries, query) if query else entries
    return render(
        request,
        "procedures.html",
        {"query": query, "found": found, "total": len(entries), "fees_text": fees_text},
    )


@router.get("/thu-tuc/{code}", response_class=HTMLResponse)
async def procedure(request: Request, session: SessionDep, code: str) -> HTMLResponse:
    """One procedure of the catalogue in force."""
    entry = await catalogue_procedure(session, code) if len(code) <= 40 else None
    if entry is None:
        raise PageError(
            404,
            "Không tìm thấy thủ tục",
            "Danh mục thủ tục hiện hành không có thủ tục này. Tìm theo tên tại trang Thủ tục hành chính.",
        )
    return render(request, "procedure.html", {"p": entry, "fees_text": fees_text})
