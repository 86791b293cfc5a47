"""Why the workflow refuses a command: the `type` of the ApplicationError, which the API maps to HTTP."""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    ILLEGAL_TRANSITION = "IllegalTransition"  # 409, with the current state
    DUPLICATE_EVENT = "DuplicateEvent"  # 200: already applied, nothing changes
    EVENT_ID_REUSED = "EventIdReused"  # 422: same event_id, another body
    EVENT_TIME = "InvalidEventTime"  # 422: earlier than the previous event
    APOLOGY_REFUSED = "ApologyRefused"  # 409: already apologised, or the due time has passed
    INVALID_COMMAND = "InvalidCommand"  # 422
    REGISTRATION_CONFLICT = "RegistrationConflict"  # 409: same code, another body


HTTP_STATUS: dict[Refusal, int] = {
    Refusal.ILLEGAL_TRANSITION: 409,
    Refusal.DUPLICATE_EVENT: 200,
    Refusal.EVENT_ID_REUSED: 422,
    Refusal.EVENT_TIME: 422,
    Refusal.APOLOGY_REFUSED: 409,
    Refusal.INVALID_COMMAND: 422,
    Refusal.REGISTRATION_CONFLICT: 409,
}
