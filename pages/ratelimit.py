"""In-process sliding-window counters for the lookup and login pages.

Counted in this process's memory only: a restart forgets them, and each API replica counts for itself
(enough to make guessing 4 digits slow; a shared store such as Redis would be the next step). Keys are
bounded so a flood of addresses cannot grow memory without limit.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_KEYS = 100_000


@dataclass
class SlidingWindow:
    """Events per key within the last `window` seconds."""

    window: float
    clock: Callable[[], float] = time.monotonic
    _events: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        horizon = self.clock() - self.window
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def count(self, key: str) -> int:
        events = self._recent(key)
        return len(events) if events else 0

    def add(self, key: str) -> None:
        events = self._recent(key)
        if events is None:
            if len(self._events) >= MAX_KEYS:
                # Forget the keys seen longest ago (dicts keep insertion order).
                for stale in list(self._events)[: MAX_KEYS // 10]:
                    del self._events[stale]
            events = self._events[key] = deque()
        events.append(self.clock())

    def retry_after(self, key: str) -> int:
        """Seconds until the oldest counted event leaves the window."""
        events = self._recent(key)
        if not events:
            return 0
        return max(1, math.ceil(events[0] + self.window - self.clock()))


@dataclass(frozen=True)
class Limit:
    """At most `maximum` events per key."""

    counter: SlidingWindow
    maximum: int

    def exceeded(self, key: str) -> int | None:
        """None while under the limit, else the seconds to wait."""
        if self.counter.count(key) < self.maximum:
            return None
        return self.counter.retry_after(key)


class LookupLimiter:
    """Citizen lookups: all lookups and, stricter, wrong answers per address; wrong answers per code.

    Wrong answers count more because they are what guessing produces; a citizen who finds the dossier
    uses one lookup. The per-code limit stops guessing spread over many addresses (a locked code
    still gets its Zalo notices, and the page tells the citizen to ask the office).
    """

    def __init__(
        self,
        window: float,
        per_address: int,
        failures_per_address: int,
        failures_per_code: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookups = Limit(SlidingWindow(window, clock), per_address)
        self._address_failures = Limit(SlidingWindow(window, clock), failures_per_address)
        self._code_failures = Limit(SlidingWindow(window, clock), failures_per_code)

    def blocked(self, address: str, code: str) -> int | None:
        """Seconds to wait before this address may look this code up; None when it may now."""
        waits = [
            self._lookups.exceeded(address),
            self._address_failures.exceeded(address),
            self._code_failures.exceeded(code),
        ]
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def record(self, address: str, code: str, *, found: bool) -> None:
        self._lookups.counter.add(address)
        if not found:
            self._address_failures.counter.add(address)
            self._code_failures.counter.add(code)


class LoginLimiter:
    """Failed officer logins per address and per user name."""

    def __init__(self, window: float, failures: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._by_address = Limit(SlidingWindow(window, clock), failures)
        self._by_username = Limit(SlidingWindow(window, clock), failures)

    def blocked(self, address: str, username: str) -> int | None:
        waits = [self._by_address.exceeded(address), self._by_username.exceeded(username)]
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def failed(self, address: str, username: str) -> None:
        self._by_address.counter.add(address)
        self._by_username.counter.add(username)
