"""The rate limits as the routes use them: who the client is, and attempts counted in the database.

The client's address is the connecting one, or, from a reverse proxy listed in TRUSTED_PROXIES, the
address that proxy says it serves (X-Forwarded-For, read by uvicorn's ProxyHeadersMiddleware, which
`server.create_app` installs for exactly those addresses). A client can therefore not choose its own
address, and citizens behind the proxy are not one client. The counters are db/ratelimit.py's.
"""

from __future__ import annotations

from fastapi import Request

from db import ratelimit
from db.engine import SessionFactory
from domain.limits import Counted
from settings import Settings
from web.deps import now


def client_address(request: Request) -> str:
    """The client's address (behind a trusted proxy: the address the proxy served)."""
    return request.client.host if request.client else "unknown"


class Limiter:
    """Counts attempts for the routes of one request (the app's settings, database and clock)."""

    def __init__(self, request: Request) -> None:
        self.settings: Settings = request.app.state.settings
        self.sessions: SessionFactory = request.app.state.session_factory
        self.now = now(request)

    async def take(self, *attempts: tuple[Counted, str]) -> int | None:
        """Count each attempt in turn; as soon as one must wait, the seconds to wait (the later ones are
        not counted); None when all went through."""
        for counted, key in attempts:
            verdict = await ratelimit.attempt(
                self.sessions, counted, key, self.settings.backoff(counted), self.now
            )
            if not verdict.allowed:
                return verdict.retry_after
        return None

    async def forgive(self, *attempts: tuple[Counted, str]) -> None:
        """These attempts succeeded: they do not count (only failures slow a key down)."""
        for counted, key in attempts:
            await ratelimit.forgive(self.sessions, counted, key, self.settings.backoff(counted), self.now)
