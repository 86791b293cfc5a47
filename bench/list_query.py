"""How fast `GET /api/v1/dossiers` answers on a realistic 100k-dossier database, through the real route.

    python -m bench.list_query                                   # SQLite file under .data/bench/
    python -m bench.list_query --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m bench.list_query --explain                         # also print each query's plan

The database is built by the Alembic migrations (so the indexes measured are the shipped ones), filled
with `--rows` dossiers spread over 20 agencies, every state, due dates two months either side of today
(one in ten without a running clock), then each query is timed `--repeat` times through httpx's ASGI
transport against `create_app` (no network; the list needs no Temporal). PostgreSQL gets its own schema,
dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.listing import Cursor, ListFilters
from db.clients import create_client
from db.engine import async_url, make_engine, make_session_factory
from db.migrate import upgrade
from db.models import Dossier
from server import create_app
from settings import DATA_DIR, Settings

AGENCIES = [f"H21.{n}" for n in range(60, 80)]
STATES = [  # (status, share)
    ("received", 0.50),
    ("supplement_required", 0.08),
    ("fee_due", 0.05),
    ("result_ready", 0.05),
    ("returned", 0.27),
    ("rejected", 0.03),
    ("withdrawn", 0.02),
]
DVCQG = {
    "received": 4,
    "supplement_required": 5,
    "fee_due": 6,
    "result_ready": 9,
    "returned": 10,
    "rejected": 3,
    "withdrawn": 7,
}
PG_SCHEMA = "bench_list_query"


def dossier_rows(count: int, now: datetime, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    statuses, weights = zip(*STATES, strict=True)
    rows = []
    for n in range(count):
        agency = AGENCIES[n % len(AGENCIES)]
        received = now - timedelta(days=rng.uniform(1, 120))
        code = f"{agency}-{received:%y%m%d}-{n:06d}"
        status = rng.choices(statuses, weights)[0]
        due = None if status == "supplement_required" else now + timedelta(days=rng.uniform(-60, 60))
        rows.append(
            {
                "code": code,
                "agency_code": agency,
                "procedure_code": f"1.00{rng.randint(1000, 1999)}",
                "procedure_name": "Cấp giấy phép xây dựng",
                "working_days": 15,
                "channel": rng.choice(["counter", "online", "post"]),
                "applicant_name": "Nguyễn Văn A",
                "applicant_phone": "84905123456",
                "applicant_zalo_user_id": None,
                "received_at": received,
                "fingerprint": "0" * 64,
                "status": status,
                "dvcqg_status": DVCQG[status],
                "due_at": due,
                "overdue": status == "received" and due is not None and due < now,
                "apologized": False,
                "escalation_level": 0,
                "on_time": None,
                "finished_at": None,
                "detail": {},
                "last_seq": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def prepare(url: str, rows: int) -> tuple[str, AsyncEngine]:
    """A migrated, filled database; returns the URL to use and an engine on it."""
    parsed = make_url(async_url(url))
    if parsed.get_backend_name() == "postgresql":
        admin = make_engine(url)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
            await conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
        await admin.dispose()
        url = parsed.update_query_dict({"options": f"-csearch_path={PG_SCHEMA}"}).render_as_string(
            hide_password=False
        )
    else:
        assert parsed.database
        path = Path(parsed.database)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(path.unlink, missing_ok=True)
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    data = dossier_rows(rows, now)
    async with engine.begin() as conn:
        for start in range(0, len(data), 5000):
            await conn.execute(insert(Dossier), data[start : start + 5000])
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE dossiers"))
        else:
            await conn.execute(text("ANALYZE"))
    print(f"filled {rows} dossiers in {time.perf_counter() - started:.1f}s")
    return url, engine


def timed_cases(deep: Cursor, deep_undated: Cursor, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    soon = (now + timedelta(days=3)).isoformat()
    return [
        ("first page (50)", {}),
        ("first page (200)", {"limit": 200}),
        ("status=received&agency=H21.65", {"status": "received", "agency": "H21.65"}),
        ("overdue=true", {"overdue": "true"}),
        ("status=fee_due&due_before=+3d", {"status": "fee_due", "due_before": soon}),
        ("q=-0123 (part of a code)", {"q": "-0123"}),
        ("q=-012345 (one match: whole scan)", {"q": "-012345"}),
        ("deep cursor (row 90,000)", {"cursor": deep.encode(ListFilters())}),
        ("deep cursor, undated part", {"cursor": deep_undated.encode(ListFilters())}),
    ]


async def run(args: argparse.Namespace) -> None:
    url, engine = await prepare(args.database_url, args.rows)
    sessions = make_session_factory(engine)
    try:
        async with sessions() as session:
            admin_key = await create_client(session, "bench-admin", ["*"])
            await create_client(session, "bench-h2165", ["H21.65"])
            ordered = await session.exec(
                text(  # type: ignore[call-overload]
                    "SELECT due_at, code FROM dossiers WHERE due_at IS NOT NULL ORDER BY due_at, code "
                    "LIMIT 1 OFFSET :offset"
                ).bindparams(offset=int(args.rows * 0.9) - 1)
            )
            due_raw, code = ordered.one()
            undated = (
                await session.exec(
                    text("SELECT code FROM dossiers WHERE due_at IS NULL ORDER BY code LIMIT 1 OFFSET 1000")  # type: ignore[call-overload]
                )
            ).one()[0]
        due = due_raw if isinstance(due_raw, datetime) else datetime.fromisoformat(due_raw)
        deep = Cursor(due.replace(tzinfo=due.tzinfo or UTC), code)
        deep_undated = Cursor(None, undated)
        now = datetime.now(UTC)
        settings = Settings(_env_file=None, app_env="local", database_url=url)  # type: ignore[call-arg]
        app = create_app(settings, session_factory=sessions)
        transport = httpx.ASGITransport(app=app)
        print(f"{'query':<34} {'median ms':>10} {'p95 ms':>8} {'rows':>5}")
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {admin_key}"}
        ) as http:
            for name, params in timed_cases(deep, deep_undated, now):
                timings = []
                count = 0
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    response = await http.get("/api/v1/dossiers", params=params)
                    timings.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    count = len(response.json()["items"])
                timings.sort()
                p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
                print(f"{name:<34} {statistics.median(timings):>10.1f} {p95:>8.1f} {count:>5}")
                if args.explain:
                    await explain(engine, http, params)
    finally:
        await engine.dispose()
        if make_url(url).get_backend_name() == "postgresql":
            admin = make_engine(args.database_url)
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
            await admin.dispose()


async def explain(engine: AsyncEngine, http: httpx.AsyncClient, params: dict[str, Any]) -> None:
    """The plan of each statement the route runs for `params`, captured as the driver got it."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM dossiers" in statement:
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        (await http.get("/api/v1/dossiers", params=params)).raise_for_status()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    for statement, parameters in captured:
        async with engine.connect() as conn:
            plan = await conn.exec_driver_sql(prefix + statement, parameters)
            lines = [" | ".join(str(part) for part in row) for row in plan.all()]
        print("      " + "\n      ".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.list_query", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=f"sqlite+aiosqlite:///{DATA_DIR / 'bench' / 'list_query.db'}"
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="print each query's plan")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
