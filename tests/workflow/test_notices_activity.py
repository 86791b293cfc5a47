"""`notices.send` against the fake Zalo and a real database: channels, exactly-once, every error class."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta

import pytest
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notices import NoticeActivities
from db.engine import SessionFactory
from db.models import ZaloLink, ZaloUser
from db.zalo_tokens import zalo_client
from domain.notices import NoticeKind
from tests.support.zalo import (
    CODE,
    FAKE_URL,
    ICT,
    PHONE,
    TEMPLATE_IDS,
    Harness,
    add_dossier,
    add_notice,
    context_for,
    make_settings,
    notices,
    zalo_harness,
)
from workflows.contracts import NoticeBatch, NoticeOutcome
from zalo.client import ZnsSent, tracking_id_for
from zalo.errors import ErrorClass, ZaloError
from zalo.fake_server import FaultSpec

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=ICT)


@pytest.fixture
async def h(session_factory: SessionFactory) -> AsyncIterator[Harness]:
    async with zalo_harness(session_factory, now=MONDAY_10) as harness:
        await add_dossier(session_factory)
        yield harness


def batch(kind: NoticeKind = NoticeKind.RECEIVED, seq: int = 1, at: datetime = MONDAY_10) -> NoticeBatch:
    return NoticeBatch(dossier_code=CODE, seq=seq, kind=kind.value, workflow_time=at)


async def send(h: Harness, kind: NoticeKind = NoticeKind.RECEIVED, seq: int = 1) -> list[NoticeOutcome]:
    result: list[NoticeOutcome] = await ActivityEnvironment().run(
        h.activities.send, batch(kind, seq, h.clock.now)
    )
    return result


async def link_follower(session_factory: SessionFactory, user_id: str = "2512000000000000001") -> str:
    async with session_factory() as session:
        session.add(ZaloUser(user_id=user_id, following=True))
        await session.flush()
        session.add(ZaloLink(phone=PHONE, user_id=user_id))
        await session.commit()
    return user_id


async def test_unlinked_citizen_gets_zns_by_phone_and_the_row_records_it(h: Harness) -> None:
    await add_notice(h.session_factory, NoticeKind.RECEIVED)

    outcomes = await send(h)

    [row] = await notices(h.session_factory)
    assert outcomes == [NoticeOutcome(key=row.key, status="sent", channel="zns", error=None)]
    assert row.status == "sent"
    assert row.channel == "zns"
    assert row.attempts == 1
    assert row.sending_since is None
    assert row.sent_at == h.clock.now
    assert row.tracking_id == tracking_id_for(row.key)
    assert len(row.tracking_id) <= 48
    assert row.text is not None
    assert row.text.startswith("Kính gửi ông/bà Nguyễn Văn An,")
    assert "Ngày hẹn trả kết quả: 14/12/2026 16:00" in row.text
    [message] = h.fake.messages
    assert message["channel"] == "zns"
    assert message["phone"] == PHONE
    assert message["template_id"] == TEMPLATE_IDS["received"]
    assert message["tracking_id"] == row.tracking_id
    assert message["template_data"]["customer_name"] == "Nguyễn Văn An"
    assert message["template_data"]["due_date"] == "14/12/2026 16:00"
    assert message["template_data"]["dossier_code"] == CODE
    assert row.zalo_message_id == message["message_id"]


async def test_linked_follower_gets_the_text_as_an_oa_message(h: Harness) -> None:
    user_id = await link_follower(h.session_factory)
    await add_notice(h.session_factory, NoticeKind.FEE_DUE)

    [outcome] = await send(h, NoticeKind.FEE_DUE)

    [row] = await notices(h.session_factory)
    assert outcome.channel == "oa"
    assert outcome.status == "sent"
    assert row.recipient == user_id
    [message] = h.fake.messages
    assert message == {**message, "channel": "oa", "user_id": user_id, "text": row.text}
    assert "Tổng số tiền: 1.250.000 đ" in message["text"]
    assert row.zalo_message_id == message["message_id"]


async def test_officer_notices_go_by_oa_to_each_officer(h: Harness) -> None:
    await add_notice(h.session_factory, NoticeKind.OVERDUE, seq=5, recipient="officer-1")
    await add_notice(h.session_factory, NoticeKind.OVERDUE, seq=5, recipient="officer-2")

    outcomes = await send(h, NoticeKind.OVERDUE, seq=5)

    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert [(m["channel"], m["user_id"]) for m in h.fake.messages] == [
        ("oa", "officer-1"),
        ("oa", "officer-2"),
    ]
    assert all(m["text"].startswith("[QUÁ HẠN] Hồ sơ H21.65-261123-0001") for m in h.fake.messages)
    assert "Nguyễn Văn An" not in h.fake.messages[0]["text"]


async def test_a_retried_send_after_success_sends_nothing(h: Harness) -> None:
    await add_notice(h.session_factory, NoticeKind.RECEIVED)
    first = await send(h)

    second = await send(h)  # a retried activity, a restarted worker or a replayed workflow
    third = await send(h)

    assert first == second == third
    assert len(h.fake.messages) == 1
    [row] = await notices(h.session_factory)
    assert row.attempts == 1


async def test_token_expiry_mid_run_refreshes_exactly_once(h: Harness) -> None:
    await add_notice(h.session_factory, NoticeKind.RECEIVED, seq=1)
    await add_notice(h.session_factory, NoticeKind.FEE_DUE, seq=2)
    await add_notice(h.session_factory, NoticeKind.PAYMENT_CONFIRMED, seq=3)
    await send(h, NoticeKind.RECEIVED, seq=1)
    assert h.fake.token_grants == 1  # the first use traded the settings' refresh token

    h.fake.expire_access_tokens()  # Zalo now answers −216/−124 to the stored token
    await send(h, NoticeKind.FEE_DUE, seq=2)
    await send(h, NoticeKind.PAYMENT_CONFIRMED, seq=3)

    assert h.fake.token_grants == 2
    assert [c["error"] for c in h.token_calls()] == [0, 0]
    assert [c["error"] for c in h.fake.calls if c["path"] == "zns"] == [0, -124, 0, 0]
    assert [m["template_id"] for m in h.fake.messages] == [
        TEMPLATE_IDS["received"],
        TEMPLATE_IDS["fee_due"],
        TEMPLATE_IDS["payment_confirmed"],
    ]
    rows = await notices(h.session_factory)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 3


async def test_outage_raises_retryable_then_the_next_attempt_sends_once(h: Harness) -> None:
    await add_notice(h.session_factory, NoticeKind.RECEIVED)
    h.fake.add_fault(FaultSpec(target="zns", http_status=503, seconds=300))

    with pytest.raises(ApplicationError) as raised:
        await send(h)

    assert raised.value.non_retryable is False
    assert raised.value.next_retry_delay is None  # Temporal's retry policy backs off
    assert "HTTP 503" in str(raised.value)
    [row] = await notices(h.session_factory)
    assert (row.status, row.attempts, row.sending_since) == ("failed-retrying", 1, None)
    assert row.last_error is not None
    assert "HTTP 503" in row.last_error
    assert h.fake.messages == []

    h.clock.advance(minutes=2)
    with pytest.raises(ApplicationError):
        await send(h)  # still down
    h.clock.advance(minutes=4)  # the 5-minute outage is over
    [outcome] = await send(h)

    assert outcome.status == "sent"
    [row] = await notices(h.session_factory)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert len(h.fake.messages) == 1


@pytest.mark.parametrize("code", [-108, -118, -119, -114, -131, -1121])
async def test_permanent_failure_is_recorded_once_and_not_raised(h: Harness, code: int) -> None:
    await add_notice(h.session_factory, NoticeKind.RESULT_READY)
    h.fake.add_fault(FaultSpec(target="zns", error=code))

    [outcome] = await send(h, NoticeKind.RESULT_READY)

    assert outcome.status == "failed-permanent"
    assert outcome.error is not None
    assert str(code) in outcome.error
    [row] = await notices(h.session_factory)
    assert (row.status, row.attempts) == ("failed-permanent", 1)
    # A second call (a replay) neither sends nor counts another attempt.
    assert await send(h, NoticeKind.RESULT_READY) == [outcome]
    [row] = await notices(h.session_factory)
    assert row.attempts == 1
    assert h.fake.messages == []


@pytest.mark.parametrize(
    ("code", "now", "resume"),
    [
        # Zalo's night refusal: retry at 06:00 Vietnam time.
        (-133, datetime(2026, 11, 23, 21, 40, tzinfo=ICT), datetime(2026, 11, 24, 6, 0, tzinfo=ICT)),
        (-234, datetime(2026, 11, 23, 21, 59, tzinfo=ICT), datetime(2026, 11, 24, 6, 0, tzinfo=ICT)),
        # Daily quotas: retry the next day at 06:00.
        (-144, datetime(2026, 11, 23, 10, 0, tzinfo=ICT), datetime(2026, 11, 24, 6, 0, tzinfo=ICT)),
        (-147, datetime(2026, 11, 23, 16, 30, tzinfo=ICT), datetime(2026, 11, 24, 6, 0, tzinfo=ICT)),
    ],
)
async def test_night_and_quota_errors_ask_temporal_to_retry_at_six(
    h: Harness, code: int, now: datetime, resume: datetime
) -> None:
    h.clock.now = now
    await add_notice(h.session_factory, NoticeKind.RECEIVED)
    h.fake.add_fault(FaultSpec(target="zns", error=code))

    with pytest.raises(ApplicationError) as raised:
        await send(h)

    assert raised.value.non_retryable is False
    assert raised.value.next_retry_delay == resume - now
    [row] = await notices(h.session_factory)
    assert row.status == "failed-retrying"
    assert row.last_error is not None
    assert str(code) in row.last_error

    h.clock.now = resume
    [outcome] = await send(h)
    assert outcome.status == "sent"
    assert len(h.fake.messages) == 1


async def test_quiet_hours_guard_waits_for_six_without_calling_zalo(h: Harness) -> None:
    h.clock.now = datetime(2026, 11, 23, 23, 15, tzinfo=ICT)
    await add_notice(h.session_factory, NoticeKind.REJECTED)

    with pytest.raises(ApplicationError) as raised:
        await send(h, NoticeKind.REJECTED)

    six = datetime(2026, 11, 24, 6, 0, tzinfo=ICT)
    assert raised.value.type == "NoticeQuietHours"
    assert raised.value.next_retry_delay == six - h.clock.now
    [row] = await notices(h.session_factory)
    assert (row.status, row.scheduled_for, row.attempts) == ("scheduled", six, 0)
    assert h.fake.calls == []

    h.clock.now = six
    [outcome] = await send(h, NoticeKind.REJECTED)
    assert outcome.status == "sent"


async def test_a_live_claim_by_another_attempt_is_waited_out(h: Harness) -> None:
    await add_notice(h.session_factory, NoticeKind.RECEIVED)
    # Another attempt claimed the row 10 s ago and may be talking to Zalo right now.
    lease = timedelta(seconds=h.settings.zalo_send_lease_seconds)
    async with h.session_factory() as session:
        [row] = await notices(h.session_factory)
        row.sending_since = h.clock.now - timedelta(seconds=10)
        row.attempts = 1
        session.add(row)
        await session.commit()

    with pytest.raises(ApplicationError) as raised:
        await send(h)

    assert raised.value.type == "NoticeInFlight"
    assert raised.value.next_retry_delay == lease - timedelta(seconds=10)
    assert h.fake.messages == []

    # That attempt died without recording anything; after the lease the row is sent (the documented window).
    h.clock.advance(seconds=lease.total_seconds() - 9)
    [outcome] = await send(h)
    assert outcome.status == "sent"
    [row] = await notices(h.session_factory)
    assert row.attempts == 2


async def test_oa_refusal_of_a_non_follower_falls_back_to_zns(session_factory: SessionFactory) -> None:
    async with zalo_harness(session_factory, now=MONDAY_10, followers=set()) as h:
        await add_dossier(session_factory)
        user_id = await link_follower(session_factory)
        await add_notice(session_factory, NoticeKind.RECEIVED)

        [outcome] = await send(h)

        assert outcome.status == "sent"
        assert outcome.channel == "zns"
        assert [(c["path"], c["error"]) for c in h.fake.calls if c["path"] != "token"] == [
            ("oa", -213),
            ("zns", 0),
        ]
        async with session_factory() as session:
            user = await session.get(ZaloUser, user_id)
        assert user is not None
        assert user.following is False


async def test_rows_that_cannot_be_sent_fail_permanently(h: Harness) -> None:
    await add_notice(h.session_factory, NoticeKind.DUE_SOON, seq=7, recipient=None)
    broken = context_for(NoticeKind.APOLOGY)
    del broken["new_due_at"]
    await add_notice(h.session_factory, NoticeKind.APOLOGY, seq=8, context=broken)

    [no_recipient] = await send(h, NoticeKind.DUE_SOON, seq=7)
    [bad_context] = await send(h, NoticeKind.APOLOGY, seq=8)

    assert no_recipient.status == "failed-permanent"
    assert no_recipient.error is not None
    assert no_recipient.error.startswith("no_officer_id: ")
    assert bad_context.status == "failed-permanent"
    assert bad_context.error is not None
    assert bad_context.error.startswith("uncomposable: ")
    assert "new_due_at" in bad_context.error
    assert h.fake.calls == []


async def test_without_a_zns_template_in_live_mode_the_notice_fails_permanently(
    session_factory: SessionFactory,
) -> None:
    settings = make_settings(
        zalo_mode="live",
        zalo_oa_url=FAKE_URL,
        zalo_zns_url=FAKE_URL,
        zalo_oauth_url=FAKE_URL,
        zalo_app_id="fake-app",
        zalo_app_secret="fake-app-secret",
        zalo_oa_secret="fake-oa-secret",
        zalo_refresh_token="fake-refresh-token",
        zns_template_ids={"received": TEMPLATE_IDS["received"]},
    )
    async with zalo_harness(session_factory, now=MONDAY_10, settings=settings) as h:
        await add_dossier(session_factory)
        await add_notice(session_factory, NoticeKind.RECEIVED, seq=1)
        await add_notice(session_factory, NoticeKind.WITHDRAWN, seq=2)

        [received] = await send(h, NoticeKind.RECEIVED, seq=1)
        [withdrawn] = await send(h, NoticeKind.WITHDRAWN, seq=2)

    assert received.status == "sent"
    assert withdrawn.status == "failed-permanent"
    assert withdrawn.error is not None
    assert withdrawn.error == "no_zns_template: ZNS_TEMPLATE_IDS has no template for withdrawn"


async def test_mark_failed_closes_what_is_left(h: Harness) -> None:
    await add_notice(h.session_factory, NoticeKind.FEE_REMINDER, seq=4)
    h.fake.add_fault(FaultSpec(target="zns", error=-100, count=10))
    with pytest.raises(ApplicationError):
        await send(h, NoticeKind.FEE_REMINDER, seq=4)

    await ActivityEnvironment().run(
        h.activities.mark_failed, batch(NoticeKind.FEE_REMINDER, 4), "gave up after 10 attempts"
    )

    [row] = await notices(h.session_factory)
    given_up = "gave_up: gave up after 10 attempts"
    assert (row.status, row.last_error) == ("failed-permanent", given_up)
    assert await send(h, NoticeKind.FEE_REMINDER, seq=4) == [
        NoticeOutcome(key=row.key, status="failed-permanent", channel="zns", error=given_up)
    ]


async def test_a_delivery_receipt_that_beats_the_sent_record_is_kept(h: Harness) -> None:
    """Zalo's receipt webhook can land between Zalo's answer and our commit: `delivered` must stay."""
    await add_notice(h.session_factory, NoticeKind.RECEIVED)
    real_send_zns = h.zalo.send_zns

    async def send_zns_then_receipt(
        phone: str, template_id: str, template_data: Mapping[str, str], tracking_id: str
    ) -> ZnsSent:
        sent = await real_send_zns(phone, template_id, template_data, tracking_id)
        [row] = await notices(h.session_factory)
        async with h.session_factory() as session:
            row.status = "delivered"
            session.add(row)
            await session.commit()
        return sent

    h.zalo.send_zns = send_zns_then_receipt  # type: ignore[method-assign]
    [outcome] = await send(h)

    assert outcome.status == "delivered"
    [row] = await notices(h.session_factory)
    assert row.zalo_message_id == h.fake.messages[0]["message_id"]


async def test_no_answer_after_sending_waits_for_a_receipt_instead_of_resending(h: Harness) -> None:
    """A read timeout after Zalo took the request: the claim stays for the lease, the receipt settles it."""
    await add_notice(h.session_factory, NoticeKind.RECEIVED)
    real_send_zns = h.zalo.send_zns

    async def send_zns_then_time_out(
        phone: str, template_id: str, template_data: Mapping[str, str], tracking_id: str
    ) -> ZnsSent:
        await real_send_zns(phone, template_id, template_data, tracking_id)
        raise ZaloError(None, "timeout: ReadTimeout", ErrorClass.TRANSIENT, maybe_delivered=True)

    h.zalo.send_zns = send_zns_then_time_out  # type: ignore[method-assign]
    with pytest.raises(ApplicationError) as raised:
        await send(h)
    h.zalo.send_zns = real_send_zns  # type: ignore[method-assign]

    assert raised.value.type == "ZaloTransient"
    assert raised.value.next_retry_delay == timedelta(seconds=h.settings.zalo_send_lease_seconds)
    [row] = await notices(h.session_factory)
    assert (row.status, row.sending_since, row.attempts) == ("failed-retrying", h.clock.now, 1)

    h.clock.advance(seconds=10)  # an early retry does not send again
    with pytest.raises(ApplicationError, match="another attempt"):
        await send(h)
    async with h.session_factory() as session:  # the ZNS receipt arrives (see test_zalo_webhook)
        row.status = "delivered"
        session.add(row)
        await session.commit()
    h.clock.advance(seconds=200)
    [outcome] = await send(h)

    assert outcome.status == "delivered"
    assert len(h.fake.messages) == 1


async def test_no_rows_means_nothing_to_do(h: Harness) -> None:
    assert await send(h, NoticeKind.APOLOGY, seq=99) == []
    assert h.fake.calls == []


async def test_the_zalo_client_for_notices_is_built_in_one_line(session_factory: SessionFactory) -> None:
    zalo = zalo_client(session_factory, make_settings())
    acts = NoticeActivities(session_factory, zalo, make_settings())
    try:
        assert isinstance(acts, NoticeActivities)
        assert acts.zalo is zalo
        assert acts.activity_functions() == [acts.send, acts.mark_failed]
        assert zalo.config.oa_url == zalo.config.zns_url == zalo.config.oauth_url == FAKE_URL
    finally:
        await zalo.aclose()
    async with session_factory() as session:
        assert (await session.exec(select(ZaloUser))).all() == []
