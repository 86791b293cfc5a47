"""Calendar overrides over HTTP for administrators (the same table as `python -m admin.calendar`).

Only a client whose agencies include "*" administers the calendar: a swapped day changes every
agency's deadlines. Changes apply to deadlines computed from then on; computed ones stay.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AfterValidator

from api.keys import AdminDep
from api.openapi import problems
from api.problems import Problem
from api.schemas.calendar import CalendarOverrideIn, CalendarOverrideOut
from db.calendar import list_overrides, remove_override, set_override
from db.models import CalendarOverride
from web.deps import SessionDep

router = APIRouter(prefix="/api/v1/calendar/overrides", tags=["calendar"])

FORBIDDEN = {403: 'Only an administrator\'s key (agencies "*") may manage the calendar'}


def _plausible_day(day: date) -> date:
    if not 2000 <= day.year < 2100:
        raise ValueError("the day must lie between the years 2000 and 2099")
    return day


DayPath = Annotated[
    date, Path(description="The day, YYYY-MM-DD", examples=["2026-04-25"]), AfterValidator(_plausible_day)
]


def _out(row: CalendarOverride) -> CalendarOverrideOut:
    return CalendarOverrideOut(
        day=row.day,
        is_working_day=row.is_working_day,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@router.get(
    "", response_model=list[CalendarOverrideOut], responses=problems(401, 403, 422, descriptions=FORBIDDEN)
)
async def list_calendar_overrides(
    _: AdminDep,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Only this year")] = None,
) -> list[CalendarOverrideOut]:
    """Every calendar override (swapped working days and days off), in date order."""
    return [_out(row) for row in await list_overrides(session, year)]


@router.get(
    "/{day}",
    response_model=CalendarOverrideOut,
    responses=problems(401, 403, 404, 422, descriptions=FORBIDDEN),
)
async def get_calendar_override(_: AdminDep, session: SessionDep, day: DayPath) -> CalendarOverrideOut:
    """The override of one day; 404 when the day follows the normal week and holidays."""
    row = await session.get(CalendarOverride, day)
    if row is None:
        raise Problem(404, f"no override on {day.isoformat()}", slug="override-not-found")
    return _out(row)


@router.put(
    "/{day}",
    response_model=CalendarOverrideOut,
    responses={
        201: {"description": "The day had no override before", "model": CalendarOverrideOut},
        **problems(401, 403, 422, descriptions=FORBIDDEN),
    },
)
async def put_calendar_override(
    admin: AdminDep, session: SessionDep, day: DayPath, body: CalendarOverrideIn, response: Response
) -> CalendarOverrideOut:
    """Make a day a working day or a day off, replacing its override if it had one."""
    created = await session.get(CalendarOverride, day) is None
    try:
        row = await set_override(session, day, body.is_working_day, body.reason, admin.name)
    except ValueError as error:
        raise Problem(422, f"reason: {error}", slug="invalid-request", title="Invalid request") from None
    if created:
        response.status_code = status.HTTP_201_CREATED
    return _out(row)


@router.delete(
    "/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(401, 403, 404, 422, descriptions=FORBIDDEN),
)
async def delete_calendar_override(_: AdminDep, session: SessionDep, day: DayPath) -> Response:
    """Remove a day's override: the normal week and public holidays apply to it again."""
    if not await remove_override(session, day):
        raise Problem(404, f"no override on {day.isoformat()}", slug="override-not-found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
