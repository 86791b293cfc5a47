"""The Zalo OA's access token kept in the database (`zalo/`'s TokenSource), and the one way to build a
Zalo client that uses it.

Both tokens are sealed at rest with the payload keys (db/sealed.py): a copy of the database (a backup, a
replica) does not hand over the OA, which could message every follower as the province.

The refresh token is single use: two workers refreshing with the same one would leave one of them (and
then everyone) with a dead pair. So a refresh takes a database lock on the `zalo_tokens` row (PostgreSQL:
`SELECT … FOR UPDATE`; SQLite: `BEGIN IMMEDIATE`, the database-wide write lock), looks again whether someone
else refreshed while it waited, and stores (commits) the new pair before anyone uses the new access token.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import structlog
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import SessionFactory
from db.models import ZaloToken
from db.sealed import Sealer
from db.types import utcnow
from db.upsert import insert_ignoring_conflict
from settings import Settings
from zalo.client import ZaloClient, exchange_refresh_token
from zalo.config import ZaloConfig, zalo_config
from zalo.errors import ErrorClass, ZaloError

log = structlog.get_logger(__name__)


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ZaloTokenStore:
    """`access_token()` for every call; `refresh(stale)` when Zalo rejected `stale`."""

    def __init__(
        self,
        session_factory: SessionFactory,
        config: ZaloConfig,
        http: httpx.AsyncClient,
        *,
        refresh_margin: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = utcnow,
        sealer: Sealer | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.config = config
        self.http = http
        self.refresh_margin = refresh_margin
        self.clock = clock
        self.sealer = sealer or Sealer({}, None)
        self._access_purpose = f"zalo-access-token:{config.app_id}"
        self._refresh_purpose = f"zalo-refresh-token:{config.app_id}"
        # Coroutines of one process queue here instead of on the database lock.
        self._local_lock = asyncio.Lock()
        # The token this process last read or stored, and when it expires: every send needs the token, and
        # reading it each time was a database transaction per notice. A token another worker replaced comes
        # back from Zalo as rejected, and `refresh(stale)` then finds the new one in the row.
        self._known: tuple[str, datetime] | None = None

    def _access(self, row: ZaloToken) -> str | None:
        return self.sealer.open(row.access_token, self._access_purpose) if row.access_token else None

    def _refresh(self, row: ZaloToken) -> str:
        return self.sealer.open(row.refresh_token, self._refresh_purpose) if row.refresh_token else ""

    def _is_fresh(self, row: ZaloToken | None) -> bool:
        return bool(
            row is not None
            and row.access_token
            and row.access_expires_at is not None
            and row.access_expires_at - self.refresh_margin > self.clock()
        )

    async def access_token(self) -> str:
        """A token with at least `refresh_margin` to live; refreshes first when there is none."""
        known = self._known
        if known is not None and known[1] - self.refresh_margin > self.clock():
            return known[0]
        async with self.session_factory() as session:
            row = await session.get(ZaloToken, self.config.app_id)
        token = self._access(row) if row is not None else None
        if row is not None and self._is_fresh(row) and token:
            self._keep(token, row)
            return token
        return await self.refresh(stale=token)

    def _keep(self, token: str, row: ZaloToken) -> None:
        if row.access_expires_at is not None:
            self._known = (token, row.access_expires_at)

    async def refresh(self, stale: str | None) -> str:
        """Replace `stale` with a new token, unless another holder already did while we waited."""
        async with self._local_lock, self._locked_row() as (session, row):
            current = self._access(row)
            if current and current != stale and self._is_fresh(row):
                self._keep(current, row)
                return current
            self._known = None
            grant_from = "stored"
            try:
                grant = await exchange_refresh_token(self.http, self.config, self._refresh(row))
            except ZaloError as exc:
                seed = self.config.refresh_token
                # An operator may have put a new refresh token in settings after the stored one died.
                if exc.code is None or not seed or _fingerprint(seed) == row.seed_fingerprint:
                    raise
                grant = await exchange_refresh_token(self.http, self.config, seed)
                row.seed_fingerprint = _fingerprint(seed)
                grant_from = "settings"
            now = self.clock()
            row.access_token = self.sealer.seal(grant.access_token, self._access_purpose)
            row.refresh_token = self.sealer.seal(grant.refresh_token, self._refresh_purpose)
            row.access_expires_at = now + timedelta(seconds=grant.expires_in)
            row.refresh_count += 1
            row.refreshed_at = now
            row.updated_at = now
            session.add(row)
            # Committed before anyone uses it: if we died after Zalo rotated the pair, nothing would work.
            await session.commit()
            self._keep(grant.access_token, row)
            log.info(
                "zalo.token_refreshed",
                refresh_count=row.refresh_count,
                expires_at=row.access_expires_at.isoformat(),
                grant_from=grant_from,
            )
            return grant.access_token

    @asynccontextmanager
    async def _locked_row(self) -> AsyncIterator[tuple[AsyncSession, ZaloToken]]:
        """The token row, created from settings on first use, locked against other refreshers."""
        seed = self.config.refresh_token
        async with self.session_factory() as session:
            dialect = session.get_bind().dialect.name
            if dialect == "sqlite":
                # The database-wide write lock, explicitly and first (a deferred one waits for a write).
                connection = await session.connection()
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            await insert_ignoring_conflict(
                session,
                ZaloToken,
                ["app_id"],
                app_id=self.config.app_id,
                refresh_token=self.sealer.seal(seed, self._refresh_purpose) if seed else seed,
                seed_fingerprint=_fingerprint(seed),
                refresh_count=0,
                updated_at=self.clock(),
            )
            result = await session.exec(
                select(ZaloToken)
                .where(ZaloToken.app_id == self.config.app_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            row = result.one()
            if not self._refresh(row):
                await session.rollback()
                raise ZaloError(
                    None, "no Zalo refresh token configured (ZALO_REFRESH_TOKEN)", ErrorClass.TRANSIENT
                )
            try:
                yield session, row
            finally:
                if session.in_transaction():
                    await session.rollback()


def zalo_client(
    session_factory: SessionFactory, settings: Settings, http: httpx.AsyncClient | None = None
) -> ZaloClient:
    """A client for the mode in effect (fake or live) with its tokens kept in the database; it closes
    its own httpx client unless given one."""
    config = zalo_config(settings)
    owns_http = http is None
    http = http if http is not None else httpx.AsyncClient(timeout=config.timeout_seconds)
    tokens = ZaloTokenStore(
        session_factory,
        config,
        http,
        refresh_margin=timedelta(seconds=settings.zalo_token_refresh_margin_seconds),
        sealer=Sealer.from_settings(settings),
    )
    return ZaloClient(config, http, tokens, owns_http=owns_http)
