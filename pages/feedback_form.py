"""The feedback form of the citizen lookup page (phản ánh, kiến nghị): its token, and how a sent item is
shown back to the citizen with its answer.

There is no citizen session, so the form carries a signed token instead of a session's CSRF token: an
HMAC under SECRET_KEY of the dossier code and the time the page was shown, good for FORM_TOKEN_LIFETIME.
Another site cannot read the page, so it cannot post the form from a citizen's browser; and whoever posts
it must still give the code and the phone's last digits, counted as a lookup is.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request

from db.models import Dossier, Feedback
from domain import feedback, vocabulary
from settings import Settings
from web.deps import now

FORM_TOKEN_LIFETIME = timedelta(hours=2)
SENT_PARAM = "da-gui-phan-anh"


def _signature(settings: Settings, code: str, issued: int) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"feedback-form:{code}:{issued}".encode(), hashlib.sha256).hexdigest()


def form_token(settings: Settings, code: str, at: datetime) -> str:
    issued = int(at.timestamp())
    return f"{issued}.{_signature(settings, code, issued)}"


def token_holds(settings: Settings, code: str, token: str, at: datetime) -> bool:
    """Whether `token` was issued by this server for this dossier, within FORM_TOKEN_LIFETIME."""
    issued, _, signature = token.partition(".")
    if not issued.isdigit() or len(issued) > 12:
        return False
    age = at.timestamp() - int(issued)
    if not -60 <= age <= FORM_TOKEN_LIFETIME.total_seconds():
        return False
    return hmac.compare_digest(signature, _signature(settings, code, int(issued)))


def feedback_context(request: Request, row: Dossier, **extra: Any) -> dict[str, Any]:
    """What the lookup page's feedback form needs."""
    settings: Settings = request.app.state.settings
    return {
        "feedback_token": form_token(settings, row.code, now(request)),
        "feedback_text": "",
        "feedback_error": "",
        "feedback_sent": request.query_params.get(SENT_PARAM) == "1",
        "feedback_max": feedback.TEXT_MAX,
        "feedback_min": feedback.TEXT_MIN,
        "feedback_limited_minutes": 0,
    } | extra


def feedback_row(item: Feedback) -> dict[str, Any]:
    """An item as the citizen reads it on the lookup page."""
    return {
        "id": item.id,
        "received_at": item.received_at,
        "text": item.text,
        "status_label": vocabulary.FEEDBACK_STATUS[feedback.Status(item.status)],
        "answered": item.status == feedback.Status.ANSWERED.value,
        "answer": item.answer,
        "answered_at": item.answered_at,
        "answer_due_at": item.answer_due_at,
    }
