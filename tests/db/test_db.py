"""The schema: migrations build exactly what the models describe, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

from db.engine import SessionFactory, sync_url
from db.migrate import downgrade, upgrade
from db.models import Dossier

ICT = timezone(timedelta(hours=7))


async def test_migrations_build_the_models_schema(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == []


async def test_datetimes_come_back_aware_and_equal(session_factory: SessionFactory) -> None:
    received = datetime(2026, 11, 23, 9, 15, tzinfo=ICT)
    async with session_factory() as session:
        session.add(
            Dossier(
                code="H21.65-261123-0001",
                agency_code="H21.65",
                procedure_code="1.001234",
                procedure_name="Cấp giấy phép xây dựng",
                working_days=15,
                channel="online",
                applicant_name="Nguyễn Văn A",
                applicant_phone="84905123456",
                received_at=received,
                fingerprint="0" * 64,
            )
        )
        await session.commit()
    async with session_factory() as session:
        row = await session.get(Dossier, "H21.65-261123-0001")
        assert row is not None
        assert row.received_at == received
        assert row.received_at.tzinfo is not None
        assert row.received_at.utcoffset() == timedelta(0)
        assert row.received_at == datetime(2026, 11, 23, 2, 15, tzinfo=UTC)


async def test_migration_0004_goes_down_and_up_again(database_url: str) -> None:
    """0004 is reversible: down to 0003 (payments of unknown dossiers go), up again, schema as the models."""
    await asyncio.to_thread(upgrade, database_url)
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO payments"
                " (transaction_id, dossier_code, amount_vnd, outcome, source, at, created_at)"
                " VALUES ('PAY-1', NULL, 5000000000, 'unknown_dossier', 'webhook', :now, :now)"
            ),
            {"now": datetime(2026, 11, 23, 2, 0)},
        )
    await asyncio.to_thread(downgrade, database_url, "0003")
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        assert "idempotency_keys" not in tables
        assert conn.execute(text("SELECT count(*) FROM payments")).scalar() == 0
    await asyncio.to_thread(upgrade, database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    engine.dispose()


async def test_migration_0006_goes_down_and_up_again(database_url: str) -> None:
    """0006 is reversible (the old dossier links come back empty), and up again builds the models' schema."""
    await asyncio.to_thread(upgrade, database_url)
    await asyncio.to_thread(downgrade, database_url, "0005")
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("zalo_links")}
        assert "dossier_code" in columns
        assert "rate_counters" not in inspect(conn).get_table_names()
    await asyncio.to_thread(upgrade, database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    engine.dispose()


async def test_migration_0011_goes_down_and_up_again(database_url: str) -> None:
    """0011 (queue numbers) is reversible: down to 0010 its two tables go, up again, schema as the models."""
    await asyncio.to_thread(upgrade, database_url)
    await asyncio.to_thread(downgrade, database_url, "0010")
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        assert "queue_days" not in tables
        assert "queue_tickets" not in tables
    await asyncio.to_thread(upgrade, database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    engine.dispose()
