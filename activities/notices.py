"""The send activity: every notice row of one (dossier, seq, kind) goes out through Zalo once.

Exactly-once, as far as it goes: before calling Zalo, a row is *claimed* in its own committed transaction
(attempts + 1, `sending_since` set), and only if it is not sent, delivered or failed-permanent and no other
attempt holds a live claim. The outcome is committed right after Zalo answers. A retried activity, a
restarted worker or a replayed workflow therefore finds the row done and sends nothing.
The window that remains (Zalo does not de-duplicate, not even on ZNS tracking_id): Zalo accepted the
message but we never recorded it — the worker died, or the database failed, or the answer timed out after
Zalo had acted — between the call and the commit. The next attempt after `zalo_send_lease_seconds` sends
again. We accept that rare duplicate rather than risk a notice that never arrives (a ZNS delivery receipt
that arrives first marks the row delivered and closes the window for that row).

One module over 400 lines because it is one activity: claiming, planning the channel, sending, and
recording an outcome share the same row and the same rules of who may send it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, case, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from activities.notice_text import Composed, compose
from db.agencies import AgencyCard, agency_card
from db.engine import SessionFactory
from db.models import Dossier, Notice, ZaloUser
from db.types import utcnow
from db.zalo_links import linked_user
from domain.notices import Audience, NoticeChannel, NoticeFailure, NoticeKind, NoticeStatus, failure
from domain.quiet_hours import in_quiet_hours, next_day_at, next_local_time, quiet_hours_end_after
from domain.timefmt import OFFICE_TZ
from settings import Settings
from workflows import contracts
from workflows.contracts import NoticeBatch, NoticeOutcome
from zalo.client import ZaloClient, tracking_id_for
from zalo.errors import KNOWN_CODES, OA_UNREACHABLE_CODES, ErrorClass, ZaloError

log = structlog.get_logger(__name__)

DONE_STATUSES = frozenset({NoticeStatus.SENT, NoticeStatus.DELIVERED, NoticeStatus.FAILED_PERMANENT})
# Zalo's own night rule for ZNS (−133/−234): nothing between 22:00 and 06:00 Vietnam time.
ZALO_NIGHT_END = time(6, 0)


@dataclass(frozen=True)
class _Plan:
    """How one row goes out: by OA to a user id, or by ZNS to the applicant's phone."""

    channel: str
    user_id: str | None = None
    phone: str | None = None
    template_id: str | None = None
    fallback: _Plan | None = None  # ZNS, when the OA refuses a user who cannot get OA messages


class _Deferred(Exception):
    def __init__(self, until: datetime, error: ZaloError) -> None:
        super().__init__(str(error))
        self.until = until
        self.error = error


def _rows_of(batch: NoticeBatch) -> tuple[ColumnElement[bool], ...]:
    """The delivery-log rows of one (dossier, seq, kind): one per recipient; only those of `batch.keys`
    when it names some (a resend, workflows/resend.py)."""
    rows = (
        col(Notice.dossier_code) == batch.dossier_code,
        col(Notice.seq) == batch.seq,
        col(Notice.kind) == batch.kind,
    )
    return (*rows, col(Notice.key).in_(batch.keys)) if batch.keys else rows


def _outcome(row: Notice) -> NoticeOutcome:
    return NoticeOutcome(key=row.key, status=row.status, channel=row.channel, error=row.last_error)


def _stored(row: Notice, kind: NoticeKind) -> Composed | None:
    """The text (and ZNS parameters) the record activity composed for the row at the transition, if it did."""
    if row.text is not None and (row.zns_params is not None or kind.audience is Audience.OFFICER):
        return Composed(row.text, row.zns_params)
    return None


async def _oa_user_for(session: AsyncSession, dossier: Dossier) -> str | None:
    """The Zalo user to reach by OA: the account that proved the dossier's phone (a link is by phone, so it
    covers every dossier of that phone, later ones too), else the one the TTHC system named; either only
    while following the OA. Read in the send's own session (one transaction for everything it reads)."""
    linked = await linked_user(session, dossier.applicant_phone)
    candidates = [
        *([linked] if linked else []),
        *([dossier.applicant_zalo_user_id] if dossier.applicant_zalo_user_id else []),
    ]
    for user_id in candidates:
        user = await session.get(ZaloUser, user_id)
        if user is not None and user.following:
            return user_id
    return None


class NoticeActivities:
    """`notices.send` and `notices.mark_failed`; built once per worker (worker.py)."""

    def __init__(
        self,
        session_factory: SessionFactory,
        zalo: ZaloClient,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.zalo = zalo
        self.settings = settings
        self.clock = clock
        self.lease = timedelta(seconds=settings.zalo_send_lease_seconds)

    def activity_functions(self) -> list[Callable[..., Any]]:
        """What to pass as `Worker(activities=…)`."""
        return [self.send, self.mark_failed]

    @activity.defn(name=contracts.NOTICE_SEND)
    async def send(self, batch: NoticeBatch) -> list[NoticeOutcome]:
        """Send every pending row of (dossier, seq, kind); permanent failures are recorded and returned.
        It heartbeats throughout: a worker that dies mid-send is known within NOTICE_SEND_HEARTBEAT."""
        async with heartbeating(contracts.NOTICE_SEND_HEARTBEAT / 3):
            return await self._send(batch)

    async def _send(self, batch: NoticeBatch) -> list[NoticeOutcome]:
        kind = NoticeKind(batch.kind)
        now = self.clock()
        if self.settings.notice_quiet_hours_guard and in_quiet_hours(
            now, self.settings.quiet_hours_start, self.settings.quiet_hours_end, OFFICE_TZ
        ):
            # Safety net: the workflow already waits for 06:00; a phone must not buzz at night anyway.
            resume = quiet_hours_end_after(
                now, self.settings.quiet_hours_start, self.settings.quiet_hours_end, OFFICE_TZ
            )
            await self._mark_scheduled(batch, resume)
            raise ApplicationError(
                f"quiet hours: notices wait until {resume.isoformat()}",
                type="NoticeQuietHours",
                next_retry_delay=resume - now,
            )

        # Everything the sends need, in one read: the rows, the dossier, its Zalo follower and (only for a row
        # whose text the record activity did not compose) the agency card.
        async with self.session_factory() as session:
            dossier = await session.get(Dossier, batch.dossier_code)
            rows = list(
                (await session.exec(select(Notice).where(*_rows_of(batch)).order_by(col(Notice.id)))).all()
            )
            oa_user = (
                await _oa_user_for(session, dossier)
                if dossier is not None and kind.audience is Audience.CITIZEN
                else None
            )
            card = (
                await agency_card(session, dossier.agency_code, self.settings.notice_office_name)
                if dossier is not None and any(_stored(row, kind) is None for row in rows)
                else None
            )

        outcomes: list[NoticeOutcome] = []
        transient: list[str] = []
        busy_until: datetime | None = None
        deferred: _Deferred | None = None
        for row in rows:
            if row.status in DONE_STATUSES or deferred is not None:
                outcomes.append(_outcome(row))
                continue
            try:
                result = await self._send_row(row, kind, dossier, card, oa_user, batch)
            except _Deferred as exc:
                deferred = exc
                result = await self._reload(row)
            if isinstance(result, datetime):
                busy_until = max(busy_until or result, result)
                outcomes.append(_outcome(await self._reload(row)))
                continue
            outcomes.append(_outcome(result))
            if result.status == NoticeStatus.FAILED_RETRYING and deferred is None:
                transient.append(result.last_error or "unknown error")
                if result.sending_since is not None:  # outcome unknown: the claim holds until the lease ends
                    busy_until = max(busy_until or result.sending_since, result.sending_since + self.lease)

        now = self.clock()  # the delays below count from now, after the calls above
        if deferred is not None:
            raise ApplicationError(
                f"Zalo asks to wait until {deferred.until.isoformat()}: {deferred.error}",
                type=f"Zalo{deferred.error.error_class.value.title()}",
                next_retry_delay=max(deferred.until - now, timedelta(seconds=1)),
            )
        if transient or busy_until is not None:
            # Retryable: the RetryPolicy backs off (or we name the end of a claim); sent rows are skipped.
            raise ApplicationError(
                "; ".join(transient) or "another attempt is sending these notices",
                type="ZaloTransient" if transient else "NoticeInFlight",
                next_retry_delay=max(busy_until - now, timedelta(seconds=1)) if busy_until else None,
            )
        return outcomes

    @activity.defn(name=contracts.NOTICE_MARK_FAILED)
    async def mark_failed(self, batch: NoticeBatch, reason: str) -> None:
        """The workflow gave up (retry budget spent): unfinished rows become failed-permanent for officers."""
        now = self.clock()
        async with self.session_factory() as session:
            await session.exec(
                update(Notice)
                .where(*_rows_of(batch), col(Notice.status).not_in(DONE_STATUSES))
                .values(
                    status=NoticeStatus.FAILED_PERMANENT.value,
                    last_error=failure(NoticeFailure.GAVE_UP, reason),
                    sending_since=None,
                    updated_at=now,
                )
            )
            await session.commit()
        log.warning("notice.given_up", dossier_code=batch.dossier_code, seq=batch.seq, kind=batch.kind)

    # --- one row ---

    async def _send_row(
        self,
        row: Notice,
        kind: NoticeKind,
        dossier: Dossier | None,
        card: AgencyCard | None,
        oa_user: str | None,
        batch: NoticeBatch,
    ) -> Notice | datetime:
        """Claim, send and record one row; the row as recorded, or when a live claim by another ends."""
        if dossier is None:
            missing = failure(NoticeFailure.DOSSIER_MISSING, f"no dossier {row.dossier_code}")
            return await self._finish(row, NoticeStatus.FAILED_PERMANENT, error=missing, claim=False)
        plan, problem = self._plan(row, kind, dossier, oa_user)
        if plan is None:
            return await self._finish(row, NoticeStatus.FAILED_PERMANENT, error=problem, claim=False)
        try:
            composed = self._composed(row, kind, dossier, card)
        except Exception as exc:  # a template that no longer fits an old row's context: retrying cannot help
            error = failure(NoticeFailure.UNCOMPOSABLE, f"{type(exc).__name__}: {exc}")
            return await self._finish(row, NoticeStatus.FAILED_PERMANENT, error=error, claim=False)
        text = composed.text

        now = self.clock()
        async with self.session_factory() as session:
            claimed = await session.exec(
                update(Notice)
                .where(
                    col(Notice.id) == row.id,
                    col(Notice.status).not_in(DONE_STATUSES),
                    or_(col(Notice.sending_since).is_(None), col(Notice.sending_since) < now - self.lease),
                )
                .values(
                    attempts=col(Notice.attempts) + 1,
                    sending_since=now,
                    channel=plan.channel,
                    recipient=plan.user_id if plan.channel == NoticeChannel.OA else row.recipient,
                    text=text,
                    tracking_id=tracking_id_for(row.key),
                    updated_at=now,
                )
                # RETURNING, not rowcount (psycopg may report -1): whether this attempt holds the claim.
                .returning(col(Notice.id))
            )
            won = claimed.first() is not None
            await session.commit()
        if not won:
            current = await self._reload(row)
            if current.status in DONE_STATUSES or current.sending_since is None:
                return current
            return current.sending_since + self.lease

        log.info(
            "notice.sending",
            key=row.key,
            dossier_code=row.dossier_code,
            channel=plan.channel,
            attempt=row.attempts + 1,
            workflow_time=batch.workflow_time.isoformat(),
        )
        try:
            channel, message_id = await self._deliver(row, plan, composed)
        except ZaloError as exc:
            return await self._record_failure(row, exc)
        except Exception as exc:
            # Not from the Zalo call itself (a bug, the database behind the token store): nothing was sent.
            error = failure(NoticeFailure.INTERNAL, f"{type(exc).__name__}: {exc}")
            await self._finish(row, NoticeStatus.FAILED_RETRYING, error=error)
            raise
        # On cancellation the claim stays: whether Zalo got the request is unknown, the lease decides.
        return await self._finish(row, NoticeStatus.SENT, channel=channel, message_id=message_id)

    def _plan(
        self, row: Notice, kind: NoticeKind, dossier: Dossier, oa_user: str | None
    ) -> tuple[_Plan | None, str | None]:
        if kind.audience is Audience.OFFICER:
            if not row.recipient:
                return None, failure(NoticeFailure.NO_OFFICER_ID, "an officer notice without a Zalo user id")
            return _Plan(NoticeChannel.OA, user_id=row.recipient), None
        template_id = self.settings.zns_template_id(kind.value)
        zns = (
            _Plan(NoticeChannel.ZNS, phone=dossier.applicant_phone, template_id=template_id)
            if dossier.applicant_phone and template_id
            else None
        )
        if oa_user:
            return _Plan(NoticeChannel.OA, user_id=oa_user, fallback=zns), None
        if zns is not None:
            return zns, None
        if not dossier.applicant_phone:
            return None, failure(NoticeFailure.NO_RECIPIENT, "no linked Zalo follower and no phone")
        return None, failure(
            NoticeFailure.NO_ZNS_TEMPLATE, f"ZNS_TEMPLATE_IDS has no template for {kind.value}"
        )

    def _composed(self, row: Notice, kind: NoticeKind, dossier: Dossier, card: AgencyCard | None) -> Composed:
        """What the record activity composed at the transition; composed now for a row recorded before
        notices were composed there (a deploy in between: then the card was read for it)."""
        stored = _stored(row, kind)
        if stored is not None:
            return stored
        assert card is not None
        return compose(
            kind,
            row.context,
            agency=card,
            applicant_name=dossier.applicant_name,
            lookup_url=self.settings.lookup_url(row.dossier_code),
            rating_url=self.settings.rating_url(row.dossier_code, row.context["rate_by"])
            if kind is NoticeKind.RATING_INVITE
            else "",
        )

    async def _deliver(self, row: Notice, plan: _Plan, composed: Composed) -> tuple[str, str]:
        """Send as planned (OA, or ZNS when the OA cannot reach the user); (channel, message id)."""
        if plan.channel == NoticeChannel.OA:
            assert plan.user_id is not None
            try:
                sent = await self.zalo.send_oa_text(plan.user_id, composed.text)
                return NoticeChannel.OA, sent.message_id
            except ZaloError as exc:
                if exc.code not in OA_UNREACHABLE_CODES or plan.fallback is None:
                    raise
                # The OA refused this user (not following, blocked, no recent interaction): use the phone.
                log.info("notice.oa_unreachable", key=row.key, code=exc.code)
                await self._mark_unfollowed(plan.user_id, exc.code)
                plan = plan.fallback
        assert plan.phone is not None
        assert plan.template_id is not None
        assert composed.zns_params is not None  # a citizen's notice always has them
        sent_zns = await self.zalo.send_zns(
            plan.phone, plan.template_id, composed.zns_params, tracking_id_for(row.key)
        )
        if sent_zns.remaining_quota is not None and sent_zns.remaining_quota < 50:
            log.warning("zalo.zns_quota_low", remaining=sent_zns.remaining_quota, daily=sent_zns.daily_quota)
        return NoticeChannel.ZNS, sent_zns.msg_id

    async def _record_failure(self, row: Notice, exc: ZaloError) -> Notice:
        now = self.clock()
        attempts = row.attempts + 1  # this attempt's claim counted it
        unknown = exc.code is not None and exc.code not in KNOWN_CODES
        if exc.error_class is ErrorClass.PERMANENT or (
            unknown and attempts >= self.settings.zalo_unknown_code_attempts
        ):
            # An error code Zalo does not document is retried a few times, then treated as final: a
            # notice must not wait two days for a code that will never change.
            detail = f"{exc} (an unknown code, {attempts} attempts)" if unknown else str(exc)
            log.warning("notice.failed_permanent", key=row.key, dossier_code=row.dossier_code, code=exc.code)
            error = failure(NoticeFailure.ZALO_REFUSED, detail)
            return await self._finish(row, NoticeStatus.FAILED_PERMANENT, error=error)
        # No answer after sending: keep the claim, so a retry waits out the lease and a ZNS delivery
        # receipt arriving meanwhile (matched by tracking_id) marks the row delivered instead of a resend.
        recorded = await self._finish(
            row,
            NoticeStatus.FAILED_RETRYING,
            error=failure(NoticeFailure.ZALO_UNAVAILABLE, str(exc)),
            keep_claim=exc.maybe_delivered,
        )
        log.info("notice.failed_retrying", key=row.key, dossier_code=row.dossier_code, code=exc.code)
        if exc.error_class is ErrorClass.NIGHT:
            raise _Deferred(next_local_time(now, ZALO_NIGHT_END, OFFICE_TZ), exc)
        if exc.error_class is ErrorClass.QUOTA:
            raise _Deferred(next_day_at(now, ZALO_NIGHT_END, OFFICE_TZ), exc)
        return recorded

    async def _finish(
        self,
        row: Notice,
        status: NoticeStatus,
        *,
        error: str | None = None,
        channel: str | None = None,
        message_id: str | None = None,
        claim: bool = True,
        keep_claim: bool = False,
    ) -> Notice:
        """Record an attempt's outcome and release the claim; a delivery receipt that came first wins."""
        now = self.clock()
        values: dict[str, Any] = {"updated_at": now, "last_error": error}
        if not keep_claim:
            values["sending_since"] = None
        if status is NoticeStatus.SENT:
            values |= {
                # The receipt webhook may have marked the row delivered before we got here.
                "status": case(
                    (col(Notice.status) == NoticeStatus.DELIVERED.value, NoticeStatus.DELIVERED.value),
                    else_=NoticeStatus.SENT.value,
                ),
                "channel": channel,
                "zalo_message_id": message_id,
                "sent_at": now,
            }
        else:
            values["status"] = status.value
        async with self.session_factory() as session:
            condition = [col(Notice.id) == row.id]
            if status is not NoticeStatus.SENT:
                condition.append(col(Notice.status).not_in([NoticeStatus.SENT, NoticeStatus.DELIVERED]))
            if not claim:
                condition.append(col(Notice.sending_since).is_(None))
            # The row as recorded comes back with the update; read again only when the update did not apply
            # (another attempt or a delivery receipt got there first).
            recorded = (
                await session.exec(
                    update(Notice)
                    .where(*condition)
                    .values(**values)
                    .returning(Notice)
                    .execution_options(synchronize_session=False)
                )
            ).scalar_one_or_none()
            await session.commit()
        if status is NoticeStatus.SENT:
            log.info("notice.sent", key=row.key, dossier_code=row.dossier_code, channel=channel)
        return recorded if recorded is not None else await self._reload(row)

    async def _reload(self, row: Notice) -> Notice:
        async with self.session_factory() as session:
            current = await session.get(Notice, row.id)
        assert current is not None
        return current

    # --- recipients ---

    async def _mark_unfollowed(self, user_id: str, code: int | None) -> None:
        """Zalo says the OA cannot reach this user: later notices go by phone without trying the OA first."""
        if code != -213:
            return
        async with self.session_factory() as session:
            user = await session.get(ZaloUser, user_id)
            if user is not None and user.following:
                user.following = False
                user.updated_at = self.clock()
                session.add(user)
                await session.commit()

    async def _mark_scheduled(self, batch: NoticeBatch, resume: datetime) -> None:
        async with self.session_factory() as session:
            await session.exec(
                update(Notice)
                .where(
                    *_rows_of(batch),
                    col(Notice.status).in_([NoticeStatus.QUEUED, NoticeStatus.FAILED_RETRYING]),
                    col(Notice.sending_since).is_(None),
                )
                .values(status=NoticeStatus.SCHEDULED.value, scheduled_for=resume, updated_at=self.clock())
            )
            await session.commit()
