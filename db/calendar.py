"""The calendar overrides table, and the office calendar built from it: what the activities, the pages,
the routes and the admin tool share."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import CalendarOverride
from db.types import utcnow
from domain.calendar import OfficeHours, WorkingCalendar

REASON_MAX_LENGTH = 500
BY_MAX_LENGTH = 100


async def list_overrides(session: AsyncSession, year: int | None = None) -> list[CalendarOverride]:
    """Every override in date order, or only those of `year`."""
    query = select(CalendarOverride).order_by(col(CalendarOverride.day))
    if year is not None:
        query = query.where(
            col(CalendarOverride.day) >= date(year, 1, 1), col(CalendarOverride.day) < date(year + 1, 1, 1)
        )
    return list((await session.exec(query)).all())


async def override_days(session: AsyncSession) -> dict[date, bool]:
    """Every override as the calendar takes it: day -> is it a working day."""
    rows = await session.exec(select(col(CalendarOverride.day), col(CalendarOverride.is_working_day)))
    return {day: is_working_day for day, is_working_day in rows.all()}


async def set_override(
    session: AsyncSession, day: date, is_working_day: bool, reason: str, by: str
) -> CalendarOverride:
    """Make `day` a working day or a day off, replacing any override it had; commits.

    `created_by` and `created_at` of a replaced row become those of this change. Raises ValueError
    on an empty or too long reason or author.
    """
    reason, by = reason.strip(), by.strip()
    if not reason or len(reason) > REASON_MAX_LENGTH:
        raise ValueError(f"reason must have 1 to {REASON_MAX_LENGTH} characters")
    if not by or len(by) > BY_MAX_LENGTH:
        raise ValueError(f"by must have 1 to {BY_MAX_LENGTH} characters")
    row = await session.get(CalendarOverride, day)
    if row is None:
        row = CalendarOverride(day=day, is_working_day=is_working_day, reason=reason, created_by=by)
        session.add(row)
    else:
        row.is_working_day, row.reason, row.created_by, row.created_at = is_working_day, reason, by, utcnow()
    await session.commit()
    return row


async def remove_override(session: AsyncSession, day: date) -> bool:
    """Delete the override of `day` (the weekday pattern and the holidays apply again); commits.

    Returns False when `day` had none.
    """
    row = await session.get(CalendarOverride, day)
    if row is None:
        return False
    await session.delete(row)
    await session.commit()
    return True


async def office_calendar(session: AsyncSession, hours: OfficeHours) -> WorkingCalendar:
    """The calendar as deadlines are computed now: office hours, the holidays, the overrides table."""
    return WorkingCalendar(hours, overrides=await override_days(session))
