"""The rate-limit counters on their own: free attempts, doubling waits up to a ceiling, a fresh start
after the window, and a success that takes back only its own attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.engine import SessionFactory
from db.ratelimit import attempt, forgive
from domain.limits import Backoff, Counted

POLICY = Backoff(
    free=2, first_wait=timedelta(seconds=10), ceiling=timedelta(seconds=35), window=timedelta(hours=1)
)
T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def test_waits_double_up_to_the_ceiling() -> None:
    assert [POLICY.wait_after(n).total_seconds() for n in range(1, 7)] == [0, 10, 20, 35, 35, 35]


async def test_attempts_wait_and_start_afresh_after_the_window(session_factory: SessionFactory) -> None:
    async def at(seconds: float) -> int | None:
        verdict = await attempt(session_factory, Counted.LOOKUP, "k", POLICY, T0 + timedelta(seconds=seconds))
        return None if verdict.allowed else verdict.retry_after

    assert [await at(0), await at(0)] == [None, None]  # the free attempts
    assert await at(3) == 7  # the second set a 10 s wait; a refused attempt is not counted
    assert await at(10) is None  # the third, once waited for: the next waits 20 s
    assert await at(29) == 1
    assert await at(3600 + 30) is None  # left alone for the window: a fresh start
    assert await at(3600 + 30) is None


async def test_a_success_takes_back_its_own_attempt_only(session_factory: SessionFactory) -> None:
    for _ in range(2):
        assert (await attempt(session_factory, Counted.LOGIN_FAIL_USER, "lan", POLICY, T0)).allowed
    await forgive(session_factory, Counted.LOGIN_FAIL_USER, "lan", POLICY, T0)
    assert (await attempt(session_factory, Counted.LOGIN_FAIL_USER, "lan", POLICY, T0)).allowed
    refused = await attempt(session_factory, Counted.LOGIN_FAIL_USER, "lan", POLICY, T0)
    assert (refused.allowed, refused.retry_after) == (False, 10)
    # Other kinds and other keys count apart.
    assert (await attempt(session_factory, Counted.LOOKUP, "lan", POLICY, T0)).allowed
    assert (await attempt(session_factory, Counted.LOGIN_FAIL_USER, "thanh", POLICY, T0)).allowed
