"""The satisfaction rating page, `/danh-gia/{token}`: the one-tap link of the citizen's "returned" notice.

No login: the link's token (domain/rating_link.py) is an HMAC under SECRET_KEY of the dossier code and the
link's expiry, so only a link we sent opens the form. Forged or altered tokens are counted per client
address (web/ratelimit.py) before the signature is checked, so links cannot be guessed in bulk. The
form carries the same signed form token as the lookup page's feedback form (pages/feedback_form.py).
The rating goes to the dossier's workflow through the gateway (the `rate` update), which alone decides:
once per dossier, only after the result was returned, only until the window closes. Nothing is written
here; a refused rating changes nothing.

Answers: 404 a forged link, 410 an expired link or a closed window, 409 a dossier rated already (or not
returned), 422 a rating without a score or with a comment too long, 429 too many forged links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from db.models import Dossier, DossierEvent
from domain import rating_link, rules, vocabulary
from domain.dossier import Rating
from domain.feedback import clean
from domain.limits import RATING_COMMENT_MAX, RATING_MAX, RATING_MIN, Counted
from domain.refusals import Refusal
from domain.rules import Rule
from domain.status import DossierStatus, EventKind
from pages.feedback_form import form_token, token_holds
from pages.render import PageError, PageRoute, Redirect, render
from web.deps import GatewayDep, SessionDep, SettingsDep, now
from web.ratelimit import Limiter, client_address
from workflows.gateway import Closed, Refused

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DONE_PARAM = "da-gui"


def _refused(status: int, message: str) -> PageError:
    return PageError(status, vocabulary.RATING_TITLE, message)


async def _rated(session: SessionDep, code: str) -> bool:
    found = await session.exec(
        select(DossierEvent.id).where(
            col(DossierEvent.dossier_code) == code, col(DossierEvent.kind) == EventKind.RATED.value
        )
    )
    return found.first() is not None


async def _open(request: Request, session: SessionDep, token: str) -> tuple[Dossier, datetime]:
    """The dossier a valid, unexpired, unused link names, and its expiry; a PageError otherwise."""
    settings = request.app.state.settings
    limiter = Limiter(request)
    miss = (Counted.RATING_MISS_ADDRESS, client_address(request))
    wait = await limiter.take(miss)
    if wait is not None:
        log.info("rating.rate_limited")
        minutes = max(1, -(-wait // 60))
        raise PageError(
            429,
            vocabulary.RATING_TITLE,
            vocabulary.RATING_LIMITED.format(minutes=minutes),
            headers={"Retry-After": str(wait)},
        )
    link = rating_link.read(settings.secret_key.get_secret_value().encode(), token)
    row = await session.get(Dossier, link.code) if link is not None else None
    if link is None or row is None:
        log.info("rating.link_refused", reason="forged")
        raise _refused(404, vocabulary.RATING_LINK_FORGED)
    await limiter.forgive(miss)
    if await _rated(session, row.code):
        raise _refused(409, vocabulary.RULES[Rule.RATING_ONCE])
    if now(request) > link.expires_at:
        rate_by = vocabulary.vn_datetime(link.expires_at)
        raise _refused(410, vocabulary.RATING_LINK_EXPIRED.format(rate_by=rate_by))
    if DossierStatus(row.status) is not DossierStatus.RETURNED:
        raise _refused(409, vocabulary.RULES[Rule.RATING_NOT_OPEN])
    return row, link.expires_at


def _form(request: Request, token: str, row: Dossier, rate_by: datetime, **extra: Any) -> dict[str, Any]:
    settings = request.app.state.settings
    return {
        "token": token,
        "code": row.code,
        "procedure_name": row.procedure_name,
        "rate_by": rate_by,
        "scores": list(vocabulary.RATING_SCORES.items()),
        "score": None,
        "comment": "",
        "comment_max": RATING_COMMENT_MAX,
        "error": "",
        "form_token": form_token(settings, row.code, now(request)),
        "done": False,
    } | extra


@router.get("/danh-gia/{token}", response_class=HTMLResponse)
async def rating_form(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    """The rating form of a returned dossier (or the thanks once it was sent from here)."""
    if request.query_params.get(DONE_PARAM) == "1":
        link = rating_link.read(request.app.state.settings.secret_key.get_secret_value().encode(), token)
        if link is not None and await _rated(session, link.code):
            return render(request, "rating.html", {"done": True, "code": link.code})
    row, rate_by = await _open(request, session, token)
    return render(request, "rating.html", _form(request, token, row, rate_by))


@router.post("/danh-gia/{token}", response_class=HTMLResponse)
async def send_rating(
    request: Request, session: SessionDep, settings: SettingsDep, gateway: GatewayDep, token: str
) -> Response:
    """Record the rating through the dossier's workflow; refused ratings change nothing."""
    row, rate_by = await _open(request, session, token)
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    at = now(request)
    if not token_holds(settings, row.code, form.get("form_token", ""), at):
        raise PageError(
            403,
            "Biểu mẫu đã hết hiệu lực",
            "Biểu mẫu đánh giá không còn hợp lệ. Vui lòng mở lại liên kết đánh giá trong tin nhắn.",
        )
    raw_score = form.get("score", "")
    score = int(raw_score) if raw_score.isdigit() and len(raw_score) <= 2 else 0
    comment = clean(form.get("comment", "")[: 4 * RATING_COMMENT_MAX])
    rating = Rating(score, comment, at)
    try:
        rules.check_rating_body(rating)
    except rules.Broken as broken:
        context = _form(
            request,
            token,
            row,
            rate_by,
            score=score if RATING_MIN <= score <= RATING_MAX else None,
            comment=comment,
            error=vocabulary.RULES[broken.rule],
        )
        return render(request, "rating.html", context, status=422)
    try:
        await gateway.rate(session, row, rating)
    except (Refused, Closed) as error:
        if isinstance(error, Refused) and error.refusal is not Refusal.RATING_REFUSED:
            raise _refused(422, vocabulary.REFUSALS[error.refusal]) from error
        if await _rated(session, row.code):
            raise _refused(409, vocabulary.RULES[Rule.RATING_ONCE]) from error
        raise _refused(410, vocabulary.RULES[Rule.RATING_CLOSED]) from error
    log.info("rating.received", dossier_code=row.code, score=score)
    raise Redirect(f"/danh-gia/{token}?{DONE_PARAM}=1")
