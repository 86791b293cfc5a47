"""Why the workflow refuses a command: the `type` of its ApplicationError.

The gateway hands it to the entry points; the machine API answers each with its HTTP status
(api/problems.py), the officer pages in Vietnamese (pages/dossier.py).
"""

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
    SUPPLEMENT_LIMIT = "SupplementLimit"  # 409: the procedure allows no further supplement request
    RATING_REFUSED = "RatingRefused"  # 409: not returned, already rated, or the rating window closed
    UNKNOWN_STEP = "UnknownStep"  # 404: the dossier's procedure has no such internal step
    STEP_OUT_OF_ORDER = "StepOutOfOrder"  # 409: a hand-over to a step that is not the next one
