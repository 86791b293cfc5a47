"""The one-time codes that link a Zalo account: the table keeps only codes still answerable. A new code
voids the user's earlier ones (used or not) and purges everyone's expired ones, so used and stale code
hashes (and the phones they were sent to) do not pile up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from db.engine import SessionFactory
from db.models import ZaloLinkCode
from db.zalo_links import new_code, pending_code, use_code

T0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
LIFETIME = timedelta(minutes=10)


async def test_a_new_code_leaves_only_answerable_codes(session_factory: SessionFactory) -> None:
    async def ask(user: str, at: datetime) -> int:
        async with session_factory() as session:
            code = await new_code(
                session,
                user_id=user,
                phone="84905123456",
                code_hash=f"hash-{user}-{at.timestamp()}",
                dossier_code=None,
                now=at,
                lifetime=LIFETIME,
            )
            assert code.id is not None
            return code.id

    async def table() -> list[tuple[str, datetime]]:
        async with session_factory() as session:
            rows = (await session.exec(select(ZaloLinkCode).order_by(ZaloLinkCode.user_id))).all()
            return [(row.user_id, row.created_at) for row in rows]

    used = await ask("u-used", T0)
    async with session_factory() as session:
        assert await use_code(session, used, T0 + timedelta(minutes=1))
        await session.commit()
    await ask("u-stale", T0)
    await ask("u-live", T0 + timedelta(minutes=5))
    assert [user for user, _ in await table()] == ["u-live", "u-stale", "u-used"]

    later = T0 + timedelta(minutes=12)  # u-stale's code expired at +10; u-live's runs to +15
    await ask("u-used", later)
    assert await table() == [("u-live", T0 + timedelta(minutes=5)), ("u-used", later)]
    async with session_factory() as session:
        live = await pending_code(session, "u-live", later)
        assert live is not None
        assert live.code_hash.startswith("hash-u-live")
